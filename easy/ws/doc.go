// Package ws pushes the committed changes of a resource to WebSocket
// clients, serves custom WebSocket endpoints, and holds a Go client with
// reconnect and resume.
//
// In an easy App, Setup watches models with the default options; to set
// options, make the Manager with NewManager and call Watch:
//
//	ws.Setup(app, Item{}) // /ws/items: every committed write to items
//
//	m := ws.NewManager(ws.Heartbeat(10*time.Second), ws.MaxConnections(5000))
//	m.Watch(app, Item{}, Order{})
//
// A Manager owns the connections of an application. Change capture calls
// Publish after each commit; every client connected to the resource's
// endpoint receives the event. Without an App, or for rows that are not
// GORM models, a Manager serves resources that the application publishes
// itself:
//
//	m := ws.NewManager()
//	m.AddResource("items", source) // source reads snapshots; see Source
//	mux.Handle("/ws/{resource}", m)
//	...
//	m.Publish("items", ws.Change{Op: "create", Key: 1, Row: &item, Data: itemJSON})
//	...
//	m.Shutdown(ctx) // closes every connection with 1001
//
// # Protocol
//
// Text frames, one JSON object each. The server sends
//
//	{"type":"create","resource":"items","id":1,"data":{...},"seq":41}
//	{"type":"update","resource":"items","id":1,"data":{...},"seq":42}
//	{"type":"delete","resource":"items","id":1,"seq":43}
//	{"type":"initial","resource":"items","data":[...],"seq":43}  the answer to subscribe ("more":true before seq: cut at its limit)
//	{"type":"ping"}                                              heartbeat
//	{"type":"pong"}                                              the answer to a client's ping
//	{"type":"error","detail":"..."}                              a bad client message; the connection stays open
//	{"type":"reset","resource":"items"}                          resume is impossible: subscribe again
//
// and the client may send
//
//	{"type":"subscribe","filter":{"price__gt":"10"},"limit":100}  a snapshot, then only matching events
//	{"type":"unsubscribe"}                                        no events until the next subscribe
//	{"type":"ping"}
//	{"type":"presence"}                                           who is connected (with PresenceQuery)
//
// With ?batch=1 on connect, the messages queued together arrive as one
// frame holding a JSON array of them, in order (see DialBatch). With
// PresenceEvents, a group's connections get {"type":"join"} and
// {"type":"leave"} with the member in data.
//
// A client receives every event published after its handshake completed;
// it subscribes only to get a snapshot or to narrow the stream. seq rises by one per
// event of a resource, starting from the time its log began in
// microseconds, so that the seqs of a lost log are never mistaken for
// those of a new one. With the outbox (the default on SQLite and
// PostgreSQL, see NoOutbox) the events are written to the resource's
// outbox table (easy_outbox_items for items) in the writer's
// transaction, so the log, its seqs and the history survive a restart
// and a crash. After an initial message with seq S the client receives
// exactly the events after S that pass its filter, each once, whatever is
// published meanwhile. A client that reconnects with
// ?since=SEQ gets the events after SEQ from a bounded history, or a reset.
//
// A subscriber's view is the rows that pass its filter and the Authorize
// hook. It receives an update when the new row matches, and a delete (with
// the update's seq) when an update takes a row it holds out of its view.
// What it holds is known from its snapshot and the events since; a
// connection that read no snapshot (?filter= on connect, or a resume) gets
// a delete for every update it may see that fails its filter, since it
// may hold that row, and so does one whose snapshot was cut ("more", the
// rest read from the REST list) for the rows past the cut. A row outside
// what the client may see is never named to it unless it held it.
//
// Close codes: 1000 normal, 1001 shutdown, 1008 rate limit or expired
// authorisation, 1009 message too big, 1011 internal error, 1013 a client
// too slow to follow (its send queue holds SendQueueBytes). Refusals
// before the upgrade are JSON, {"detail": ...}: 405, 426 or 400 for a
// request that is no WebSocket handshake, 403 for a foreign Origin or a
// failed authentication, 429 for a client address over
// MaxConnectionsPerIP, 503 for a connection over MaxConnections.
//
// # Server-Sent Events
//
// Watch also serves each resource at /sse/{resource} (see SSEPrefix and
// ServeSSE): the same messages as Server-Sent Events, for EventSource and
// where a WebSocket does not pass. The id of an event is its seq, so that
// EventSource's Last-Event-ID resumes; the query asks what a WebSocket
// client would send (?snapshot=1&filter=...&limit=N); a heartbeat is a
// comment; a close is a last event named "close". An SSE connection is a
// Conn with the same checks, limits, fan-out and send queue; only its
// writing differs (sse.go), and its HTTP handler waits for it to close.
//
// # The AsyncAPI document
//
// Watch adds a channel per resource to the App's AsyncAPI document
// (/asyncapi.json): every message above with its payload schema, the
// model's schema being the OpenAPI document's, and the security schemes
// of Secure; presence, join and leave where PresenceQuery and
// PresenceEvents turn them on; the batch query parameter and its array
// frame. An endpoint of Handler given to App.Handle is a channel too,
// whose messages Describe documents. docs/realtime.md shows it.
//
// # Several instances
//
// With ShareVia (or REDIS_URL under Watch) the instances of an
// application share one log per resource in a Broker: Publish queues the
// events for the resource's publisher goroutine, which appends them to the
// log, and the resource's reader goroutine hands every entry of the log,
// whichever instance appended it, to the fan-out. The broker numbers the
// entries, so that seq, history and resume are the same on every
// instance. docs/scaling.md states the guarantees. A broker that also
// implements Channels carries Broadcast, BroadcastAll, Send and SendTo to
// every instance, and one that implements PresenceStore keeps the
// presence of every group for all of them.
//
// # Goroutines
//
// Publish only numbers and records events; each resource has one fan-out
// goroutine, owned by the Manager and stopped by Shutdown, that queues
// them to the connections. Events of change capture are encoded when first
// sent, on that goroutine; with nobody following the resource, Publish
// marks them handed out itself and nothing is woken.
//
// A subscribe is answered on the connection's reader goroutine, so a
// connection reads one snapshot at a time; MaxSnapshots bounds how many
// the Manager reads at once.
//
// Each connection has a bounded send queue, allocated as it fills; a
// reader goroutine, started by the HTTP handler, which returns once the
// connection is upgraded so that its stack and request are freed; and a
// writer goroutine that runs only while there is something to write: it
// is started when the queue gets a message, when a heartbeat is due (a
// timer, and a short-lived goroutine waits for each pong) and when the
// connection starts to close, and returns when it has nothing left, or
// once it has closed the socket. The reader waits for that and releases
// the connection. An idle connection thus costs one goroutine.
package ws
