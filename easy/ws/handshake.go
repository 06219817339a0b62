package ws

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// The Manager checks the handshake and the Origin itself, before
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
