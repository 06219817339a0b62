package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"gorm.io/gorm"
)

// baseline is the items API written by hand on chi and GORM, as a user
// who wants none of easy would write it: the yardstick for easy's speed.
func baseline(db *gorm.DB) http.Handler {
	r := chi.NewRouter()
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			http.Error(w, `{"detail":"Internal Server Error"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(b)
	}
	r.Post("/items", func(w http.ResponseWriter, r *http.Request) {
		var in Item
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Name == "" || in.Price < 0 {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"detail": "invalid item"})
			return
		}
		in.ID = 0
		if err := db.WithContext(r.Context()).Create(&in).Error; err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal Server Error"})
			return
		}
		writeJSON(w, http.StatusCreated, in)
	})
	r.Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(chi.URLParam(r, "id"), 10, 64)
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"detail": "invalid id"})
			return
		}
		var item Item
		err = db.WithContext(r.Context()).First(&item, id).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Item not found"})
			return
		}
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal Server Error"})
			return
		}
		writeJSON(w, http.StatusOK, item)
	})
	r.Get("/items", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		tx := db.WithContext(r.Context()).Model(&Item{})
		if v := q.Get("price__gte"); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"detail": "invalid price__gte"})
				return
			}
			tx = tx.Where("price >= ?", f)
		}
		var total int64
		if err := tx.Count(&total).Error; err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal Server Error"})
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
			writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal Server Error"})
			return
		}
		w.Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
		writeJSON(w, http.StatusOK, items)
	})
	return r
}
