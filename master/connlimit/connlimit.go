// Package connlimit caps how many connections one client address holds open on a listener:
// idle connections cost a file descriptor each, and one client that opens a thousand of them
// must not slow the API for everyone else.
package connlimit

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Options tune a Listener.
type Options struct {
	// Exempt reports addresses that are not capped (reverse proxies carry many clients).
	Exempt func(netip.Addr) bool
	// OnRefused is told of each connection closed for being over the cap.
	OnRefused func(netip.Addr)
	// Logf reports refusals, at most once per LogEvery with how many were refused since
	// [nothing]; LogEvery [1m].
	Logf     func(addr netip.Addr, refused int64, max int)
	LogEvery time.Duration
	// Now is the clock for the log's rate [time.Now].
	Now func() time.Time
}

// Listener is a net.Listener that closes, as soon as it accepts it, a connection from an
// address that already holds Max open ones.
type Listener struct {
	net.Listener
	max  int
	opts Options

	mu      sync.Mutex
	open    map[netip.Addr]int
	refused int64 // since the last log line
	lastLog time.Time
}

// Wrap caps ln at max connections per client address; max <= 0 returns ln unchanged.
func Wrap(ln net.Listener, max int, opts Options) net.Listener {
	if max <= 0 {
		return ln
	}
	if opts.LogEvery <= 0 {
		opts.LogEvery = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Listener{Listener: ln, max: max, opts: opts, open: make(map[netip.Addr]int)}
}

// Accept returns the next connection within its address's cap; those over it are closed.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr, ok := clientAddr(c)
		if !ok || l.opts.Exempt != nil && l.opts.Exempt(addr) {
			return c, nil
		}
		if l.take(addr) {
			return &conn{Conn: c, release: func() { l.release(addr) }}, nil
		}
		_ = c.Close()
		if l.opts.OnRefused != nil {
			l.opts.OnRefused(addr)
		}
		l.logRefused(addr)
	}
}

func (l *Listener) take(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr] >= l.max {
		return false
	}
	l.open[addr]++
	return true
}

func (l *Listener) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr] <= 1 {
		delete(l.open, addr)
		return
	}
	l.open[addr]--
}

func (l *Listener) logRefused(addr netip.Addr) {
	if l.opts.Logf == nil {
		return
	}
	l.mu.Lock()
	l.refused++
	now := l.opts.Now()
	if !l.lastLog.IsZero() && now.Sub(l.lastLog) < l.opts.LogEvery {
		l.mu.Unlock()
		return
	}
	n := l.refused
	l.refused, l.lastLog = 0, now
	l.mu.Unlock()
	l.opts.Logf(addr, n, l.max)
}

// clientAddr is c's remote IP address (IPv4-mapped IPv6 as IPv4).
func clientAddr(c net.Conn) (netip.Addr, bool) {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		a, ok := netip.AddrFromSlice(ta.IP)
		return a.Unmap(), ok
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// conn gives its address's slot back when it is closed (once, however often Close is
// called).
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// ReadFrom keeps the kernel's zero-copy paths (sendfile, splice) that net/http takes when
// the connection offers them.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
