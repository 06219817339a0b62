package security_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/security"
)

type benchIn struct {
	ID int `path:"id"`
}

type benchOut struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	By   string `json:"by,omitempty"`
}

// BenchmarkAuthenticatedGet compares, in one run, a GET of one item
// without authentication to the same GET behind HTTP Bearer with a JWT
// verified on every request, signed with HS256, RS256 (2048-bit) and
// ES256. It reports each one's ns per request and the cost of each
// scheme over the unauthenticated GET.
func BenchmarkAuthenticatedGet(b *testing.B) {
	k := keys()
	quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	app := easy.New(easy.Logger(quiet))
	easy.Get(app, "/items/{id}", func(ctx context.Context, in *benchIn) (*benchOut, error) {
		return &benchOut{ID: in.ID, Name: "apple"}, nil
	})
	type scheme struct {
		name   string
		path   string
		method jwt.SigningMethod
		sign   any
		verify any
	}
	schemes := []scheme{
		{"HS256", "/hs/items/{id}", jwt.SigningMethodHS256, k.secret, k.secret},
		{"RS256", "/rs/items/{id}", jwt.SigningMethodRS256, k.rsa, &k.rsa.PublicKey},
		{"ES256", "/es/items/{id}", jwt.SigningMethodES256, k.ec, &k.ec.PublicKey},
	}
	reqs := []*http.Request{httptest.NewRequest("GET", "/items/42", nil)}
	for _, s := range schemes {
		dep := security.HTTPBearer(security.JWT[security.Claims](security.JWTConfig{Key: s.verify}), security.Name("bearer"+s.name))
		easy.Get(app, s.path, func(ctx context.Context, in *benchIn) (*benchOut, error) {
			return &benchOut{ID: in.ID, Name: "apple", By: dep.From(ctx).Subject}, nil
		}, easy.Uses(dep))
		req := httptest.NewRequest("GET", s.path[:4]+"items/42", nil)
		req.Header.Set("Authorization", "Bearer "+sign(b, s.method, s.sign, claims("alice")))
		reqs = append(reqs, req)
	}
	for _, req := range reqs { // every request must succeed, or the numbers mean nothing
		w := httptest.NewRecorder()
		app.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%s: %d %s", req.URL, w.Code, w.Body)
		}
	}
	spent := make([]time.Duration, len(reqs))
	for b.Loop() {
		for i, req := range reqs {
			w := httptest.NewRecorder()
			start := time.Now()
			app.ServeHTTP(w, req)
			spent[i] += time.Since(start)
		}
	}
	per := func(i int) float64 { return float64(spent[i].Nanoseconds()) / float64(b.N) }
	b.ReportMetric(per(0), "none-ns/op")
	for i, s := range schemes {
		b.ReportMetric(per(i+1), s.name+"-ns/op")
		b.ReportMetric(per(i+1)-per(0), s.name+"-cost-ns/op")
		b.ReportMetric(per(i+1)/per(0), s.name+"/none")
	}
}
