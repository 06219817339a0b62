package easy

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/cors"
	"gorm.io/gorm"
)

// The names the options had before the option convention of
// docs/conventions.md, until their callers are renamed.

func WithDB(db *gorm.DB) Option                                         { return DB(db) }
func WithLogger(l *slog.Logger) Option                                  { return Logger(l) }
func WithBodyLimit(n int64) Option                                      { return BodyLimit(n) }
func WithCORS(origins ...string) Option                                 { return CORS(origins...) }
func WithCORSOptions(opts cors.Options) Option                          { return CORSOptions(opts) }
func WithOpenAPI(path string) Option                                    { return OpenAPI(path) }
func WithDocs(path string) Option                                       { return Docs(path) }
func WithTitle(title, version string) Option                            { return Title(title, version) }
func WithDescription(d string) Option                                   { return Description(d) }
func WithServers(urls ...string) Option                                 { return Servers(urls...) }
func WithShutdownTimeout(d time.Duration) Option                        { return ShutdownTimeout(d) }
func WithoutMigrate() Option                                            { return NoMigrate() }
func WithForbidUnknownFields() Option                                   { return ForbidUnknownFields() }
func GroupTags(tags ...string) GroupOption                              { return Tags(tags...) }
func GroupUses(deps ...Dep) GroupOption                                 { return Uses(deps...) }
func GroupMiddleware(mw ...func(http.Handler) http.Handler) GroupOption { return Middleware(mw...) }
