package loadkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestProcReadsThisProcess(t *testing.T) {
	pid := os.Getpid()
	rss, err := RSS(pid)
	if err != nil || rss < 1<<20 {
		t.Fatalf("RSS = %d, %v; want at least 1 MiB", rss, err)
	}
	if peak, err := StatusBytes(pid, "VmHWM"); err != nil || peak < rss {
		t.Fatalf("VmHWM = %d, %v; want at least VmRSS %d", peak, err, rss)
	}
	if _, err := StatusBytes(pid, "NoSuchField"); err == nil {
		t.Fatal("StatusBytes of a missing field: no error")
	}
	w0, err := WriteCalls(pid)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(t.TempDir() + "/w")
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		f.Write([]byte("x"))
	}
	f.Close()
	if w1, err := WriteCalls(pid); err != nil || w1 < w0+10 {
		t.Fatalf("WriteCalls after 10 writes = %d, %v; want at least %d", w1, err, w0+10)
	}
	c0, err := CPUTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the clock has counted some more.
	var c1 time.Duration
	for c1 <= c0 {
		if c1, err = CPUTime(pid); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := RSS(-1); err == nil {
		t.Fatal("RSS of no process: no error")
	}
	if _, err := CPUTime(-1); err == nil {
		t.Fatal("CPUTime of no process: no error")
	}
	if avg, err := LoadAvg(); err != nil || avg[2] == "" {
		t.Fatalf("LoadAvg = %q, %v", avg, err)
	}
}

func TestStopKillsAProcessThatDoesNotEnd(t *testing.T) {
	for _, c := range []struct {
		name   string
		signal os.Signal
		killed bool
	}{
		{"ends on SIGINT", os.Interrupt, false},
		{"ignores the request", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command("sleep", "60")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exits := make(chan error, 1)
			go func() { exits <- cmd.Wait() }()
			if c.signal != nil {
				cmd.Process.Signal(c.signal)
			}
			killed, err := Stop(cmd.Process, exits, 500*time.Millisecond)
			if killed != c.killed {
				t.Fatalf("killed = %v (%v), want %v", killed, err, c.killed)
			}
			if !killed && err == nil {
				t.Fatal("a process ended by a signal: Wait's error not returned")
			}
		})
	}
}

func TestPosterPostsItemsAndWantsCreated(t *testing.T) {
	var bodies atomic.Value
	var status atomic.Int64
	status.Store(http.StatusCreated)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 100)
		n, _ := r.Body.Read(b)
		bodies.Store(r.Method + " " + r.URL.Path + " " + string(b[:n]))
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	p := NewPoster(strings.TrimPrefix(srv.URL, "http://"), 4)
	if err := p.Post("w1"); err != nil {
		t.Fatal(err)
	}
	if got, want := bodies.Load(), `POST /items {"name":"w1","price":1}`; got != want {
		t.Fatalf("server got %q, want %q", got, want)
	}
	status.Store(http.StatusUnprocessableEntity)
	if err := p.Post("w2"); err == nil || err.Error() != "POST /items: status 422" {
		t.Fatalf("Post answered 422: %v", err)
	}
}

func TestDialAllReturnsTheFirstFailure(t *testing.T) {
	var dialed atomic.Int64
	err := DialAll(context.Background(), 100, func(ctx context.Context, hc *http.Client, i int) error {
		dialed.Add(1)
		if _, ok := ctx.Deadline(); !ok || hc == nil {
			return errors.New("no deadline or client")
		}
		if i == 40 || i == 70 {
			return fmt.Errorf("refused %d", i)
		}
		return nil
	})
	if dialed.Load() != 100 || err == nil || err.Error() != "dial subscriber 40: refused 40" {
		t.Fatalf("dialed %d, err %v", dialed.Load(), err)
	}
}

func TestParseEvent(t *testing.T) {
	start, name := []byte(`{"type":"create"`), []byte(`"name":"w`)
	for _, c := range []struct {
		msg    string
		seq, n uint64
		ok     bool
	}{
		{`{"type":"create","data":{"name":"w12"},"seq":7}`, 7, 12, true},
		{`{"type":"create","data":{"name":"x12"},"seq":7}`, 0, 0, false},
		{`{"type":"create","data":{"name":"w12"}}`, 0, 0, false},
		{`{"type":"create","data":{"name":"w"},"seq":7}`, 0, 0, false},
		{`{"type":"update","data":{"name":"w12"},"seq":7}`, 0, 0, false},
	} {
		seq, n, ok := ParseEvent([]byte(c.msg), start, name)
		if ok != c.ok || ok && (seq != c.seq || n != c.n) {
			t.Errorf("ParseEvent(%s) = %d, %d, %v; want %d, %d, %v", c.msg, seq, n, ok, c.seq, c.n, c.ok)
		}
	}
}

func TestReadAllGrowsTheBuffer(t *testing.T) {
	msg := strings.Repeat("x", 1000)
	buf, err := ReadAll(strings.NewReader(msg), make([]byte, 0, 8))
	if err != nil || string(buf) != msg {
		t.Fatalf("ReadAll = %d bytes, %v", len(buf), err)
	}
}

func TestMedianPercentileMs(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.xs); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
	sorted := []int32{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	for _, c := range []struct {
		p    float64
		want int32
	}{{0, 10}, {50, 50}, {99, 90}, {100, 100}} {
		if got := Percentile(sorted, c.p); got != c.want {
			t.Errorf("Percentile(%v) = %d, want %d", c.p, got, c.want)
		}
	}
	if got := Percentile([]time.Duration(nil), 99); got != 0 {
		t.Errorf("Percentile of none = %v", got)
	}
	if got := Ms(1500 * time.Microsecond); got != "1.50ms" {
		t.Errorf("Ms = %q", got)
	}
}

func TestServeClosesThenShutsDownWhenCtxEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("up")) })}
	ctx, cancel := context.WithCancel(context.Background())
	var closed atomic.Bool
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, ln, func() { closed.Store(true) }) }()
	res, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "up" {
		t.Fatalf("body %q", b)
	}
	cancel()
	if err := <-done; err != nil || !closed.Load() {
		t.Fatalf("Serve = %v, closing called %v", err, closed.Load())
	}
	if _, err := http.Get("http://" + ln.Addr().String()); err == nil {
		t.Fatal("the server still answers after Serve returned")
	}
}
