// Package crashapp is the application that the crash tests of the
// transactional outbox run as a child process and kill with SIGKILL: the
// CRUD API of one watched model, and a bulk update, on the database of
// DATABASE_URL. The test binary is the program (see TestMain).
package crashapp

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
)

// Item is the watched model.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

// BulkIn renames every item whose id is a multiple of Mod.
type BulkIn struct {
	Name string `json:"name" required:"true" minLength:"1"`
	Mod  int    `json:"mod" minimum:"1"`
}

// BulkOut says how many rows a bulk update wrote.
type BulkOut struct {
	Affected int64 `json:"affected"`
}

// Serve serves the app on a loopback port until ctx ends, writing
// "listening ADDR\n" to out once it accepts connections.
func Serve(ctx context.Context, out io.Writer, opts ...ws.Option) error {
	app := easy.New()
	app.Include(easy.CRUDRouter[Item]())
	m := ws.NewManager(opts...)
	m.Watch(app, Item{})
	easy.Post(app, "/bulk", func(ctx context.Context, in *BulkIn) (*BulkOut, error) {
		res := app.DB().WithContext(ctx).Model(&Item{}).
			Where("id % ? = 0", in.Mod).Updates(map[string]any{"name": in.Name})
		if res.Error != nil {
			return nil, res.Error
		}
		return &BulkOut{Affected: res.RowsAffected}, nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "listening %s\n", ln.Addr())
	return app.Serve(ctx, ln)
}
