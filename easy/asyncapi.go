package easy

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/route"
)

// ChannelHandler is the handler of a realtime endpoint that describes
// itself in the App's AsyncAPI document, as those of ws.Manager.Handler
// do: Handle adds the channel of such a handler at the path it routes to
// it. Channel returns the channel at address, and the requirements a
// client must meet to connect, whose security schemes the channel's
// operations list.
type ChannelHandler interface {
	http.Handler
	Channel(address string) (openapi.Channel, []route.Requirement)
}

// AddChannel adds a realtime channel to the App's AsyncAPI document,
// served at /asyncapi.json (see AsyncAPI) once the App has a channel.
// reqs, which must be Dependencies, are documented as they are on an
// operation: their security schemes join the OpenAPI document's
// components, and the channel's operations require them. ws.Watch adds
// the channels of its resources; Handle those of a ChannelHandler. A
// mistake in ch (a channel ID taken, say) panics.
func (a *App) AddChannel(ch openapi.Channel, reqs ...route.Requirement) {
	op := openapi.Operation{Security: ch.Security}
	for _, d := range asDeps(reqs) {
		describeOp(a.spec, &op, d.node())
	}
	ch.Security = op.Security
	if err := a.async.AddChannel(ch); err != nil {
		panic("easy: " + err.Error())
	}
}

// handleChannel adds the channel of h, routed at pattern, when h
// describes one.
func (a *App) handleChannel(pattern string, h http.Handler) {
	ch, ok := h.(ChannelHandler)
	if !ok {
		return
	}
	address := pattern
	if _, path, ok := strings.Cut(pattern, " "); ok { // "GET /ws/chat"
		address = strings.TrimSpace(path)
	}
	c, reqs := ch.Channel(address)
	a.AddChannel(c, reqs...)
}

// addAsyncAPI serves the AsyncAPI document and its page, when the App
// has realtime channels, and links them and the OpenAPI docs together.
func (a *App) addAsyncAPI() {
	p := a.cfg.asyncAPIPath
	if p == "" || a.async.Channels() == 0 {
		return
	}
	page := strings.TrimSuffix(p, ".json")
	docs := ""
	if a.cfg.openAPIPath != "" && a.cfg.docsPath != "" {
		docs = strings.TrimSuffix(a.cfg.docsPath, "/")
		a.spec.ExternalDocs("The realtime API (AsyncAPI): channels and messages", page)
		a.async.LinkDocs(docs)
	}
	a.mux.Method(http.MethodGet, p, a.async.JSONHandler())
	a.mux.Method(http.MethodGet, page+".yaml", a.async.YAMLHandler())
	a.mux.Method(http.MethodGet, page, openapi.AsyncAPIDocs(a.cfg.title, p, docs))
}

// asDeps returns reqs as the Dependencies they must be: a requirement
// package easy did not make is a mistake of setup.
func asDeps(reqs []route.Requirement) []Dep {
	deps := make([]Dep, len(reqs))
	for i, r := range reqs {
		if r == nil {
			continue // useDeps names the mistake
		}
		d, ok := r.(Dep)
		if !ok {
			panic(fmt.Sprintf("easy: a requirement of type %T is not a Dependency; make one with Depends", r))
		}
		deps[i] = d
	}
	return deps
}
