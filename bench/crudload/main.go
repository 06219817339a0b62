// Command crudload measures the CRUD API under concurrent clients on the
// embedded SQLite database: easy's defaults against the same API written
// by hand on chi and GORM, with GORM's default pool and with one write
// connection, all in one run on this machine.
//
//	go run ./bench/crudload -clients 64 -d 10s
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/bench/load"
	"github.com/fastapi-easy/easy-go/easy"
)

// Item is the model every server serves.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

const seedRows = 1000

func main() {
	clients := flag.Int("clients", 64, "concurrent clients")
	d := flag.Duration("d", 10e9, "duration of each phase")
	flag.Parse()

	dir, err := os.MkdirTemp("", "crudload")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	servers := []struct {
		name  string
		build func(path string) (http.Handler, func())
	}{
		{"chi+gorm, default pool", func(path string) (http.Handler, func()) {
			db := openGORM(path)
			return baseline(db), closeGORM(db)
		}},
		{"chi+gorm, one writer", func(path string) (http.Handler, func()) {
			db := openGORM(path)
			sqlDB, _ := db.DB()
			sqlDB.SetMaxOpenConns(1)
			return baseline(db), closeGORM(db)
		}},
		{"easy defaults", func(path string) (http.Handler, func()) {
			os.Setenv("DATABASE_URL", "sqlite:"+path)
			app := easy.New(easy.Logger(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))))
			app.Include(easy.CRUDRouter[Item]())
			return app, func() { app.Close(context.Background()) }
		}},
	}
	rounds := *d / (2 * time.Second)
	if rounds < 1 {
		rounds = 1
	}
	slice := *d / rounds
	fmt.Printf("crudload: %d clients, %s per phase in %d turns of %s, SQLite in %s\n", *clients, *d, rounds, slice, dir)

	// Every server runs at once on its own database; the phases take turns
	// between them in slices, so that each sees the same machine load.
	bases := make([]string, len(servers))
	for i, s := range servers {
		path := filepath.Join(dir, fmt.Sprintf("s%d.db", i))
		h, closeDB := s.build(path)
		defer closeDB()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		defer srv.Close()
		bases[i] = "http://" + ln.Addr().String()
		seed(bases[i])
	}

	// Reads run first, on the seeded tables, so that every server's list
	// scans the same rows.
	phases := []struct {
		name string
		want int
		mk   func(base string) load.Request
	}{
		{"GET /items/{id}", http.StatusOK, func(base string) load.Request {
			return func(w, i int) (*http.Request, error) {
				return http.NewRequest("GET", fmt.Sprintf("%s/items/%d", base, 1+rand.IntN(seedRows)), nil)
			}
		}},
		{"GET /items?price__gte=10&sort=-price&limit=50", http.StatusOK, func(base string) load.Request {
			return func(w, i int) (*http.Request, error) {
				return http.NewRequest("GET", base+"/items?price__gte=10&sort=-price&limit=50", nil)
			}
		}},
		{"POST /items", http.StatusCreated, func(base string) load.Request {
			return func(w, i int) (*http.Request, error) {
				body := fmt.Sprintf(`{"name":"item %d-%d","price":%d}`, w, i, i%100)
				req, err := http.NewRequest("POST", base+"/items", bytes.NewBufferString(body))
				if err == nil {
					req.Header.Set("Content-Type", "application/json")
				}
				return req, err
			}
		}},
	}
	for _, ph := range phases {
		runs := make([][]load.Result, len(servers))
		for range int(rounds) {
			for i, s := range servers {
				runs[i] = append(runs[i], load.Run(context.Background(), s.name, *clients, slice, ph.want, ph.mk(bases[i])))
			}
		}
		fmt.Println(ph.name)
		for i, s := range servers {
			fmt.Println("  ", load.Merge(s.name, runs[i]...))
		}
	}
}

func seed(base string) {
	for i := 0; i < seedRows; i++ {
		body := fmt.Sprintf(`{"name":"seed %d","price":%d}`, i, i%100)
		res, err := http.Post(base+"/items", "application/json", bytes.NewBufferString(body))
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			log.Fatalf("seed: status %d", res.StatusCode)
		}
	}
}

// openGORM opens the file as a GORM user following GORM's docs would:
// WAL, a busy timeout, and the default pool.
func openGORM(path string) *gorm.DB {
	db, err := gorm.Open(sqlite.Open("file:"+path+"?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on"),
		&gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.AutoMigrate(&Item{}); err != nil {
		log.Fatal(err)
	}
	return db
}

func closeGORM(db *gorm.DB) func() {
	return func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	}
}
