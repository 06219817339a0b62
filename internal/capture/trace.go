package capture

import (
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
)

// traced gives each change the span of the statement that wrote it, from
// the context GORM's statement carries: the statement's own span when the
// App traces its statements, else the request's. A subscriber that
// publishes the changes links its spans to it, so that one trace shows
// the request, its commit and what the commit published.
func traced(db *gorm.DB, changes []Change) []Change {
	if db.Statement.Context == nil {
		return changes
	}
	sc := trace.SpanContextFromContext(db.Statement.Context)
	if !sc.IsValid() {
		return changes
	}
	for i := range changes {
		changes[i].Span = sc
	}
	return changes
}
