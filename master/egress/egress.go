// Package egress decides which addresses the master may connect to on a client's behalf (a
// job's callback_url): public unicast addresses, and whatever ranges an operator allows.
//
// A client who can make the master connect somewhere can reach what only the master reaches:
// its loopback services, a cloud's metadata endpoint at 169.254.169.254, the private network
// behind it. So by default every address that is not public unicast is refused — loopback,
// link-local, private (RFC 1918, fc00::/7), shared (100.64.0.0/10), multicast, unspecified,
// broadcast, documentation and reserved ranges, and the IPv6 forms that carry one of those
// IPv4 addresses (IPv4-mapped, NAT64, 6to4) — unless it lies in the operator's allow list.
//
// The rule is applied twice: when a client names a host (Check, so the client hears at once
// that it cannot be used) and to the address a connection is really opened to (DialContext):
// a name may resolve to a public address when it is checked and to 127.0.0.1 a minute later
// (DNS rebinding).
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// DefaultLookupTimeout bounds resolving a host name in Check and DialContext.
const DefaultLookupTimeout = 3 * time.Second

// Resolver looks up a host's addresses; *net.Resolver is one. Tests give their own (see
// HostTable) to say where a name points, and when.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy is the rule. The zero value refuses every special-purpose address, allows nothing
// more and resolves names with the system's resolver.
type Policy struct {
	// Allow lists ranges that may be dialled although they are special-purpose (an operator's
	// internal webhook receivers, say 10.1.0.0/16).
	Allow []netip.Prefix
	// Resolver resolves host names; nil is net.DefaultResolver.
	Resolver Resolver
	// LookupTimeout bounds one resolution; 0 is DefaultLookupTimeout.
	LookupTimeout time.Duration
}

// RefusedError is an address the policy does not let the master connect to.
type RefusedError struct {
	Host string     // the name that resolved to Addr; "" when Addr was given as is
	Addr netip.Addr // the address refused
	Kind string     // what kind of address it is, e.g. "loopback", "private (RFC 1918)"
}

func (e *RefusedError) Error() string {
	if e.Host != "" && e.Host != e.Addr.String() {
		return fmt.Sprintf("%s resolves to %s, a %s address", e.Host, e.Addr, e.Kind)
	}
	return fmt.Sprintf("%s is a %s address", e.Addr, e.Kind)
}

// UnresolvedError is a host name that has no address (or whose lookup failed or timed out).
type UnresolvedError struct {
	Host string
	Err  error // the resolver's error, for logs
}

func (e *UnresolvedError) Error() string { return fmt.Sprintf("host %s does not resolve", e.Host) }
func (e *UnresolvedError) Unwrap() error { return e.Err }

// Refuses says why the policy refuses a (a *RefusedError without Host), or nil when a may be
// dialled.
func (p Policy) Refuses(a netip.Addr) error {
	a = a.WithZone("")
	if !a.IsValid() {
		return &RefusedError{Addr: a, Kind: "invalid"}
	}
	for _, pfx := range p.Allow {
		if pfx.Contains(a) || pfx.Contains(a.Unmap()) {
			return nil
		}
	}
	if kind := Special(a); kind != "" {
		return &RefusedError{Addr: a, Kind: kind}
	}
	return nil
}

// Check resolves host (a name, or an IP literal taken as is) and returns its addresses, or an
// error if it does not resolve (*UnresolvedError) or if any of its addresses is refused
// (*RefusedError): a name that points at both a public and a private address is refused, since
// which one a connection gets is not ours to choose. ctx bounds the lookup, as does
// LookupTimeout.
func (p Policy) Check(ctx context.Context, host string) ([]netip.Addr, error) {
	return p.check(ctx, "ip", host)
}

func (p Policy) check(ctx context.Context, network, host string) ([]netip.Addr, error) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		if err := p.Refuses(a); err != nil {
			return nil, err
		}
		return []netip.Addr{a}, nil
	}
	if host == "" {
		return nil, &UnresolvedError{Host: `""`, Err: errors.New("no host")}
	}
	timeout := p.LookupTimeout
	if timeout <= 0 {
		timeout = DefaultLookupTimeout
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var r Resolver = net.DefaultResolver
	if p.Resolver != nil {
		r = p.Resolver
	}
	addrs, err := r.LookupNetIP(lctx, network, host)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err() // the caller gave up: not the host's fault
	}
	if err == nil && len(addrs) == 0 {
		err = errors.New("no addresses")
	}
	if err != nil {
		return nil, &UnresolvedError{Host: host, Err: err}
	}
	for _, a := range addrs {
		if err := p.Refuses(a); err != nil {
			err.(*RefusedError).Host = host
			return nil, err
		}
	}
	return addrs, nil
}

// DialContext connects like net.Dialer.DialContext, but only to addresses the policy allows:
// it resolves the host itself (with Resolver), refuses as Check does, and checks again the
// address each socket really connects to. Use it as an http.Transport's DialContext.
func (p Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	lookup := "ip"
	switch network {
	case "tcp4", "udp4":
		lookup = "ip4"
	case "tcp6", "udp6":
		lookup = "ip6"
	}
	addrs, err := p.check(ctx, lookup, host)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	d := net.Dialer{Control: p.control}
	var first error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// control runs on every socket just before it connects: whatever resolved the name, the
// address connected to is the one checked.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: not an address the policy can check: %w", address, err)
	}
	return p.Refuses(ap.Addr())
}

// ParseAllow reads an allow list: each value one or more comma-separated CIDRs (10.1.0.0/16)
// or single addresses (127.0.0.1, taken as /32 or /128).
func ParseAllow(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if pfx, err := netip.ParsePrefix(s); err == nil {
				out = append(out, pfx.Masked())
				continue
			}
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q: want a CIDR such as 10.1.0.0/16 or an address such as 127.0.0.1", s)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out, nil
}

// HostTable is a Resolver with fixed answers: a name maps to its addresses, any other name
// does not resolve. Tests use it to point names where they need; a master can use it to pin
// names.
type HostTable map[string][]netip.Addr

// LookupNetIP answers from the table.
func (t HostTable) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range t[strings.ToLower(strings.TrimSuffix(host, "."))] {
		if network == "ip" || (network == "ip4") == a.Unmap().Is4() {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}
