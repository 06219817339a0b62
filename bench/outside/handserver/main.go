// Command handserver is the hand-written side of bench/outside: the
// items API on chi and GORM, as a user who wants none of easy would
// write it, with the plain hub of bench/wsbaseline at /ws/items: one
// goroutine per client blocked on a buffered channel, each event encoded
// once and offered to every client without blocking.
//
//	handserver -db items.db             # GORM's own pool, WAL and a busy timeout
//	handserver -db items.db -pool gate  # easy's SQLite set-up (internal/sqlitedb)
//
// By default the database is opened as a chi + GORM user would open it;
// with -pool gate it is opened as easy opens it (one writer at a time
// through a gate, synchronous=NORMAL), so that what differs is the
// framework alone.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
	"github.com/fastapi-easy/easy-go/bench/outside/probe"
	"github.com/fastapi-easy/easy-go/bench/wsbaseline"
	"github.com/fastapi-easy/easy-go/internal/handapi"
	"github.com/fastapi-easy/easy-go/internal/sqlitedb"
)

// Item is the row the API serves.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

func main() {
	path := flag.String("db", "items.db", "the SQLite file")
	pool := flag.String("pool", "gorm", "gorm (GORM's own pool) or gate (easy's SQLite set-up)")
	flag.Parse()
	var dialector gorm.Dialector
	switch *pool {
	case "gorm":
		dialector = sqlite.Open("file:" + *path + "?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on")
	case "gate":
		conn := sqlitedb.Open(*path, sqlitedb.Options{})
		defer conn.Close()
		dialector = sqlite.Dialector{Conn: conn}
	default:
		log.Fatalf("-pool %q: want gorm or gate", *pool)
	}
	db, err := gorm.Open(dialector, &gorm.Config{Logger: logger.Discard, TranslateError: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.AutoMigrate(&Item{}); err != nil {
		log.Fatal(err)
	}
	hub := wsbaseline.NewHub(wsbaseline.DefaultQueue)
	srv := &http.Server{Handler: routes(db, hub), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	probe.Main(func(ctx context.Context, ln net.Listener) error {
		return loadkit.Serve(ctx, srv, ln, hub.Close)
	})
}

// routes are easy's items routes that bench/outside drives: read, list
// (skip, limit, X-Total-Count), create, and the event stream.
func routes(db *gorm.DB, hub *wsbaseline.Hub) http.Handler {
	r := chi.NewRouter()
	r.Get("/items/{id}", handapi.Get[Item](db))
	r.Get("/items", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		skip, err1 := queryInt(q.Get("skip"), 0)
		limit, err2 := queryInt(q.Get("limit"), 100)
		if err1 != nil || err2 != nil || skip < 0 || limit < 1 || limit > 1000 {
			handapi.Detail(w, http.StatusUnprocessableEntity, "invalid skip or limit")
			return
		}
		tx := db.WithContext(r.Context()).Model(&Item{})
		var total int64
		if err := tx.Count(&total).Error; err != nil {
			handapi.Detail(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		items := []Item{}
		if err := tx.Order("id").Offset(skip).Limit(limit).Find(&items).Error; err != nil {
			handapi.Detail(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		w.Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
		handapi.WriteJSON(w, http.StatusOK, items)
	})
	r.Post("/items", func(w http.ResponseWriter, r *http.Request) {
		var in Item
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil ||
			in.Name == "" || len(in.Name) > 100 || in.Price < 0 {
			handapi.Detail(w, http.StatusUnprocessableEntity, "invalid item")
			return
		}
		in.ID = 0
		if err := db.WithContext(r.Context()).Create(&in).Error; err != nil {
			handapi.Detail(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		data, err := json.Marshal(in)
		if err != nil {
			handapi.Detail(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		// Create has committed when it returns: no client hears of a row
		// that is not there.
		hub.Publish("create", in.ID, data)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(data)
	})
	r.Handle("/ws/items", hub)
	return r
}

func queryInt(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	return strconv.Atoi(s)
}
