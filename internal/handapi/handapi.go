// Package handapi holds the pieces of the items API written by hand on
// chi and GORM that the baselines of easy's benchmarks share (bench's
// crudload and bench/outside's handserver, and the observability
// benchmarks of internal/thirdparty/observe): what a user who wants none
// of easy would write once and use in all. The library never imports it.
package handapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"gorm.io/gorm"
)

// WriteJSON writes v as JSON with status; a value that does not encode
// is a 500 in FastAPI's shape.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"detail":"Internal Server Error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// Detail writes the error body {"detail": msg} with status.
func Detail(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"detail": msg})
}

// Get serves GET /items/{id}: the row of T with that primary key, 404
// when there is none, 422 for an id that is not a number.
func Get[T any](db *gorm.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(chi.URLParam(r, "id"), 10, 64)
		if err != nil {
			Detail(w, http.StatusUnprocessableEntity, "invalid id")
			return
		}
		var item T
		err = db.WithContext(r.Context()).First(&item, id).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			Detail(w, http.StatusNotFound, "Item not found")
			return
		}
		if err != nil {
			Detail(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		WriteJSON(w, http.StatusOK, item)
	}
}
