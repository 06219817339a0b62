package loadkit

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Poster creates items through POST /items, as the tools' writes.
type Poster struct {
	url    string
	client *http.Client
}

// NewPoster returns a Poster for the server at addr (HOST:PORT) that
// keeps up to idle connections to it open between writes: as many as the
// tool sends at once.
func NewPoster(addr string, idle int) *Poster {
	return &Poster{
		url:    "http://" + addr + "/items",
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: idle, DisableCompression: true}, Timeout: 30 * time.Second},
	}
}

// Post creates an item named name and checks the answer is 201.
func (p *Poster) Post(name string) error {
	res, err := p.client.Post(p.url, "application/json", bytes.NewBufferString(`{"name":"`+name+`","price":1}`))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST /items: status %d", res.StatusCode)
	}
	return nil
}
