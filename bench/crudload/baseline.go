package main

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/handapi"
)

// baseline is the items API written by hand on chi and GORM, as a user
// who wants none of easy would write it: the yardstick for easy's speed.
func baseline(db *gorm.DB) http.Handler {
	r := chi.NewRouter()
	r.Post("/items", func(w http.ResponseWriter, r *http.Request) {
		var in Item
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Name == "" || in.Price < 0 {
			handapi.Detail(w, http.StatusUnprocessableEntity, "invalid item")
			return
		}
		in.ID = 0
		if err := db.WithContext(r.Context()).Create(&in).Error; err != nil {
			handapi.Detail(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		handapi.WriteJSON(w, http.StatusCreated, in)
	})
	r.Get("/items/{id}", handapi.Get[Item](db))
	r.Get("/items", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		tx := db.WithContext(r.Context()).Model(&Item{})
		if v := q.Get("price__gte"); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				handapi.Detail(w, http.StatusUnprocessableEntity, "invalid price__gte")
				return
			}
			tx = tx.Where("price >= ?", f)
		}
		var total int64
		if err := tx.Count(&total).Error; err != nil {
			handapi.Detail(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		limit := 100
		if v := q.Get("limit"); v != "" {
			limit, _ = strconv.Atoi(v)
		}
		order := "id"
		if q.Get("sort") == "-price" {
			order = "price DESC, id"
		}
		var items []Item
		if err := tx.Order(order).Limit(limit).Find(&items).Error; err != nil {
			handapi.Detail(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		w.Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
		handapi.WriteJSON(w, http.StatusOK, items)
	})
	return r
}
