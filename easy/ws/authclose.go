package ws

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// CloseOnAuthFailure makes the WebSocket endpoints accept the handshake
// of a request whose authentication fails (Authenticate, Secure, or the
// row policy of Policy refusing with 401 or 403) and close the connection
// at once with 1008 and the refusal's detail as the reason ("Not
// authenticated"), instead of answering 401 or 403 before the upgrade. A
// browser's WebSocket does not show the status of a refused handshake,
// only that the connection failed, which a client cannot tell from a
// server that is down, and retries; a close code and reason it can read:
// the JavaScript client stops on 1008 and reports the reason. Other
// refusals (a foreign origin, too many connections) are still answered
// before the upgrade. SSE endpoints always answer with the status and its
// {"detail": ...} body, which fetch can read.
func CloseOnAuthFailure() Option { return func(c *config) { c.authClose = true } }

// closeRefused refuses a WebSocket handshake whose authentication failed:
// before the upgrade, or after it with 1008 under CloseOnAuthFailure. The
// close handshake runs on the request's goroutine, which holds the
// client's slot meanwhile; coder/websocket bounds its wait for the peer.
func (m *Manager) closeRefused(w http.ResponseWriter, r *http.Request, err error) {
	status := problem.Status(err)
	if !m.cfg.authClose || status != http.StatusUnauthorized && status != http.StatusForbidden {
		m.refuse(w, r, err)
		return
	}
	m.stats.refused.Add(1)
	m.obs.refuse("auth")
	c, aerr := websocket.Accept(w, r, &m.accept)
	if aerr != nil {
		m.log.Debug("ws: upgrade refused", "remote", r.RemoteAddr, "error", aerr)
		return
	}
	c.Close(websocket.StatusPolicyViolation, closeReason(err))
}

// maxCloseReason is the most bytes a close frame's reason may hold.
const maxCloseReason = 123

// closeReason is the detail of a refusal, cut to fit a close frame.
func closeReason(err error) string {
	var detail string
	var he *problem.HTTPError
	if errors.As(err, &he) {
		if s, ok := he.Detail.(string); ok {
			detail = s
		} else {
			detail = fmt.Sprint(he.Detail)
		}
	} else {
		detail = http.StatusText(problem.Status(err))
	}
	if len(detail) > maxCloseReason {
		detail = strings.ToValidUTF8(detail[:maxCloseReason], "") // a rune cut in two goes whole
	}
	return detail
}
