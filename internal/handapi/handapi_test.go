package handapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/go-chi/chi/v5"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

func TestGetAnswersTheRowOr404Or422(t *testing.T) {
	db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "items.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&item{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&item{Name: "a", Price: 2}).Error; err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Get("/items/{id}", Get[item](db))
	srv := httptest.NewServer(r)
	defer srv.Close()
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/items/1", 200, `{"id":1,"name":"a","price":2}`},
		{"/items/2", 404, `{"detail":"Item not found"}`},
		{"/items/x", 422, `{"detail":"invalid id"}`},
	} {
		res, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || string(b) != c.body || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s = %d %s %q, want %d %s", c.path, res.StatusCode, b, res.Header.Get("Content-Type"), c.status, c.body)
		}
	}
}

func TestWriteJSONAnswers500ForWhatDoesNotEncode(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, http.StatusOK, func() {})
	if w.Code != 500 || w.Body.String() != "{\"detail\":\"Internal Server Error\"}\n" {
		t.Fatalf("%d %q", w.Code, w.Body.String())
	}
}
