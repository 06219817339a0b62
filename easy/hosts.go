package easy

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// AllowedHosts serves only requests whose Host is one of hosts, as
// Starlette's TrustedHostMiddleware and Django's ALLOWED_HOSTS do: a name
// ("example.com"), a pattern for its subdomains ("*.example.com", which
// does not match example.com itself), an IP address ("127.0.0.1",
// "[::1]"), or "*" for any. A port in the request's Host is ignored. Other
// requests get 400 {"detail":"Invalid host header"}.
//
// Without it, an App that Run or Serve listens on a loopback address
// allows only loopback names (localhost and its subdomains, 127.0.0.1,
// [::1], and the address it listens on): a web page cannot then reach it
// through a name of its own that resolves to 127.0.0.1 (DNS rebinding). An App listening on another
// address allows any host. Behind a proxy on the same machine that
// forwards the client's Host, list the site's names here.
func AllowedHosts(hosts ...string) Option {
	l := newHostList(hosts)
	return appOption(func(c *config) { c.hosts = l })
}

// hostList is the hosts an App serves.
type hostList struct {
	any      bool
	names    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
}

// loopbackNames are the names of the loopback interface. A web page
// cannot make a browser send them for a name of its own: localhost and its
// subdomains are not resolved by DNS (RFC 6761), and an address is not a
// name.
var loopbackNames = []string{"localhost", "*.localhost", "127.0.0.1", "[::1]"}

func newHostList(hosts []string) *hostList {
	if len(hosts) == 0 {
		panic(`easy: AllowedHosts needs at least one host ("*" allows any)`)
	}
	l := &hostList{names: map[string]bool{}}
	for _, h := range hosts {
		name := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), "."))
		switch {
		case h == "*":
			l.any = true
		case strings.HasPrefix(name, "*.") && validHostName(name[2:]):
			l.suffixes = append(l.suffixes, name[1:])
		case validHostName(name) || net.ParseIP(name) != nil:
			l.names[name] = true
		default:
			panic(fmt.Sprintf("easy: AllowedHosts: %q is not a host name, an IP address, *.name or *", h))
		}
	}
	return l
}

// loopbackHosts is the hosts a listener at addr serves when no list is
// given: the loopback names and addr's address, when addr is a loopback
// address; nil, any host, when it is not.
func loopbackHosts(addr net.Addr) *hostList {
	if a, ok := addr.(*net.TCPAddr); ok && a.IP.IsLoopback() {
		return newHostList(append([]string{a.IP.String()}, loopbackNames...))
	}
	return nil
}

// guardHosts returns h behind the host rule of a listener at addr that
// serves no App (pprof's): loopbackHosts, never the App's AllowedHosts,
// which name the App's public site.
func guardHosts(addr net.Addr, h http.Handler) http.Handler {
	hosts := loopbackHosts(addr)
	if hosts == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hosts.allows(r.Host) {
			problem.Text(w, http.StatusBadRequest, "Invalid host header")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// validHostName reports whether s is a DNS name: letters, digits,
// hyphens, underscores and dots, with no empty label.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// allows reports whether a request's Host (with or without a port) is
// in l.
func (l *hostList) allows(host string) bool {
	if l.any {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), "."))
	if host == "" {
		return false
	}
	if l.names[host] {
		return true
	}
	for _, s := range l.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// refuseHost answers 400, and reports true, when the request is for a
// host the App does not serve: one AllowedHosts does not list, or, without
// it, a name that is not a loopback name when Serve listens on loopback
// (c nil: the request came through another server). The first refusal is
// logged, so that whoever put a proxy in front of an App on 127.0.0.1
// learns why it answers 400.
func (a *App) refuseHost(w http.ResponseWriter, r *http.Request, c *servedConn) bool {
	hosts := a.cfg.hosts
	if hosts == nil && c != nil {
		hosts = c.hosts
	}
	if hosts == nil || hosts.allows(r.Host) {
		return false
	}
	a.hostRefused.Do(func() {
		a.logger.WarnContext(r.Context(), "easy: refused a request for a host the App does not serve; list the names it is reached by with easy.AllowedHosts",
			"host", r.Host)
	})
	problem.Text(w, http.StatusBadRequest, "Invalid host header")
	return true
}
