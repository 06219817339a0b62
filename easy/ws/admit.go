package ws

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/clientaddr"
)

// What a request passes before it becomes a connection, in this order: a
// WebSocket handshake (admit), from an allowed origin, a free slot
// (reserve: MaxConnections, MaxConnectionsPerIP), and authentication.
// The Manager checks the handshake and the origin itself, before
// coder/websocket's Accept, which would refuse with a text/plain body: so
// that every refusal is {"detail": ...}, as every other error of easy.
// Accept then finds nothing to refuse.

// checkHandshake returns the error that refuses r as a WebSocket
// handshake (RFC 6455, section 4.2.1), or nil: 405 for a method other
// than GET, 426 for a request that does not ask to upgrade to websocket,
// 400 for a version other than 13 or a bad Sec-WebSocket-Key.
func checkHandshake(r *http.Request) error {
	if r.Method != http.MethodGet {
		return &problem.HTTPError{Status: http.StatusMethodNotAllowed, Detail: "Method Not Allowed",
			Headers: http.Header{"Allow": {http.MethodGet}}}
	}
	if !r.ProtoAtLeast(1, 1) || !hasToken(r.Header, "Connection", "upgrade") || !hasToken(r.Header, "Upgrade", "websocket") {
		return &problem.HTTPError{Status: http.StatusUpgradeRequired, Detail: "WebSocket upgrade required",
			Headers: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}}}
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		return &problem.HTTPError{Status: http.StatusBadRequest, Detail: "Unsupported WebSocket version: only 13 is supported",
			Headers: http.Header{"Sec-WebSocket-Version": {"13"}}}
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return problem.New(http.StatusBadRequest, "Missing or repeated Sec-WebSocket-Key")
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return problem.New(http.StatusBadRequest, "Invalid Sec-WebSocket-Key: want 16 bytes in base64")
	}
	return nil
}

// hasToken reports whether the comma-separated values of header name hold
// token, in any case.
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// checkOrigin refuses with 403 a browser's request from an origin that is
// neither the request's own host nor one of AllowedOrigins. A request
// without an Origin header does not come from a browser's page, and cannot
// be forged by one, so it passes.
func (m *Manager) checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" || m.anyOrigin {
		return nil
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" {
		if strings.EqualFold(u.Host, r.Host) {
			return nil
		}
		for _, p := range m.cfg.origins {
			target := u.Host
			if strings.Contains(p, "://") {
				target = u.Scheme + "://" + u.Host
			}
			if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
				return nil
			}
		}
	}
	m.log.Debug("ws: foreign origin refused", "origin", origin, "host", r.Host, "remote", r.RemoteAddr)
	return problem.New(http.StatusForbidden, "Origin not allowed")
}

// admit checks that r is a WebSocket handshake from an allowed origin,
// and otherwise writes the refusal and reports false. A malformed
// handshake is a bad request; a foreign origin counts as refused.
func (m *Manager) admit(w http.ResponseWriter, r *http.Request) bool {
	if err := checkHandshake(r); err != nil {
		problem.Write(w, r, m.log, err)
		return false
	}
	if err := m.checkOrigin(r); err != nil {
		m.refuse(w, r, err)
		return false
	}
	return true
}

// reserve takes a connection slot for the client of r, or returns the
// error that refuses one: 503 when the Manager is full or shutting down,
// 429 when the client's address holds its share already. It returns the
// address the slot counts against ("" for none), for unreserve.
func (m *Manager) reserve(r *http.Request) (addr string, err error) {
	if m.ctx.Err() != nil {
		return "", problem.New(http.StatusServiceUnavailable, "Server is shutting down")
	}
	if n := m.slots.Add(1); m.cfg.maxConns > 0 && n > int64(m.cfg.maxConns) {
		m.slots.Add(-1)
		return "", problem.New(http.StatusServiceUnavailable, "Too many connections")
	}
	if m.cfg.maxConnsPerIP == 0 {
		return "", nil
	}
	if addr = clientAddr(r.RemoteAddr); addr == "" {
		return "", nil
	}
	m.addrMu.Lock()
	defer m.addrMu.Unlock()
	if m.perAddr[addr] >= m.cfg.maxConnsPerIP {
		m.slots.Add(-1)
		return "", problem.New(http.StatusTooManyRequests, "Too many connections from this address")
	}
	m.perAddr[addr]++
	return addr, nil
}

// unreserve gives back a slot that reserve took.
func (m *Manager) unreserve(addr string) {
	m.slots.Add(-1)
	if addr == "" {
		return
	}
	m.addrMu.Lock()
	defer m.addrMu.Unlock()
	if m.perAddr[addr]--; m.perAddr[addr] <= 0 {
		delete(m.perAddr, addr)
	}
}

// clientAddr names the client of a connection for MaxConnectionsPerIP:
// its IPv4 address, or the /64 network of its IPv6 address, which one
// host usually has whole. It returns "" for no cap: for an address that
// is no IP (a Unix socket), and for a loopback address, which is the
// machine itself: a reverse proxy on the same host, say, whose clients
// would otherwise share its one address.
func clientAddr(remote string) string {
	ip, ok := clientaddr.Parse(remote)
	if !ok || ip.IsLoopback() {
		return ""
	}
	return clientaddr.Key(ip)
}

// authenticate runs the Authenticate hook: the context that the row
// policies read and the principal. An error that carries no status of its
// own is a 403 that does not show its text.
func (m *Manager) authenticate(r *http.Request) (context.Context, any, error) {
	if m.cfg.authenticate == nil {
		return r.Context(), nil, nil
	}
	ctx, p, err := m.cfg.authenticate(r)
	if err == nil {
		return ctx, p, nil
	}
	return nil, nil, m.hide(r, "authentication", err)
}

// hide turns an error without a status of its own into a 403 that does
// not show its text, logging it.
func (m *Manager) hide(r *http.Request, what string, err error) error {
	if problem.Status(err) == http.StatusInternalServerError {
		m.log.Debug("ws: "+what+" failed", "remote", r.RemoteAddr, "error", err)
		return problem.New(http.StatusForbidden, "Forbidden")
	}
	return err
}

func (m *Manager) refuse(w http.ResponseWriter, r *http.Request, err error) {
	m.stats.refused.Add(1)
	m.obs.refuse(refusal(err))
	problem.Write(w, r, m.log, err)
}
