package ws

import (
	"net/http"
	"reflect"
	"slices"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/route"
)

// This file describes the Manager's endpoints in the App's AsyncAPI
// document (easy.App.AddChannel): a channel per resource endpoint and per
// custom endpoint, with the messages of protocol.go.

// describe adds a channel per resource of sources to app's AsyncAPI
// document: its WebSocket endpoint and its Server-Sent Events endpoint.
func (m *Manager) describe(app *easy.App, sources []*gormSource) {
	reqs := m.requirements()
	for _, src := range sources {
		model := reflect.New(src.typ).Elem().Interface()
		key := reflect.New(src.sch.PrioritizedPrimaryField.FieldType).Elem().Interface()
		events := m.resourceEvents(src.table, model, key)
		presenceSent, presenceReceived := m.presenceDocs(src.table)
		sent := slices.Concat(events, presenceSent)
		app.AddChannel(openapi.Channel{
			ID:          src.table,
			Address:     m.cfg.prefix + "/" + src.table,
			Protocol:    "ws",
			Title:       "The events of " + src.table,
			Description: "Every committed write to " + src.table + " as it happens, numbered by seq. Send subscribe for a snapshot, or to narrow the stream with a filter; reconnect with ?since=SEQ to resume; connect with ?batch=1 to receive messages queued together as one frame, a JSON array (the batch message).",
			Query:       batchQuery(m.resourceQuery()),
			Send:        append(sent, batchDoc(src.table, sent)),
			Receive:     slices.Concat(m.resourceRequests(), presenceReceived),
		}, reqs...)
		app.AddChannel(openapi.Channel{
			ID:          src.table + ".sse",
			Address:     m.cfg.ssePrefix + "/" + src.table,
			Protocol:    "sse",
			Title:       "The events of " + src.table + ", as Server-Sent Events",
			Description: "The events of the WebSocket channel " + src.table + ", each the data of an event whose id is its seq; resume with Last-Event-ID or ?since=SEQ. Heartbeats are comments.",
			Query:       m.resourceQuery(),
			Send:        slices.Concat(sseEvents(events), m.presenceEventDocs(src.table)),
		}, reqs...)
	}
}

// sseEvents are the messages of an SSE stream: the events, the snapshot
// and reset. A client sends nothing on it, so gets no pong or error, and
// its heartbeats are comments, not messages.
func sseEvents(all []openapi.Message) []openapi.Message {
	return slices.DeleteFunc(all, func(msg openapi.Message) bool {
		return msg.Name == TypePing || msg.Name == TypePong || msg.Name == TypeError
	})
}

// requirements are what a client must satisfy to connect: the dependency
// given to Secure.
func (m *Manager) requirements() []route.Requirement {
	if m.cfg.secured == nil {
		return nil
	}
	return []route.Requirement{m.cfg.secured}
}

// resourceQuery is the query of a resource endpoint's handshake; see
// parseQuery.
func (m *Manager) resourceQuery() map[string]any {
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"since": map[string]any{
				"type": "integer", "minimum": 0,
				"description": "Resume after the event with this seq: the events missed come from the history, or a reset when they are gone.",
			},
			"filter": map[string]any{
				"type":        "string",
				"description": `A JSON object in the CRUD list language, such as {"price__gt":"10"}, that narrows the stream as subscribe's filter does.`,
			},
		},
	}
}

// batchQuery adds batch to a resource endpoint's query: the WebSocket
// endpoint's, as an SSE stream has no frames; see frames.go.
func batchQuery(q map[string]any) map[string]any {
	q["properties"].(map[string]any)["batch"] = map[string]any{
		"type":        "boolean",
		"description": "With true (or 1, on, yes), messages queued together arrive as one frame holding a JSON array of them, in order: the batch message.",
	}
	return q
}

// resourceEvents are the messages the server sends on a resource
// endpoint, data being the model's schema and id its primary key's.
func (m *Manager) resourceEvents(resource string, model, key any) []openapi.Message {
	row := openapi.SchemaOf{V: model}
	change := func(op, summary string, data bool) openapi.Message {
		props := map[string]any{
			"type":     constant(op),
			"resource": constant(resource),
			"id":       openapi.SchemaOf{V: key},
			"seq":      seqSchema("The event's number: one more than the previous event of the resource."),
		}
		required := []any{"type", "resource", "id", "seq"}
		if data {
			props["data"] = row
			required = append(required, "data")
		}
		return openapi.Message{Name: op, Summary: summary, Payload: object(props, required)}
	}
	return []openapi.Message{
		change(TypeCreate, "A row was created; data is the row as the REST API renders it.", true),
		change(TypeUpdate, "A row was changed; data is the row as it is now.", true),
		change(TypeDelete, "A row was deleted.", false),
		{Name: TypeInitial, Summary: "The snapshot that answers subscribe: the rows, and the seq of the last event they include.",
			Payload: object(map[string]any{
				"type":     constant(TypeInitial),
				"resource": constant(resource),
				"data":     map[string]any{"type": "array", "items": row, "maxItems": m.cfg.snapshotLimit},
				"more":     moreSchema("More rows matched than it holds: read them from the REST list with the same filter, page after page by the cursor of its Link header (for a numeric key, after the last row with id__gt)."),
				"seq":      seqSchema("The seq of the last event the snapshot includes: the events that follow it come next."),
			}, []any{"type", "resource", "data", "seq"})},
		{Name: TypeReset, Summary: "Resuming is impossible (the events are gone from the history): fetch a fresh snapshot.",
			Payload: object(map[string]any{"type": constant(TypeReset), "resource": constant(resource)}, []any{"type", "resource"})},
		pingDoc(),
		{Name: TypePong, Summary: "The answer to a client's ping.",
			Payload: object(map[string]any{"type": constant(TypePong)}, []any{"type"})},
		{Name: TypeError, Summary: "A client message was bad; the connection stays open.",
			Payload: object(map[string]any{"type": constant(TypeError), "detail": map[string]any{"type": "string"}}, []any{"type", "detail"})},
	}
}

// resourceRequests are the messages the server receives on a resource
// endpoint; see parseRequest.
func (m *Manager) resourceRequests() []openapi.Message {
	return []openapi.Message{
		{Name: TypeSubscribe, Summary: "Asks for a snapshot (an initial message) and narrows the events to its filter.",
			Payload: map[string]any{
				"type":     "object",
				"required": []any{"type"},
				"properties": map[string]any{
					"type": constant(TypeSubscribe),
					"filter": map[string]any{
						"type":                 "object",
						"description":          `Conditions in the CRUD list language: {"price__gt": "10", "name__like": "ap"}.`,
						"additionalProperties": map[string]any{"type": []any{"string", "number", "boolean"}},
					},
					"limit": map[string]any{"type": "integer", "minimum": 1, "maximum": m.cfg.snapshotLimit,
						"description": "The most rows the snapshot may hold."},
				},
			}},
		{Name: TypeUnsubscribe, Summary: "Stops the events until the next subscribe.",
			Payload: map[string]any{"type": "object", "required": []any{"type"}, "properties": map[string]any{"type": constant(TypeUnsubscribe)}}},
		pingDoc(),
	}
}

// pingDoc is the ping message, which goes both ways: the server's
// heartbeat, and a client's question, answered by a pong.
func pingDoc() openapi.Message {
	return openapi.Message{Name: TypePing, Summary: "A heartbeat from the server; from a client, asks for a pong.",
		Payload: object(map[string]any{"type": constant(TypePing)}, []any{"type"})}
}

// moreSchema is the schema of a cut answer's "more", which is left out
// when false.
func moreSchema(description string) map[string]any {
	return map[string]any{"type": "boolean", "const": true, "description": description}
}

// object is the schema of a server message: exactly these properties.
func object(props map[string]any, required []any) map[string]any {
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

func constant(v string) map[string]any { return map[string]any{"type": "string", "const": v} }

func seqSchema(desc string) map[string]any {
	return map[string]any{"type": "integer", "minimum": 0, "description": desc}
}

// HandlerOption configures an endpoint of Manager.Handler.
type HandlerOption func(*customEndpoint)

// Describe documents a custom endpoint in the App's AsyncAPI document:
// its messages (Send: what the handler sends; Receive: what it reads),
// each with a Go value whose type is its payload's schema, and its title
// and description. The channel's ID is the group and its address the
// path App.Handle routes to the endpoint, unless ch sets them. Without
// Describe, the endpoint's messages are opaque: one message each way, of
// no schema. Where PresenceEvents covers the group, the channel also
// sends join and leave.
//
//	app.Handle("/ws/chat", m.Handler("chat", chat, ws.Describe(openapi.Channel{
//		Send:    []openapi.Message{{Name: "line", Payload: ""}},
//		Receive: []openapi.Message{{Name: "say", Payload: ""}},
//	})))
func Describe(ch openapi.Channel) HandlerOption {
	return func(e *customEndpoint) { e.desc = ch }
}

// customEndpoint is the handler of a custom endpoint: an
// easy.ChannelHandler, which App.Handle adds to the AsyncAPI document.
type customEndpoint struct {
	http.Handler
	m     *Manager
	group string
	desc  openapi.Channel
}

// Channel implements easy.ChannelHandler.
func (e *customEndpoint) Channel(address string) (openapi.Channel, []route.Requirement) {
	ch := e.desc
	if ch.ID == "" {
		ch.ID = e.group
	}
	if ch.Address == "" {
		ch.Address = address
	}
	if ch.Title == "" {
		ch.Title = "The custom endpoint " + e.group
	}
	if len(ch.Send) == 0 && len(ch.Receive) == 0 {
		opaque := openapi.Message{Name: "message", Summary: "A message of the endpoint's own protocol, text or binary; not described (see ws.Describe)."}
		ch.Send, ch.Receive = []openapi.Message{opaque}, []openapi.Message{opaque}
	}
	ch.Send = withMessages(ch.Send, e.m.presenceEventDocs(e.group))
	return ch, e.m.requirements()
}
