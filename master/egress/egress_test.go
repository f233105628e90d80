package egress

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestSpecialAddresses(t *testing.T) {
	tests := map[string]string{ // address → the start of its kind ("" public)
		"127.0.0.1":              "loopback",
		"127.255.0.9":            "loopback",
		"::1":                    "loopback",
		"::ffff:127.0.0.1":       "loopback",
		"169.254.169.254":        "link-local",
		"fe80::1":                "link-local",
		"fe80::1%eth0":           "link-local",
		"::ffff:169.254.169.254": "link-local",
		"10.0.0.5":               "private",
		"172.16.0.1":             "private",
		"172.31.255.255":         "private",
		"192.168.1.1":            "private",
		"fc00::1":                "private",
		"fd12:3456::1":           "private",
		"::ffff:10.1.2.3":        "private",
		"100.64.0.1":             "shared",
		"100.127.255.254":        "shared",
		"224.0.0.1":              "multicast",
		"239.1.2.3":              "multicast",
		"ff02::1":                "multicast",
		"0.0.0.0":                "unspecified",
		"::":                     "unspecified",
		"255.255.255.255":        "broadcast",
		"240.0.0.1":              "reserved",
		"192.0.2.10":             "documentation",
		"2001:db8::1":            "documentation",
		"64:ff9b::7f00:1":        "loopback (via NAT64)",
		"64:ff9b::a00:5":         "private (RFC 1918) (via NAT64)",
		"2002:7f00:1::1":         "loopback (via 6to4)",
		"::7f00:1":               "reserved",
		// public
		"8.8.8.8":              "",
		"93.184.215.14":        "",
		"172.32.0.1":           "",
		"100.128.0.1":          "",
		"2606:4700::1111":      "",
		"::ffff:8.8.8.8":       "",
		"64:ff9b::808:808":     "",
		"2002:808:808::1":      "",
		"1.1.1.1":              "",
		"2a00:1450:4001::200e": "",
	}
	for in, want := range tests {
		got := Special(netip.MustParseAddr(in))
		if (want == "") != (got == "") || !strings.HasPrefix(got, want) {
			t.Errorf("Special(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestAllowListOverrides(t *testing.T) {
	allow, err := ParseAllow([]string{"10.1.0.0/16,127.0.0.1", " fd00::/8 "})
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{Allow: allow}
	for in, allowed := range map[string]bool{
		"10.1.2.3": true, "10.2.0.1": false, "127.0.0.1": true, "127.0.0.2": false,
		"::ffff:127.0.0.1": true, "fd00::1": true, "fc00::1": false, "8.8.8.8": true, "169.254.169.254": false,
	} {
		err := p.Refuses(netip.MustParseAddr(in))
		if allowed != (err == nil) {
			t.Errorf("Refuses(%s) = %v, want allowed=%v", in, err, allowed)
		}
		var re *RefusedError
		if err != nil && (!errors.As(err, &re) || !strings.Contains(err.Error(), in)) {
			t.Errorf("Refuses(%s) = %v, want a *RefusedError naming the address", in, err)
		}
	}
}

func TestParseAllow(t *testing.T) {
	got, err := ParseAllow([]string{"10.1.2.3/16", "::1", ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].String() != "10.1.0.0/16" || got[1].String() != "::1/128" {
		t.Errorf("ParseAllow = %v, want [10.1.0.0/16 ::1/128]", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.0/8,nope", "fe80::1%eth0"} {
		if _, err := ParseAllow([]string{bad}); err == nil || !strings.Contains(err.Error(), "want a CIDR") {
			t.Errorf("ParseAllow(%q) = %v, want an error asking for a CIDR", bad, err)
		}
	}
}

func TestCheckResolvesAndRefusesAnyBadAddress(t *testing.T) {
	p := Policy{Resolver: HostTable{
		"public.test": {netip.MustParseAddr("93.184.215.14")},
		"mixed.test":  {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("10.0.0.5")},
		"meta.test":   {netip.MustParseAddr("169.254.169.254")},
	}}
	ctx := context.Background()
	if addrs, err := p.Check(ctx, "public.test"); err != nil || len(addrs) != 1 {
		t.Errorf("Check(public.test) = %v, %v", addrs, err)
	}
	if _, err := p.Check(ctx, "8.8.8.8"); err != nil {
		t.Errorf("Check(8.8.8.8) = %v", err)
	}
	for host, want := range map[string]string{
		"mixed.test": "mixed.test resolves to 10.0.0.5, a private (RFC 1918) address",
		"meta.test":  "meta.test resolves to 169.254.169.254, a link-local address",
		"127.0.0.1":  "127.0.0.1 is a loopback address",
		"[::1]":      "::1 is a loopback address",
	} {
		_, err := p.Check(ctx, host)
		var re *RefusedError
		if !errors.As(err, &re) || err.Error() != want {
			t.Errorf("Check(%s) = %v, want %q", host, err, want)
		}
	}
	_, err := p.Check(ctx, "nowhere.test")
	var ue *UnresolvedError
	if !errors.As(err, &ue) || err.Error() != "host nowhere.test does not resolve" {
		t.Errorf("Check(nowhere.test) = %v, want an UnresolvedError", err)
	}
}

// slowResolver answers after delay, or when ctx ends.
type slowResolver struct{ delay time.Duration }

func (r slowResolver) LookupNetIP(ctx context.Context, _, _ string) ([]netip.Addr, error) {
	select {
	case <-time.After(r.delay):
		return []netip.Addr{netip.MustParseAddr("8.8.8.8")}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestCheckLookupIsBounded(t *testing.T) {
	p := Policy{Resolver: slowResolver{time.Minute}, LookupTimeout: 50 * time.Millisecond}
	start := time.Now()
	_, err := p.Check(context.Background(), "slow.test")
	var ue *UnresolvedError
	if !errors.As(err, &ue) || time.Since(start) > 5*time.Second {
		t.Errorf("Check with a hanging resolver = %v after %s, want does not resolve within the timeout", err, time.Since(start))
	}
	// The caller's own deadline is the caller's: its error, not the host's.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Policy{Resolver: slowResolver{time.Minute}}).Check(ctx, "slow.test"); !errors.Is(err, context.Canceled) {
		t.Errorf("Check with a cancelled context = %v, want context.Canceled", err)
	}
}

// flipResolver answers with first on the first lookup and with then afterwards: a name that
// is public when checked and loopback when dialled (DNS rebinding).
type flipResolver struct {
	first, then netip.Addr
	n           atomic.Int32
}

func (r *flipResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	if r.n.Add(1) == 1 {
		return []netip.Addr{r.first}, nil
	}
	return []netip.Addr{r.then}, nil
}

func listen(t *testing.T) (port string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, accepted
}

func TestDialRefusesWhatCheckWouldAndConnectsToTheRest(t *testing.T) {
	port, accepted := listen(t)
	ctx := context.Background()

	// Rebinding: checked while public, dialled when it points at loopback.
	r := &flipResolver{first: netip.MustParseAddr("93.184.215.14"), then: netip.MustParseAddr("127.0.0.1")}
	p := Policy{Resolver: r}
	if _, err := p.Check(ctx, "rebind.test"); err != nil {
		t.Fatalf("Check while public: %v", err)
	}
	_, err := p.DialContext(ctx, "tcp", net.JoinHostPort("rebind.test", port))
	var re *RefusedError
	if !errors.As(err, &re) || re.Addr.String() != "127.0.0.1" {
		t.Fatalf("dial after rebinding = %v, want refused for 127.0.0.1", err)
	}
	if _, err := p.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", port)); !errors.As(err, &re) {
		t.Fatalf("dial 127.0.0.1 = %v, want refused", err)
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the loopback listener accepted %d connections, want none", n)
	}

	// The same name and address once an operator allows loopback.
	allowed := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Resolver: HostTable{"hooks.test": {netip.MustParseAddr("127.0.0.1")}}}
	c, err := allowed.DialContext(ctx, "tcp", net.JoinHostPort("hooks.test", port))
	if err != nil {
		t.Fatalf("dial an allowed loopback receiver by name: %v", err)
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for accepted.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := accepted.Load(); n != 1 {
		t.Fatalf("the listener accepted %d connections, want 1", n)
	}
}

// The socket-level check holds even when the address to dial comes from elsewhere than the
// policy's own resolution.
func TestControlRefusesTheConnectedAddress(t *testing.T) {
	port, accepted := listen(t)
	d := net.Dialer{Control: Policy{}.control}
	_, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("127.0.0.1", port))
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("dial through control = %v, want a RefusedError", err)
	}
	if accepted.Load() != 0 {
		t.Fatal("the connection was made")
	}
}
