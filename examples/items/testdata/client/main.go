// Command client drives the items API through the client that oapi-codegen
// generates from the app's OpenAPI document (client.gen.go, written beside
// this file by TestGeneratedClient). It prints one line of what it did, or
// exits with status 1 and the first thing that was not as expected.
//
//	go run . http://127.0.0.1:PORT
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server string) error {
	c, err := NewClientWithResponses(server)
	if err != nil {
		return err
	}
	apple, err := create(ctx, c, "apple", 10.5)
	if err != nil {
		return err
	}
	pear, err := create(ctx, c, "pear", 2)
	if err != nil {
		return err
	}

	above := 5.0
	list, err := c.ListItemsWithResponse(ctx, &ListItemsParams{PriceGt: &above})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if list.StatusCode() != http.StatusOK || list.JSON200 == nil || list.Headers200 == nil || list.Headers200.XTotalCount == nil {
		return fmt.Errorf("list: %d %s", list.StatusCode(), list.Body)
	}
	if page := *list.JSON200; len(page) != 1 || *page[0].Id != *apple.Id || *list.Headers200.XTotalCount != 1 {
		return fmt.Errorf("list price__gt=5: %s, X-Total-Count %d; want only %s", list.Body, *list.Headers200.XTotalCount, apple.Name)
	}

	price := 12.0
	patched, err := c.UpdateItemWithResponse(ctx, *apple.Id, nil, ItemPatch{Price: &price})
	if err != nil {
		return fmt.Errorf("patch: %w", err)
	}
	if p := patched.JSON200; p == nil || *p.Id != *apple.Id || p.Name != "apple" || *p.Price != 12 {
		return fmt.Errorf("patch price=12: %d %s", patched.StatusCode(), patched.Body)
	}

	deleted, err := c.DeleteItemWithResponse(ctx, *pear.Id, nil)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if d := deleted.JSON200; d == nil || *d.Id != *pear.Id || d.Name != "pear" {
		return fmt.Errorf("delete: %d %s", deleted.StatusCode(), deleted.Body)
	}
	gone, err := c.GetItemWithResponse(ctx, *pear.Id, nil)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if gone.JSON404 == nil || gone.JSON404.Detail == "" {
		return fmt.Errorf("read deleted item: %d %s", gone.StatusCode(), gone.Body)
	}

	fmt.Printf("created %d and %d; price__gt=5 listed %d of %d; patched %d to %s %g; deleted %d; reading it: %d\n",
		*apple.Id, *pear.Id, len(*list.JSON200), *list.Headers200.XTotalCount,
		*apple.Id, patched.JSON200.Name, *patched.JSON200.Price, *pear.Id, gone.StatusCode())
	return roundTwo(ctx, c, *apple.Id)
}

// roundTwo runs a batch, a batch that fails, writes with If-Match and a
// cursor walk, and prints one line of what it saw.
func roundTwo(ctx context.Context, c *ClientWithResponses, apple int) error {
	prices := []float64{3, 4, 5, 13}
	ops := make(ItemBatch, 4)
	for i, name := range []string{"cherry", "date", "fig"} {
		if err := ops[i].FromItemBatchCreate(ItemBatchCreate{Op: ItemBatchCreateOpCreate, Body: ItemCreate{Name: name, Price: &prices[i]}}); err != nil {
			return err
		}
	}
	if err := ops[3].FromItemBatchUpdate(ItemBatchUpdate{Op: ItemBatchUpdateOpUpdate, Id: apple, Body: ItemPatch{Price: &prices[3]}}); err != nil {
		return err
	}
	batch, err := c.BatchItemsWithResponse(ctx, ops)
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	if batch.JSON200 == nil || len(*batch.JSON200) != 4 {
		return fmt.Errorf("batch: %d %s", batch.StatusCode(), batch.Body)
	}
	var statuses []int
	for _, r := range *batch.JSON200 {
		statuses = append(statuses, r.Status)
	}

	failing := make(ItemBatch, 2)
	failing[0].FromItemBatchCreate(ItemBatchCreate{Op: ItemBatchCreateOpCreate, Body: ItemCreate{Name: "kiwi"}})
	failing[1].FromItemBatchDelete(ItemBatchDelete{Op: ItemBatchDeleteOpDelete, Id: 99})
	failed, err := c.BatchItemsWithResponse(ctx, failing)
	if err != nil {
		return fmt.Errorf("failing batch: %w", err)
	}
	if failed.JSON404 == nil {
		return fmt.Errorf("failing batch: %d %s", failed.StatusCode(), failed.Body)
	}

	read, err := c.GetItemWithResponse(ctx, apple, nil)
	if err != nil || read.Headers200 == nil || read.Headers200.ETag == nil {
		return fmt.Errorf("read: %v %v", err, read)
	}
	stale, price := `"stale"`, 14.0
	lost, err := c.UpdateItemWithResponse(ctx, apple, &UpdateItemParams{IfMatch: &stale}, ItemPatch{Price: &price})
	if err != nil || lost.JSON412 == nil {
		return fmt.Errorf("patch with a stale ETag: %v %v", err, lost)
	}
	won, err := c.UpdateItemWithResponse(ctx, apple, &UpdateItemParams{IfMatch: read.Headers200.ETag}, ItemPatch{Price: &price})
	if err != nil || won.JSON200 == nil || won.Headers200 == nil || *won.Headers200.ETag == *read.Headers200.ETag {
		return fmt.Errorf("patch with the ETag: %v %v", err, won)
	}

	limit, sort := 2, "name"
	params := &ListItemsParams{Limit: &limit, Sort: &sort}
	var names []string
	pages := 0
	for {
		page, err := c.ListItemsWithResponse(ctx, params)
		if err != nil || page.JSON200 == nil {
			return fmt.Errorf("page %d: %v %v", pages, err, page)
		}
		pages++
		for _, it := range *page.JSON200 {
			names = append(names, it.Name)
		}
		if page.Headers200.XNextCursor == nil {
			break
		}
		params.Cursor = page.Headers200.XNextCursor
	}

	fmt.Printf("batch answered %v; a failing batch: %d %s; If-Match stale: %d, current: %d; cursor walk: %v in %d pages\n",
		statuses, failed.StatusCode(), failed.JSON404.Detail, lost.StatusCode(), won.StatusCode(), names, pages)
	return nil
}

// create adds an item and checks that the answer is 201 with what was sent.
func create(ctx context.Context, c *ClientWithResponses, name string, price float64) (*Item, error) {
	res, err := c.CreateItemWithResponse(ctx, ItemCreate{Name: name, Price: &price})
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	it := res.JSON201
	if res.StatusCode() != http.StatusCreated || it == nil || it.Id == nil || it.Name != name || it.Price == nil || *it.Price != price {
		return nil, fmt.Errorf("create %s: %d %s", name, res.StatusCode(), res.Body)
	}
	return it, nil
}
