package easy

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// Why not http.Server.ReadTimeout: it bounds the whole request, body
// included, from its first byte, so the one value that stops a client
// trickling a byte every few seconds also cuts a large upload sent at an
// honest pace. The App bounds the body by its rate instead (MinBodyRate),
// with read deadlines set per request through http.ResponseController,
// and only while a handler waits for the body.

// errSlowBody is what a handler reads from a body that fell behind
// MinBodyRate; the App answers 408 whatever the handler writes.
var errSlowBody = errors.New("easy: the request body arrived too slowly")

// paceBody serves r, whose body the handler may read only at
// MinBodyRate; see bodyClock.
func (a *App) paceBody(w http.ResponseWriter, r *http.Request, next http.Handler) {
	c := &bodyClock{
		ResponseWriter: w,
		rc:             http.NewResponseController(w),
		body:           r.Body,
		rate:           a.cfg.bodyRate,
		grace:          a.cfg.bodyGrace,
		write:          a.cfg.writeTimeout,
	}
	// Until the handler reads, the body has grace to come: this bounds
	// net/http's reading of what the handler leaves unread.
	c.rc.SetReadDeadline(time.Now().Add(c.grace))
	r.Body = c
	next.ServeHTTP(c, r)
	if c.late.Load() && !c.wrote.Load() {
		c.ResponseWriter.Header().Set("Connection", "close")
		problem.Text(c.ResponseWriter, http.StatusRequestTimeout, "Request Timeout")
	}
}

// bodyClock is a request's body and its response. While the handler
// waits for the body it may wait grace, and one second more for every
// rate bytes received: the read deadline it sets before each read says
// so. A body that falls behind makes the response a 408: what the handler
// writes after is dropped. net/http calls the body and the response from
// the handler's goroutine (or, full duplex, from two), hence the atomics.
type bodyClock struct {
	http.ResponseWriter
	rc    *http.ResponseController
	body  io.ReadCloser
	rate  int64
	grace time.Duration
	write time.Duration // the write timeout, counted again from the body's end

	waited time.Duration // time spent in the body's reads
	got    int64         // bytes read

	late  atomic.Bool // the body fell behind
	wrote atomic.Bool // the handler wrote the response's header
}

func (c *bodyClock) Read(p []byte) (int, error) {
	if c.late.Load() {
		return 0, errSlowBody
	}
	allowed := c.grace + time.Duration(c.got/c.rate)*time.Second + time.Duration(c.got%c.rate)*time.Second/time.Duration(c.rate)
	left := allowed - c.waited
	if left <= 0 {
		c.late.Store(true)
		return 0, errSlowBody
	}
	start := time.Now()
	c.rc.SetReadDeadline(start.Add(left))
	n, err := c.body.Read(p)
	c.waited += time.Since(start)
	c.got += int64(n)
	switch {
	case err == io.EOF:
		// No deadline on what net/http reads next (the connection's next
		// request, in the background: a timeout there would cancel this
		// request's context), and the response's time counts from here.
		c.rc.SetReadDeadline(time.Time{})
		c.rc.SetWriteDeadline(time.Now().Add(c.write))
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.late.Store(true)
		err = errSlowBody
	}
	return n, err
}

func (c *bodyClock) Close() error { return c.body.Close() }

func (c *bodyClock) WriteHeader(status int) {
	if c.late.Load() {
		return
	}
	if status >= 200 {
		c.wrote.Store(true)
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *bodyClock) Write(b []byte) (int, error) {
	if c.late.Load() && !c.wrote.Load() {
		return len(b), nil // the 408 is written when the handler returns
	}
	c.wrote.Store(true)
	return c.ResponseWriter.Write(b)
}

// Flush keeps http.Flusher for handlers that stream.
func (c *bodyClock) Flush() {
	if c.late.Load() && !c.wrote.Load() {
		return
	}
	c.wrote.Store(true)
	c.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (c *bodyClock) Unwrap() http.ResponseWriter { return c.ResponseWriter }
