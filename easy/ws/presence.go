package ws

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// The messages of presence. With PresenceQuery (or PresenceEvents), a
// client of a resource endpoint sends {"type":"presence"} and gets the
// members of its resource; with PresenceEvents, the connections of a
// group get join and leave.
const (
	TypePresence = "presence" // client: asks who is connected; server: the answer, data holds the members
	TypeJoin     = "join"     // server: a connection joined the group; data is the member
	TypeLeave    = "leave"    // server: a connection left the group; data is the member
)

// Member is one connection of a group, as presence reports it.
type Member struct {
	ID        string    `json:"id" required:"true"`    // the connection's ID, for Manager.Send
	Principal string    `json:"principal,omitempty"`   // its principal's name (see PrincipalName); absent when anonymous
	Since     time.Time `json:"since" required:"true"` // when it connected
	Group     string    `json:"group" required:"true"` // the resource or custom group
	Instance  string    `json:"instance,omitempty"`    // the instance that holds it, with a broker
}

// PresenceStore is implemented by a Broker that keeps the members of
// every group for all the instances that share it, so that presence is
// the same on each. RedisBroker and MemoryBroker implement it. Each
// instance beats; the members of an instance that has not beaten for the
// timeout (it died, or lost the broker) are removed by the next instance
// that beats, and their leave events sent.
type PresenceStore interface {
	// Join adds m to its group.
	Join(ctx context.Context, m Member) error
	// Leave removes m from its group.
	Leave(ctx context.Context, m Member) error
	// Beat records that instance is alive now, and removes every
	// instance that has not beaten for timeout with its members, which
	// it returns: each removed member to one caller only. fresh reports
	// that instance was not known: its first beat, or one after it was
	// removed, after which it joins its members again.
	Beat(ctx context.Context, instance string, timeout time.Duration) (gone []Member, fresh bool, err error)
	// Forget removes instance and its members, which it returns.
	Forget(ctx context.Context, instance string) ([]Member, error)
	// Members returns the members of group held by instances that have
	// beaten within timeout.
	Members(ctx context.Context, group string, timeout time.Duration) ([]Member, error)
}

type presenceConfig struct {
	events      bool
	groups      []string // with events: the groups that get them; none for all
	query       bool
	queryGroups []string // with query: the groups whose clients may ask; none for all
	timeout     time.Duration
}

// in reports whether on, with its list of groups (none for all), covers
// group.
func in(on bool, groups []string, group string) bool {
	return on && (len(groups) == 0 || slices.Contains(groups, group))
}

// PresenceEvents makes the connections of the given groups (resources
// or custom groups; every group when none is given) receive
// {"type":"join","group":...,"data":MEMBER} when a connection joins
// their group, themselves included, and {"type":"leave",...} when one
// leaves; across instances with a broker. Their clients may also ask who
// is connected, as with PresenceQuery. Each join or leave is a message to
// every member of the group, so it is off by default: turn it on for
// groups of tens or hundreds, such as a chat room or a document's editors.
func PresenceEvents(groups ...string) Option {
	return func(c *config) {
		c.presence.events = true
		c.presence.groups = slices.Clone(groups)
	}
}

// PresenceQuery lets the clients of the given resource endpoints (every
// one when none is given) ask who is connected to theirs with
// {"type":"presence"}. It is off by default, as the answer names the
// principals of everyone connected; without it the question gets an error
// message. Manager.Presence answers Go code whatever the options.
func PresenceQuery(resources ...string) Option {
	return func(c *config) {
		c.presence.query = true
		c.presence.queryGroups = slices.Clone(resources)
	}
}

// PresenceTimeout sets how long an instance may go without beating
// before the other instances remove its members (with a leave event
// each): the bound on how long a dead instance's connections still show
// as present. Each instance beats three times per timeout. It applies
// only with a broker that implements PresenceStore. The default is 15
// seconds.
func PresenceTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < 30*time.Millisecond {
			panic(fmt.Sprintf("ws: PresenceTimeout(%v): want at least 30ms", d))
		}
		c.presence.timeout = d
	}
}

// PrincipalName sets how a connection's principal is named, for SendTo
// and presence. By default a string principal is its own name, one with
// a GetSubject() (string, error) method (JWT claims, such as those of
// easy/security) is named by its subject, and a fmt.Stringer by String;
// any other principal, or nil, is anonymous.
func PrincipalName(fn func(principal any) string) Option {
	if fn == nil {
		panic("ws: PrincipalName(nil)")
	}
	return func(c *config) { c.principalName = fn }
}

func (m *Manager) principalName(p any) string {
	if fn := m.cfg.principalName; fn != nil {
		return fn(p)
	}
	switch p := p.(type) {
	case string:
		return p
	case interface{ GetSubject() (string, error) }:
		s, _ := p.GetSubject()
		return s
	case fmt.Stringer:
		return p.String()
	}
	return ""
}

func (c *Conn) member() Member {
	return Member{ID: c.id, Principal: c.name, Since: c.connectedAt.UTC(), Group: c.group, Instance: instanceOf(c.id)}
}

func (m *Manager) presenceTimeout() time.Duration {
	return cmp.Or(m.cfg.presence.timeout, 15*time.Second)
}

// joined makes c a member of its group: in the broker's store, and to the
// group's connections when they get events.
func (m *Manager) joined(c *Conn) {
	mem := c.member()
	if s := m.sharing(); s != nil && s.ps != nil {
		s.do(m, func(ctx context.Context) error { return s.ps.Join(ctx, mem) })
	}
	m.announce(TypeJoin, mem)
}

// left is joined's opposite, once c is unregistered.
func (m *Manager) left(c *Conn) {
	mem := c.member()
	if s := m.sharing(); s != nil && s.ps != nil {
		s.do(m, func(ctx context.Context) error { return s.ps.Leave(ctx, mem) })
	}
	m.announce(TypeLeave, mem)
}

// announce sends a join or leave of mem to its group, when it gets them.
func (m *Manager) announce(typ string, mem Member) {
	if p := m.cfg.presence; !in(p.events, p.groups, mem.Group) {
		return
	}
	b, err := encode(struct {
		Type  string `json:"type"`
		Group string `json:"group"`
		Data  Member `json:"data"`
	}{typ, mem.Group, mem})
	if err != nil {
		m.log.Error("ws: presence event not encoded", "error", err)
		return
	}
	m.Broadcast(mem.Group, b)
}

// Presence returns the members of group (a resource or a custom group),
// oldest first: on every instance with a broker that implements
// PresenceStore (this instance's exactly, the others' as the broker has
// them), else on this one.
func (m *Manager) Presence(ctx context.Context, group string) ([]Member, error) {
	m.mu.RLock()
	members := make([]Member, 0, len(m.groups[group]))
	for c := range m.groups[group] {
		members = append(members, c.member())
	}
	m.mu.RUnlock()
	if s := m.sharing(); s != nil && s.ps != nil {
		all, err := s.ps.Members(ctx, group, m.presenceTimeout())
		if err != nil {
			return nil, fmt.Errorf("ws: presence of %s: %w", group, err)
		}
		for _, mem := range all {
			if mem.Instance != s.instance {
				members = append(members, mem)
			}
		}
	}
	slices.SortFunc(members, func(a, b Member) int {
		return cmp.Or(a.Since.Compare(b.Since), strings.Compare(a.ID, b.ID))
	})
	return members, nil
}

// PresenceMessage returns the answer to {"type":"presence"} for group:
// {"type":"presence","group":...,"data":[MEMBER...]}, with at most
// SnapshotLimit members, the oldest, and "more":true when there are more.
// A custom endpoint sends it to offer the query in its own protocol.
func (m *Manager) PresenceMessage(ctx context.Context, group string) ([]byte, error) {
	members, err := m.Presence(ctx, group)
	if err != nil {
		return nil, err
	}
	more := len(members) > m.cfg.snapshotLimit
	members = members[:min(len(members), m.cfg.snapshotLimit)]
	return encode(struct {
		Type  string   `json:"type"`
		Group string   `json:"group"`
		Data  []Member `json:"data"`
		More  bool     `json:"more,omitempty"`
	}{TypePresence, group, members, more})
}

// answerPresence answers a client's presence message on a resource
// endpoint; the broker has a few seconds to answer.
func (m *Manager) answerPresence(c *Conn) {
	if p := m.cfg.presence; !in(p.query, p.queryGroups, c.group) && !in(p.events, p.groups, c.group) {
		c.enqueue(errorMessage("presence is not shown on this endpoint"))
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, syncTimeout)
	defer cancel()
	msg, err := m.PresenceMessage(ctx, c.group)
	if err != nil {
		if c.ctx.Err() == nil {
			m.log.Error("ws: presence failed", "group", c.group, "error", err)
			c.enqueue(errorMessage("presence is unavailable: try again later"))
		}
		return
	}
	c.enqueue(msg)
}

// beat runs while the sharing does: it beats for this instance, sends
// the leaves of the members of instances that stopped beating, and joins
// this instance's members again when the store had forgotten it.
func (s *sharing) beat(m *Manager) {
	timeout := m.presenceTimeout()
	t := time.NewTicker(timeout / 3)
	defer t.Stop()
	failed := false
	for {
		ctx, cancel := context.WithTimeout(s.ctx, min(syncTimeout, timeout/3))
		gone, fresh, err := s.ps.Beat(ctx, s.instance, timeout)
		cancel()
		switch {
		case s.ctx.Err() != nil:
			return
		case err != nil:
			if !failed {
				m.log.Error("ws: presence beat failed: other instances drop this one's members once it times out", "error", err)
			}
			failed = true
		default:
			failed = false
			for _, mem := range gone {
				m.announce(TypeLeave, mem)
			}
			if fresh {
				m.rejoin(s)
			}
		}
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rejoin adds every connection here to the store again.
func (m *Manager) rejoin(s *sharing) {
	m.mu.RLock()
	members := make([]Member, 0, len(m.conns))
	for _, c := range m.conns {
		members = append(members, c.member())
	}
	m.mu.RUnlock()
	for _, mem := range members {
		// A connection that has left since is not joined again: its
		// leave, queued after it unregistered, comes after this.
		s.do(m, func(ctx context.Context) error {
			if m.conn(mem.ID) == nil {
				return nil
			}
			return s.ps.Join(ctx, mem)
		})
	}
}

// AskPresence sends {"type":"presence"}: the answer arrives as a presence
// Event, whose Data decodes into a []Member. It returns ErrNotConnected
// while the client reconnects.
func (c *Client) AskPresence(ctx context.Context) error {
	c.mu.Lock()
	conn, stopped := c.conn, c.closed || c.err != nil
	c.mu.Unlock()
	switch {
	case stopped:
		return ErrClosed
	case conn == nil:
		return ErrNotConnected
	}
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"presence"}`)); err != nil {
		return fmt.Errorf("ws: presence: %w", err)
	}
	return nil
}
