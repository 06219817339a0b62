// Package wsbaseline is the realtime items API written by hand on chi,
// GORM and coder/websocket, as a user who wants none of easy would write
// it: POST /items inserts a row and, once it is committed, broadcasts it
// to every client of /ws/items as
//
//	{"type":"create","resource":"items","id":1,"data":{"id":1,"name":"apple","price":10.5},"seq":1}
//
// It is the yardstick that bench/wsload measures easy/ws against,
// so it does the least that is still correct: each event is encoded once,
// each client has a buffered channel and one writer, and a client whose
// channel is full is closed with 1013 rather than slowing anyone else.
// There is no heartbeat, history, snapshot, filter or authentication.
package wsbaseline

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"gorm.io/gorm"
)

// Item is the row the API serves, as easy's items example has it.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

// Server serves POST /items and the event stream at /ws/items.
type Server struct {
	db  *gorm.DB
	hub *Hub
	mux *chi.Mux
}

// New migrates the items table of db and returns the server of its API,
// which lets queue messages wait for each client (DefaultQueue if 0).
func New(db *gorm.DB, queue int) (*Server, error) {
	if err := db.AutoMigrate(&Item{}); err != nil {
		return nil, fmt.Errorf("wsbaseline: migrate: %w", err)
	}
	if queue <= 0 {
		queue = DefaultQueue
	}
	s := &Server{db: db, hub: NewHub(queue), mux: chi.NewRouter()}
	s.mux.Post("/items", s.create)
	s.mux.Handle("/ws/items", s.hub)
	return s, nil
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Hub returns the hub of /ws/items.
func (s *Server) Hub() *Hub { return s.hub }

// create inserts the item, then broadcasts it: GORM's Create has
// committed when it returns, so no client hears of a row that is not
// there.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var in Item
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Name == "" || in.Price < 0 {
		writeJSON(w, http.StatusUnprocessableEntity, []byte(`{"detail":"invalid item"}`))
		return
	}
	in.ID = 0
	if err := s.db.WithContext(r.Context()).Create(&in).Error; err != nil {
		writeJSON(w, http.StatusInternalServerError, []byte(`{"detail":"Internal Server Error"}`))
		return
	}
	data, err := json.Marshal(in)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, []byte(`{"detail":"Internal Server Error"}`))
		return
	}
	s.hub.Publish("create", in.ID, data)
	writeJSON(w, http.StatusCreated, data)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
