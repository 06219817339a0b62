// Package clientaddr names the client of a request for the limits that
// count per client: easy/ratelimit's ByIP and easy/ws's
// MaxConnectionsPerIP.
package clientaddr

import (
	"net"
	"net/netip"
)

// Parse reads the IP address of addr, a host or a host:port (as a proxy's
// middleware may leave it without a port). ok is false when addr is no
// IP address: a Unix socket, say. An IPv4 address mapped into IPv6 is
// returned as IPv4.
func Parse(addr string) (ip netip.Addr, ok bool) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err = netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// Key names the client at ip: its IPv4 address, or the /64 network of its
// IPv6 address, which one host usually has whole, so that a client cannot
// get a fresh budget per address of its network.
func Key(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.WithZone("").Prefix(64)
	return p.String()
}
