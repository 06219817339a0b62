package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/swaggest/jsonschema-go"
	"github.com/swaggest/openapi-go/openapi31"
)

// AsyncAPIVersion is the version of the AsyncAPI specification the
// realtime document follows.
const AsyncAPIVersion = "3.0.0"

// AsyncAPI is the AsyncAPI 3.0 document of an app's realtime API: its
// channels (the WebSocket and Server-Sent Events endpoints), the messages
// each carries, what the server sends and receives on them, its servers
// and their security schemes. It is built on a Spec, the OpenAPI document
// of the same app, and shares its schemas: a payload's Go types are
// reflected by the same reflector under the same names, so the Item of a
// message's data is the Item component of the OpenAPI document, and its
// security schemes are the Spec's. It is safe for concurrent use.
type AsyncAPI struct {
	spec *Spec
	info Info

	mu       sync.Mutex
	channels []Channel
	docs     string // the path of the OpenAPI docs page, for a link; "" for none
}

// Channel describes one realtime endpoint for the AsyncAPI document.
type Channel struct {
	// ID is the channel's key in the document, unique in it and made of
	// letters, digits, '.', '-' and '_': "items", "items.sse", "chat".
	ID string
	// Address is the endpoint's path, such as /ws/items.
	Address string
	// Protocol is "ws" for a WebSocket endpoint (the default) or "sse" for
	// Server-Sent Events; it chooses the server the channel is on.
	Protocol string
	// Title, Summary and Description document the channel.
	Title       string
	Summary     string
	Description string
	// Query, when not nil, is the JSON Schema of an object whose
	// properties are the query parameters of the endpoint's handshake
	// (the query of its WebSocket or HTTP binding).
	Query map[string]any
	// Send are the messages the server sends on the channel, Receive
	// those it receives from clients. A name in both lists is one
	// message that goes either way (a ping); the first describes it.
	Send    []Message
	Receive []Message
	// Security names the schemes of the Spec (Spec.AddSecurityScheme)
	// that a client must satisfy to connect.
	Security []Security
}

// Message describes one kind of message of a channel.
type Message struct {
	// Name is the message's key in its channel: "create", "ping".
	Name    string
	Title   string
	Summary string
	// Description says more, in CommonMark.
	Description string
	// ContentType is the payload's media type: application/json when
	// empty; text/plain for a string payload.
	ContentType string
	// Payload is the payload's schema: a Go value whose type is reflected
	// as the Spec reflects bodies (a struct becomes a component named as
	// in the OpenAPI document), or a JSON Schema as a map, in which a
	// value of type SchemaOf is replaced by the schema of its Go value.
	Payload any
	// Examples are payloads as they are sent, each valid JSON.
	Examples []json.RawMessage
}

// SchemaOf stands, inside a JSON Schema written as a map (Message.Payload,
// Channel.Query), for the schema of the Go value V: a reference to its
// component when V is a struct, such as a model.
type SchemaOf struct{ V any }

// NewAsyncAPI returns an AsyncAPI document without channels, sharing the
// schemas and security schemes of spec and described by info. A server
// URL of info (the first) gives the servers' host; without one, each
// request's host does, as the client that asks is the one that connects.
func NewAsyncAPI(spec *Spec, info Info) *AsyncAPI {
	if info.Title == "" {
		info.Title = "easy"
	}
	if info.Version == "" {
		info.Version = "0.1.0"
	}
	return &AsyncAPI{spec: spec, info: info}
}

var (
	channelID     = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	addressParams = regexp.MustCompile(`\{([A-Za-z0-9_]+)(?::[^}]*)?\}`)
)

// AddChannel adds ch to the document. A channel ID that is malformed or
// taken, a message name that is empty or repeated, or an unknown protocol
// is an error: a mistake of setup.
func (a *AsyncAPI) AddChannel(ch Channel) error {
	if !channelID.MatchString(ch.ID) {
		return fmt.Errorf("asyncapi: channel ID %q: use letters, digits, '.', '-' and '_'", ch.ID)
	}
	if ch.Protocol == "" {
		ch.Protocol = "ws"
	}
	if ch.Protocol != "ws" && ch.Protocol != "sse" {
		return fmt.Errorf("asyncapi: channel %s: protocol %q is neither ws nor sse", ch.ID, ch.Protocol)
	}
	if !strings.HasPrefix(ch.Address, "/") {
		return fmt.Errorf("asyncapi: channel %s: address %q is not a path", ch.ID, ch.Address)
	}
	ch.Address = addressParams.ReplaceAllString(ch.Address, "{$1}") // chi's {id:[0-9]+} is {id}
	for _, list := range [][]Message{ch.Send, ch.Receive} {
		seen := map[string]bool{}
		for _, m := range list {
			if !channelID.MatchString(m.Name) {
				return fmt.Errorf("asyncapi: channel %s: message name %q: use letters, digits, '.', '-' and '_'", ch.ID, m.Name)
			}
			if seen[m.Name] {
				return fmt.Errorf("asyncapi: channel %s: message %q twice", ch.ID, m.Name)
			}
			seen[m.Name] = true
			for _, ex := range m.Examples {
				if !json.Valid(ex) {
					return fmt.Errorf("asyncapi: channel %s: message %s: an example is not valid JSON", ch.ID, m.Name)
				}
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if slices.ContainsFunc(a.channels, func(c Channel) bool { return c.ID == ch.ID }) {
		return fmt.Errorf("asyncapi: channel ID %q is taken", ch.ID)
	}
	a.channels = append(a.channels, ch)
	return nil
}

// Channels returns how many channels the document has.
func (a *AsyncAPI) Channels() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.channels)
}

// LinkDocs makes the document's info link to the OpenAPI docs page at url.
func (a *AsyncAPI) LinkDocs(url string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.docs = url
}

// ExternalDocs links the document to more documentation at url, such as
// the page of the realtime API's AsyncAPI document.
func (s *Spec) ExternalDocs(description, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rendered, s.yaml = nil, nil
	s.reflector.Spec.WithExternalDocs(openapi31.ExternalDocumentation{Description: &description, URL: url})
}

// Document renders the document for a client of r, whose host and
// scheme give the servers' unless the Info named a server URL; the
// relative URLs of the OpenAPI document (an OAuth 2 token URL, say) are
// resolved against it, as AsyncAPI wants them absolute.
func (a *AsyncAPI) Document(r *http.Request) (map[string]any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	host, tls, pathname := "localhost", false, ""
	if r != nil && r.Host != "" {
		host, tls = r.Host, r.TLS != nil
	}
	if len(a.info.Servers) > 0 {
		if u, err := url.Parse(a.info.Servers[0]); err == nil && u.Host != "" {
			host, tls, pathname = u.Host, u.Scheme == "https" || u.Scheme == "wss", strings.TrimSuffix(u.Path, "/")
		}
	}
	base := &url.URL{Scheme: "http", Host: host, Path: pathname + "/"}
	if tls {
		base.Scheme = "https"
	}
	doc, err := a.render(base)
	if err != nil {
		return nil, err
	}
	doc["servers"] = a.servers(host, tls, pathname)
	return doc, nil
}

// MarshalRequest renders the document for r as JSON.
func (a *AsyncAPI) MarshalRequest(r *http.Request) ([]byte, error) {
	doc, err := a.Document(r)
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// YAMLRequest renders the document for r as YAML.
func (a *AsyncAPI) YAMLRequest(r *http.Request) ([]byte, error) {
	b, err := a.MarshalRequest(r)
	if err != nil {
		return nil, err
	}
	if b, err = jsonToYAML(b); err != nil {
		return nil, fmt.Errorf("asyncapi: %w", err)
	}
	return b, nil
}

// serverKey names the server of a channel's protocol.
func serverKey(protocol string) string {
	if protocol == "sse" {
		return "http"
	}
	return "websocket"
}

// servers describes where the channels are served, under a.mu: a
// WebSocket server, and an HTTP one for the Server-Sent Events channels.
func (a *AsyncAPI) servers(host string, tls bool, pathname string) map[string]any {
	protocols := map[string]bool{}
	for _, ch := range a.channels {
		protocols[ch.Protocol] = true
	}
	out := map[string]any{}
	for p := range protocols {
		s := map[string]any{"host": host}
		if pathname != "" {
			s["pathname"] = pathname
		}
		switch {
		case p == "sse" && tls:
			s["protocol"], s["description"] = "https", "Server-Sent Events (text/event-stream) over HTTPS."
		case p == "sse":
			s["protocol"], s["description"] = "http", "Server-Sent Events (text/event-stream) over HTTP."
		case tls:
			s["protocol"], s["description"] = "wss", "WebSocket over TLS; every message is a JSON text frame."
		default:
			s["protocol"], s["description"] = "ws", "WebSocket; every message is a JSON text frame."
		}
		out[serverKey(p)] = s
	}
	return out
}

// render builds the document without its servers, under a.mu. It
// reflects the payloads now rather than when their channels were added,
// so that the type mappings the routers add later count, as they do in
// the OpenAPI document. It is not cached: the document depends on the
// client's host, and is read rarely.
func (a *AsyncAPI) render(base *url.URL) (map[string]any, error) {
	r := &renderer{spec: a.spec, base: base, schemas: map[string]any{}, schemes: map[string]any{}}
	channels, operations := map[string]any{}, map[string]any{}
	for _, ch := range a.channels {
		b, err := r.binding(ch)
		if err != nil {
			return nil, fmt.Errorf("asyncapi: channel %s: %w", ch.ID, err)
		}
		c, err := r.channel(ch, b)
		if err != nil {
			return nil, fmt.Errorf("asyncapi: channel %s: %w", ch.ID, err)
		}
		channels[ch.ID] = c
		sec, err := r.security(ch.Security)
		if err != nil {
			return nil, fmt.Errorf("asyncapi: channel %s: %w", ch.ID, err)
		}
		for _, op := range []struct {
			action string
			msgs   []Message
		}{{"send", ch.Send}, {"receive", ch.Receive}} {
			if len(op.msgs) == 0 {
				continue
			}
			refs := make([]any, len(op.msgs))
			for i, m := range op.msgs {
				refs[i] = ref("#/channels/" + ch.ID + "/messages/" + m.Name)
			}
			o := map[string]any{
				"action":   op.action,
				"channel":  ref("#/channels/" + ch.ID),
				"messages": refs,
				"summary":  operationSummary(op.action, ch),
			}
			if len(sec) > 0 {
				o["security"] = sec
			}
			if ch.Protocol == "sse" {
				o["bindings"] = map[string]any{"http": b}
			}
			operations[ch.ID+"."+op.action] = o
		}
	}
	info := map[string]any{"title": a.info.Title, "version": a.info.Version}
	desc := a.info.Description
	if desc == "" {
		desc = "The realtime API of " + a.info.Title + ": its channels, and the messages sent and received on each."
	}
	info["description"] = desc
	if a.docs != "" {
		info["externalDocs"] = map[string]any{"description": "The HTTP API (OpenAPI)", "url": r.absolute(a.docs)}
	}
	doc := map[string]any{
		"asyncapi":           AsyncAPIVersion,
		"info":               info,
		"defaultContentType": "application/json",
		"channels":           channels,
		"operations":         operations,
	}
	comp := map[string]any{}
	if len(r.schemas) > 0 {
		comp["schemas"] = r.schemas
	}
	if len(r.schemes) > 0 {
		comp["securitySchemes"] = r.schemes
	}
	if len(comp) > 0 {
		doc["components"] = comp
	}
	return doc, nil
}

func operationSummary(action string, ch Channel) string {
	if action == "send" {
		return "What the server sends on " + ch.Address
	}
	return "What the server receives on " + ch.Address
}

// absolute resolves a URL of the app against where the client reached it.
func (r *renderer) absolute(u string) string {
	ref, err := url.Parse(u)
	if err != nil {
		return u
	}
	return r.base.ResolveReference(ref).String()
}

func ref(to string) map[string]any { return map[string]any{"$ref": to} }

// renderer builds a document's parts, collecting the components they
// refer to.
type renderer struct {
	spec    *Spec
	base    *url.URL       // where the client reached the document, for absolute URLs
	schemas map[string]any // components.schemas
	schemes map[string]any // components.securitySchemes
}

// channel renders ch; b is its handshake's binding.
func (r *renderer) channel(ch Channel, b map[string]any) (map[string]any, error) {
	c := map[string]any{
		"address": ch.Address,
		"servers": []any{ref("#/servers/" + serverKey(ch.Protocol))},
	}
	for k, v := range map[string]string{"title": ch.Title, "summary": ch.Summary, "description": ch.Description} {
		if v != "" {
			c[k] = v
		}
	}
	if ps := addressParams.FindAllStringSubmatch(ch.Address, -1); len(ps) > 0 {
		params := map[string]any{}
		for _, p := range ps {
			params[p[1]] = map[string]any{"description": "The path parameter " + p[1] + "."}
		}
		c["parameters"] = params
	}
	msgs := map[string]any{}
	for _, m := range slices.Concat(ch.Send, ch.Receive) {
		if _, ok := msgs[m.Name]; ok {
			continue // in both lists: one message, sent either way
		}
		msg, err := r.message(m)
		if err != nil {
			return nil, fmt.Errorf("message %s: %w", m.Name, err)
		}
		msgs[m.Name] = msg
	}
	if len(msgs) > 0 {
		c["messages"] = msgs
	}
	if ch.Protocol == "ws" {
		c["bindings"] = map[string]any{"ws": b}
	}
	return c, nil
}

// binding is the handshake of ch: a GET with its query parameters. It is
// the WebSocket channel binding of a ws channel, and the HTTP operation
// binding of an sse channel's operations.
func (r *renderer) binding(ch Channel) (map[string]any, error) {
	b := map[string]any{"method": "GET", "bindingVersion": "0.1.0"}
	if ch.Protocol == "sse" {
		b["bindingVersion"] = "0.3.0"
	}
	if ch.Query != nil {
		q, err := r.schema(ch.Query)
		if err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		b["query"] = q
	}
	return b, nil
}

func (r *renderer) message(m Message) (map[string]any, error) {
	msg := map[string]any{"name": m.Name}
	for k, v := range map[string]string{"title": m.Title, "summary": m.Summary, "description": m.Description, "contentType": m.ContentType} {
		if v != "" {
			msg[k] = v
		}
	}
	if m.Payload != nil {
		p, err := r.schema(m.Payload)
		if err != nil {
			return nil, err
		}
		msg["payload"] = p
		if _, ok := msg["contentType"]; !ok && p["type"] == "string" {
			msg["contentType"] = "text/plain"
		}
	}
	if len(m.Examples) > 0 {
		ex := make([]any, len(m.Examples))
		for i, e := range m.Examples {
			var v any
			if err := json.Unmarshal(e, &v); err != nil {
				return nil, fmt.Errorf("example: %w", err)
			}
			ex[i] = map[string]any{"payload": v}
		}
		msg["examples"] = ex
	}
	return msg, nil
}

// schema is the JSON Schema of v: a map as it is, with its SchemaOf
// values reflected, or v's type reflected.
func (r *renderer) schema(v any) (map[string]any, error) {
	if m, ok := v.(map[string]any); ok {
		out, err := r.resolve(m)
		if err != nil {
			return nil, err
		}
		return out.(map[string]any), nil
	}
	return r.reflect(v)
}

// resolve copies a JSON Schema written as a map, replacing each SchemaOf.
func (r *renderer) resolve(v any) (any, error) {
	switch v := v.(type) {
	case SchemaOf:
		return r.reflect(v.V)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			y, err := r.resolve(x)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			y, err := r.resolve(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}
	return v, nil
}

// reflect reflects v's type with the Spec's reflector, so that a struct
// is a reference to the component the OpenAPI document names the same.
func (r *renderer) reflect(v any) (map[string]any, error) {
	s := r.spec
	s.mu.Lock()
	defer s.mu.Unlock()
	var failed error
	sch, err := s.reflector.Reflect(v,
		jsonschema.RootRef,
		jsonschema.DefinitionsPrefix("#/components/schemas/"),
		jsonschema.CollectDefinitions(func(name string, d jsonschema.Schema) {
			m, err := d.ToSchemaOrBool().ToSimpleMap()
			if err != nil {
				failed = err
				return
			}
			r.schemas[name] = m
		}),
	)
	if err == nil {
		err = failed
	}
	if err != nil {
		return nil, fmt.Errorf("reflect %s: %w", reflect.TypeOf(v), err)
	}
	return sch.ToSchemaOrBool().ToSimpleMap()
}
