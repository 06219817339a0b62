package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Op says what a write did to a row.
type Op string

// The three kinds of write.
const (
	Create Op = "create"
	Update Op = "update"
	Delete Op = "delete"
)

// Change is one committed write to one row of a watched model.
type Change struct {
	// Table is the GORM table name, e.g. "items".
	Table string
	// Op is what the write did to the row.
	Op Op
	// Key is the row's primary key value, of the type the model declares
	// (uint, int64, string, ...). For a composite key it is a []any in the
	// order of the model's primary fields.
	Key any
	// Row points to a copy of the row as written, of the watched model's type.
	// For a Delete it is the row as it was deleted when the database returned
	// it (RETURNING), and nil when only its key is known. It is a deep copy, so later changes the caller makes to
	// its own value do not reach it. Only the model's columns are filled when
	// the row was read back from the database (updates, bulk writes).
	Row any
	// Data is json.Marshal(Row), taken at the time of the write; nil for
	// Delete, and nil if Row cannot be encoded (the error is logged).
	Data json.RawMessage
	// Span is the span of the statement that wrote the row, or of the
	// request that ran it, from the statement's context; invalid when it
	// carried none. See trace.go.
	Span trace.SpanContext
}

// Sink receives the changes of one commit, in write order. It is called after
// the commit succeeded, in commit order across all goroutines (the capture
// holds a lock across COMMIT and the call), so it must be quick and must not
// block or write to the database.
type Sink func([]Change)

// ErrUncapturedTx is the error of a write to a watched model inside a
// transaction the capture did not begin: one begun on a *gorm.DB derived from
// db before Watch was called, or inside db.Connection. The capture could not
// tell whether it commits, so the write is refused rather than published
// early or lost silently.
var ErrUncapturedTx = errors.New("capture: write to a watched model in a transaction begun outside the capture (derive sessions after Watch)")

// Capture publishes the committed writes to the models watched on one
// *gorm.DB. It is safe for concurrent use.
type Capture struct {
	db     *gorm.DB
	sink   Sink
	models map[string]*model // by table name; read-only after Watch

	// sem is the commit lock, a channel so that Exclusive can give up when its
	// context ends. A commit that carries changes holds it across COMMIT and
	// the sink call.
	sem chan struct{}

	flat sync.Map // reflect.Type → bool, see isFlat

	outbox atomic.Pointer[Outbox] // nil: none; see WriteOutbox

	// keyQuery makes bulk updates and deletes find their rows with a SELECT
	// before the write instead of RETURNING; only tests and benchmarks set it.
	keyQuery bool
}

// model is what the capture knows about one watched model.
type model struct {
	table  string
	typ    reflect.Type // the struct type
	schema *schema.Schema
	pk     []*schema.Field
	pkCols []string
	// returnRow is the RETURNING clause that reads a written row back, with
	// columns qualified by the table so that an UPDATE ... FROM stays
	// unambiguous.
	returnRow string
	flat      bool // a plain assignment copies the struct deeply
}

// Watch registers callbacks on db so that writes to the given models reach
// sink after they commit. Pass the *gorm.DB that gorm.Open returned, before
// deriving sessions from it: Watch wraps its connection pool, and sessions
// derived earlier keep the bare one (single writes through them are still
// captured; transactions begun on them are refused with ErrUncapturedTx).
// Watch returns an error for a nil db or sink, a value that is not a model, a
// model without a primary key, and a db watched already.
func Watch(db *gorm.DB, sink Sink, models ...any) (*Capture, error) {
	if db == nil || sink == nil {
		return nil, errors.New("capture: watch: nil db or sink")
	}
	if len(models) == 0 {
		return nil, errors.New("capture: watch: no models")
	}
	if _, ok := db.Statement.ConnPool.(gorm.TxCommitter); ok {
		return nil, errors.New("capture: watch: db is a transaction; pass the *gorm.DB that gorm.Open returned")
	}
	if db.Callback().Create().Get(cbBegin) != nil {
		return nil, errors.New("capture: watch: db is watched already")
	}
	c := &Capture{
		db:     db,
		sink:   sink,
		models: make(map[string]*model, len(models)),
		sem:    make(chan struct{}, 1),
	}
	for _, m := range models {
		w, err := c.parse(db, m)
		if err != nil {
			return nil, err
		}
		if _, dup := c.models[w.table]; dup {
			return nil, fmt.Errorf("capture: watch: table %q given twice", w.table)
		}
		c.models[w.table] = w
	}
	if err := c.wrapPool(db); err != nil {
		return nil, err
	}
	if err := c.register(db); err != nil {
		return nil, fmt.Errorf("capture: watch: %w", err)
	}
	return c, nil
}

func (c *Capture) parse(db *gorm.DB, m any) (*model, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(m); err != nil {
		return nil, fmt.Errorf("capture: watch: %T is not a model: %w", m, err)
	}
	s := stmt.Schema
	if len(s.PrimaryFields) == 0 {
		return nil, fmt.Errorf("capture: watch: model %s has no primary key", s.Name)
	}
	w := &model{
		table:  stmt.Table,
		typ:    s.ModelType,
		schema: s,
		pk:     s.PrimaryFields,
	}
	w.flat = c.isFlat(w.typ)
	var table strings.Builder
	db.Dialector.QuoteTo(&table, s.Table)
	var row strings.Builder
	for _, f := range s.Fields {
		if f.DBName == "" || !f.Readable {
			continue
		}
		col := table.String() + "." + quote(db, f.DBName)
		appendCol(&row, col)
		if f.PrimaryKey {
			w.pkCols = append(w.pkCols, f.DBName)
		}
	}
	w.returnRow = row.String()
	return w, nil
}

func quote(db *gorm.DB, name string) string {
	var b strings.Builder
	db.Dialector.QuoteTo(&b, name)
	return b.String()
}

func appendCol(b *strings.Builder, col string) {
	if b.Len() == 0 {
		b.WriteString(" RETURNING ")
	} else {
		b.WriteByte(',')
	}
	b.WriteString(col)
}

// watched returns the watched model a statement writes to, or nil.
func (c *Capture) watched(stmt *gorm.Statement) *model {
	if stmt == nil || stmt.Table == "" {
		return nil
	}
	return c.models[stmt.Table]
}

// Exclusive runs fn while no watched write can commit, so that a snapshot
// read by fn and the sequence numbers given out by the sink so far agree
// exactly. fn gets a transaction that commits when fn returns nil, handing
// what fn wrote to watched models to the sink, and rolls back otherwise.
//
// fn should only read, and only through tx. A write in fn to a row that
// another transaction has written waits for that transaction, which cannot
// commit while fn runs: on PostgreSQL until ctx ends, on SQLite until the busy
// timeout. A watched write committed outside tx waits for fn the same way.
// Exclusive must not be called from fn or from the sink.
func (c *Capture) Exclusive(ctx context.Context, fn func(tx *gorm.DB) error) (err error) {
	// Begin before taking the lock: a writer waiting for the lock may hold
	// the last free connection, and would never give it back.
	tx := c.db.WithContext(ctx).Begin()
	if tx.Error != nil {
		return fmt.Errorf("capture: exclusive: %w", tx.Error)
	}
	t := txOf(tx.Statement.ConnPool)
	if t == nil {
		tx.Rollback()
		return fmt.Errorf("capture: exclusive: %w", ErrUncapturedTx)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		tx.Rollback()
		return fmt.Errorf("capture: exclusive: %w", ctx.Err())
	}
	defer func() {
		<-c.sem
		t.turn.Yield()
	}()
	t.setExclusive()

	panicked := true
	defer func() {
		if panicked || err != nil {
			tx.Rollback()
		}
	}()
	err = fn(tx)
	panicked = false
	if err != nil {
		return err
	}
	return tx.Commit().Error
}

// deliver hands the changes of one commit to the sink. The caller holds sem.
func (c *Capture) deliver(changes []Change) {
	if len(changes) > 0 {
		c.sink(changes)
	}
}
