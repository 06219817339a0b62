package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
	"github.com/fastapi-easy/easy-go/bench/wsbaseline"
	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/sqlitedb"
)

// Item is the model of the easy server, as in the items example.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1" maxLength:"100"`
	Price float64 `json:"price" minimum:"0"`
}

// serve is the child process: it serves one kind of server on a loopback
// port, writes "addr HOST:PORT" to out, then answers the parent's
// commands read from in, one a line:
//
//	stats      a JSON line of runtime numbers (runtimeStats)
//	gc         collects garbage and returns free memory to the OS; "ok"
//	heap PATH  writes a heap profile to PATH; "ok"
//
// It shuts down when in ends, which is also what happens when the parent
// dies.
func serve(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	kind := fs.String("kind", "easy", "easy or baseline")
	dbPath := fs.String("db", "", "the SQLite file")
	memRate := fs.Int("memprofilerate", 0, "runtime.MemProfileRate, if not 0")
	queue := fs.Int("sendqueue", 0, "messages that may wait for one connection (0: the server's default)")
	beat := fs.Duration("heartbeat", -1, "easy's heartbeat (negative: its default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	if *dbPath == "" {
		return errors.New("-db is required")
	}
	if err := loadkit.RaiseFileLimit(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var serveFn func(ctx context.Context) error
	switch *kind {
	case "easy":
		var opts []ws.Option
		if *queue > 0 {
			opts = append(opts, ws.SendQueue(*queue))
		}
		if *beat >= 0 {
			opts = append(opts, ws.Heartbeat(*beat))
		}
		serveFn, err = easyServer(*dbPath, ln, opts...)
	case "baseline":
		serveFn, err = baselineServer(*dbPath, ln, *queue)
	default:
		err = fmt.Errorf("unknown -kind %q", *kind)
	}
	if err != nil {
		ln.Close()
		return err
	}
	if _, err := fmt.Fprintf(out, "addr %s\n", ln.Addr()); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	// The command loop is owned by serve; it cancels ctx when in ends,
	// and serve's return ends the process and with it the loop.
	go func() {
		defer cancel()
		control(in, out)
	}()
	return serveFn(ctx)
}

// easyServer builds the items app with easy's defaults, but for the ws
// options given.
func easyServer(dbPath string, ln net.Listener, wsOpts ...ws.Option) (func(context.Context) error, error) {
	os.Setenv("DATABASE_URL", "sqlite:"+dbPath)
	app := easy.New(easy.Logger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))))
	if _, err := app.Database(); err != nil {
		return nil, err
	}
	app.Include(easy.CRUDRouter[Item]())
	ws.NewManager(wsOpts...).Watch(app, Item{})
	return func(ctx context.Context) error { return app.Serve(ctx, ln) }, nil
}

// baselineServer builds the hand-written hub over the same SQLite setup
// as easy's.
func baselineServer(dbPath string, ln net.Listener, queue int) (func(context.Context) error, error) {
	conn := sqlitedb.Open(dbPath, sqlitedb.Options{})
	db, err := gorm.Open(sqlite.Dialector{Conn: conn}, &gorm.Config{Logger: logger.Discard, TranslateError: true})
	if err != nil {
		return nil, err
	}
	s, err := wsbaseline.New(db, queue)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	return func(ctx context.Context) error {
		defer conn.Close()
		return loadkit.Serve(ctx, srv, ln, s.Hub().Close)
	}, nil
}

// runtimeStats are the child's runtime numbers.
type runtimeStats struct {
	Goroutines int    `json:"goroutines"`
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	Sys        uint64 `json:"sys"`
}

// control answers the parent's commands until in ends.
func control(in io.Reader, out io.Writer) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		var reply string
		switch cmd {
		case "stats":
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b, _ := json.Marshal(runtimeStats{runtime.NumGoroutine(), ms.HeapInuse, ms.StackInuse, ms.Sys})
			reply = string(b)
		case "gc":
			debug.FreeOSMemory()
			reply = "ok"
		case "heap":
			reply = "ok"
			if err := writeHeapProfile(arg); err != nil {
				reply = "error " + err.Error()
			}
		default:
			reply = "error unknown command " + cmd
		}
		fmt.Fprintln(out, reply)
	}
}

func writeHeapProfile(path string) error {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
