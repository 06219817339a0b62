package ws

import (
	"slices"

	"github.com/fastapi-easy/easy-go/easy/openapi"
)

// This file describes presence and batched frames in the AsyncAPI
// document. A channel lists the presence messages only where the
// Manager's options turn them on for its group, as elsewhere the server
// answers the question with an error and sends no join or leave: the
// document says what a client of this app gets, not what it might.

// presenceQueryName is the name, in the document, of the client's
// {"type":"presence"}: the server's answer has the same type and goes by
// the name presence, and a channel's message names are unique.
const presenceQueryName = "presenceQuery"

// batchName is the name of the array frame of batch=1.
const batchName = "batch"

// presenceDocs returns the presence messages of group's channel: what the
// server sends (the answer, and join and leave with PresenceEvents) and
// what it receives (the question). Without PresenceQuery or
// PresenceEvents for group there are none.
func (m *Manager) presenceDocs(group string) (send, receive []openapi.Message) {
	p := m.cfg.presence
	if !in(p.query, p.queryGroups, group) && !in(p.events, p.groups, group) {
		return nil, nil
	}
	send = append([]openapi.Message{{
		Name:    TypePresence,
		Summary: "The answer to a presenceQuery: the members of the group, oldest first.",
		Payload: object(map[string]any{
			"type":  constant(TypePresence),
			"group": constant(group),
			"data":  map[string]any{"type": "array", "items": openapi.SchemaOf{V: Member{}}, "maxItems": m.cfg.snapshotLimit},
			"more":  moreSchema("More members are connected than the answer holds: it holds the oldest."),
		}, []any{"type", "group", "data"}),
	}}, m.presenceEventDocs(group)...)
	receive = []openapi.Message{{
		Name:    presenceQueryName,
		Title:   "presence",
		Summary: `Asks who is connected to the group: {"type":"presence"}, answered by a presence message.`,
		Payload: map[string]any{"type": "object", "required": []any{"type"}, "properties": map[string]any{"type": constant(TypePresence)}},
	}}
	return send, receive
}

// presenceEventDocs returns join and leave, when PresenceEvents covers
// group.
func (m *Manager) presenceEventDocs(group string) []openapi.Message {
	if p := m.cfg.presence; !in(p.events, p.groups, group) {
		return nil
	}
	event := func(typ, summary string) openapi.Message {
		return openapi.Message{Name: typ, Summary: summary, Payload: object(map[string]any{
			"type":  constant(typ),
			"group": constant(group),
			"data":  openapi.SchemaOf{V: Member{}},
		}, []any{"type", "group", "data"})}
	}
	return []openapi.Message{
		event(TypeJoin, "A connection joined the group (the receiver too, as it connects, so it learns its ID); data is the member."),
		event(TypeLeave, "A connection left the group; data is the member."),
	}
}

// batchDoc is the frame of a connection that asked for batch=1: several
// of the messages of sent that were queued together, as one JSON array
// in order. A snapshot (initial) and the heartbeat always go alone, and
// one message queued alone goes as itself, so an array holds two or more.
func batchDoc(channel string, sent []openapi.Message) openapi.Message {
	var items []any
	for _, msg := range sent {
		if msg.Name != TypeInitial && msg.Name != TypePing {
			items = append(items, map[string]any{"$ref": "#/channels/" + channel + "/messages/" + msg.Name + "/payload"})
		}
	}
	return openapi.Message{
		Name:    batchName,
		Summary: "With ?batch=1: messages queued together, as one frame holding a JSON array of them, in order.",
		Payload: map[string]any{"type": "array", "minItems": 2, "items": map[string]any{"oneOf": items}},
	}
}

// withMessages returns list with the messages of more whose names it does
// not have yet.
func withMessages(list, more []openapi.Message) []openapi.Message {
	out := slices.Clone(list)
	for _, msg := range more {
		if !slices.ContainsFunc(out, func(o openapi.Message) bool { return o.Name == msg.Name }) {
			out = append(out, msg)
		}
	}
	return out
}
