package ws

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"sync"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/internal/capture"
)

// Setup makes every committed write to the given models, through the CRUD
// routes or through any code using app.DB(), reach the WebSocket clients
// of /ws/{table}, and returns the Manager that serves them. It is
// NewManager().Watch(app, models...): the Manager has its defaults, and
// takes the App's logger and, when REDIS_URL is set, a Redis broker. To
// set options, call NewManager with them and then Watch.
func Setup(app *easy.App, models ...any) *Manager {
	m := NewManager()
	m.Watch(app, models...)
	return m
}

// Watch makes every committed write to the given models, through the CRUD
// routes or through any code using app.DB(), reach the WebSocket clients
// of /ws/{table} (see Prefix) and of the event streams of /sse/{table}
// (see SSEPrefix):
//
//	m := ws.NewManager(ws.Heartbeat(10*time.Second))
//	m.Watch(app, Item{}, Order{})
//
// It also serves the JavaScript client at /ws/client.js, and closes every
// connection with 1001 when the app shuts down. What the options left
// open comes from the App, so that adding an option changes nothing else:
// the Manager logs to app.Logger() unless Logger was given, and shares its
// events through the Redis server of REDIS_URL, when that is set, unless
// ShareVia was given.
//
// Call it once, before the Manager serves and before AddResource. A
// mistake (a value that is not a model struct, an Option among the
// models, a second call) panics.
func (m *Manager) Watch(app *easy.App, models ...any) {
	for _, model := range models {
		if _, ok := model.(Option); ok {
			panic("ws: Watch: an Option among the models: give options to NewManager")
		}
	}
	db := app.DB()
	sources := make([]*gormSource, 0, len(models))
	pin := new(sync.Mutex)
	for _, model := range models {
		src, err := newGORMSource(db, m, model)
		if err != nil {
			panic("ws: Watch: " + err.Error())
		}
		src.pin = pin
		sources = append(sources, src)
	}
	m.useApp(app)
	c, err := capture.Watch(db, func(changes []capture.Change) { publishCaptured(m, changes) }, models...)
	if err != nil {
		panic("ws: Watch: " + err.Error())
	}
	tables := make([]string, len(sources))
	for i, src := range sources {
		tables[i] = src.table
	}
	o, err := m.newOutbox(db, c, tables)
	if err != nil {
		panic("ws: Watch: outbox: " + err.Error())
	}
	if o != nil {
		c.WriteOutbox(o)
		m.outbox = o
	}
	attachPolicies(sources, m.cfg.policies)
	prefix := m.cfg.prefix
	for _, src := range sources {
		src.capture = c
		m.AddResource(src.table, src)
	}
	if o != nil {
		if err := o.start(); err != nil {
			panic("ws: Watch: outbox: " + err.Error())
		}
		o.startFollower()
	}
	app.Handle(prefix+"/client.js", http.HandlerFunc(serveClientJS))
	app.Handle(prefix+"/{resource}", m)
	app.Handle(m.cfg.ssePrefix+"/{resource}", http.HandlerFunc(m.ServeSSE))
	app.OnShutdown(m.Shutdown)
	m.describe(app, sources) // the AsyncAPI document's channels
}

// useApp takes from app what the options left open. It changes fields
// that the Manager's goroutines read, so it runs before the Manager has a
// resource, and so before it has started any of them.
func (m *Manager) useApp(app *easy.App) {
	m.resMu.RLock()
	n := len(m.resources)
	m.resMu.RUnlock()
	if n > 0 {
		panic("ws: Watch: the Manager has resources already: call Watch once, before AddResource")
	}
	if m.cfg.logger == nil {
		m.log = app.Logger()
	}
	if url := os.Getenv("REDIS_URL"); url != "" && m.cfg.broker == nil {
		client := redisClient(url)
		// Shutdown hooks run last first: this one runs after m.Shutdown.
		app.OnShutdown(func(context.Context) error { return client.Close() })
		m.cfg.broker = NewRedisBroker(client, "")
	}
	m.observe(app)
}

// redisClient connects to the Redis server of REDIS_URL; a URL that does
// not parse is a setup mistake.
func redisClient(url string) *redis.Client {
	o, err := redis.ParseURL(url)
	if err != nil {
		panic("ws: Watch: REDIS_URL: " + err.Error())
	}
	return redis.NewClient(o)
}

// publishCaptured hands the changes of one commit to the Manager, resource
// by resource, keeping their order within each.
func publishCaptured(m *Manager, changes []capture.Change) {
	start := 0
	for i := 1; i <= len(changes); i++ {
		if i < len(changes) && changes[i].Table == changes[start].Table {
			continue
		}
		batch := make([]Change, 0, i-start)
		for _, c := range changes[start:i] {
			batch = append(batch, Change{Op: string(c.Op), Key: c.Key, Row: c.Row, Data: c.Data})
		}
		m.publishCommitted(changes[start].Table, changes[start:i], batch)
		start = i
	}
}

// gormSource reads snapshots of one model's table.
type gormSource struct {
	db      *gorm.DB
	m       *Manager
	capture *capture.Capture
	table   string
	typ     reflect.Type
	sch     *schema.Schema
	parser  *query.Parser
	policy  *query.Policy // nil: every connection sees every row

	pin      *sync.Mutex // shared by the sources of one database; see pinnedRead
	readOnce sync.Once
	begin    string // how a read transaction with a snapshot of its own begins; "" for none
}

// scope returns the rows a connection whose handshake resolved ctx may
// see, under the source's row policy.
func (s *gormSource) scope(ctx context.Context) (*query.Filter, error) {
	return s.parser.Scope(ctx, s.policy)
}

func newGORMSource(db *gorm.DB, m *Manager, model any) (*gormSource, error) {
	t := reflect.TypeOf(model)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%T is not a model struct", model)
	}
	sch, err := schema.Parse(reflect.New(t).Interface(), &sync.Map{}, db.NamingStrategy)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	if sch.PrioritizedPrimaryField == nil {
		return nil, fmt.Errorf("%s has no primary key", t)
	}
	// The query language of the model, its columns named as the database
	// names them: filters and the row policy run on it, in SQL and in
	// memory alike. A model it cannot read fails now, not on subscribe.
	p, err := query.New(reflect.New(t).Interface(), db, query.Config{})
	if err != nil {
		return nil, err
	}
	return &gormSource{db: db, m: m, table: sch.Table, typ: t, sch: sch, parser: p}, nil
}

func (s *gormSource) Filter(values map[string]string) (Filter, error) {
	f, err := s.parser.Filter(values)
	if err != nil {
		var ve *problem.ValidationError
		if errors.As(err, &ve) && len(ve.Errors) > 0 {
			e := ve.Errors[0]
			return nil, fmt.Errorf("filter %v: %s", e.Loc[len(e.Loc)-1], e.Msg)
		}
		return nil, err
	}
	return f, nil
}

// currentRows implements rowSource.
func (s *gormSource) currentRows(ctx context.Context, keys []json.RawMessage) (map[string]json.RawMessage, error) {
	pk := s.sch.PrioritizedPrimaryField
	vals := make([]any, len(keys))
	for i, k := range keys {
		v := reflect.New(pk.FieldType)
		if err := json.Unmarshal(k, v.Interface()); err != nil {
			return nil, fmt.Errorf("ws: key %s of %s: %w", k, s.table, err)
		}
		vals[i] = v.Elem().Interface()
	}
	rows := reflect.New(reflect.SliceOf(s.typ))
	col := clause.Column{Table: clause.CurrentTable, Name: pk.DBName}
	err := s.db.WithContext(ctx).Model(reflect.New(s.typ).Interface()).
		Where(clause.IN{Column: col, Values: vals}).Find(rows.Interface()).Error
	if err != nil {
		return nil, fmt.Errorf("ws: read %s: %w", s.table, err)
	}
	list := rows.Elem()
	out := make(map[string]json.RawMessage, list.Len())
	for i := range list.Len() {
		row := list.Index(i).Addr()
		data, err := json.Marshal(row.Interface())
		if err != nil {
			return nil, fmt.Errorf("ws: encode %s row: %w", s.table, err)
		}
		v, _ := pk.ValueOf(ctx, row.Elem())
		key, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("ws: encode %s key: %w", s.table, err)
		}
		out[string(key)] = data
	}
	return out, nil
}

// decodeRow implements rowSource.
func (s *gormSource) decodeRow(key, data json.RawMessage) (any, any, error) {
	k := reflect.New(s.sch.PrioritizedPrimaryField.FieldType)
	if err := json.Unmarshal(key, k.Interface()); err != nil {
		return nil, nil, err
	}
	if data == nil {
		return k.Elem().Interface(), nil, nil
	}
	row := reflect.New(s.typ)
	if err := json.Unmarshal(data, row.Interface()); err != nil {
		return nil, nil, err
	}
	return k.Elem().Interface(), row.Interface(), nil
}

//go:embed js/client.js
var clientJS []byte

func serveClientJS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(clientJS)
}
