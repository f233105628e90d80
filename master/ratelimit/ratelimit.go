// Package ratelimit limits the request rate of each client IP address with token buckets.
package ratelimit

import (
	"container/list"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ffrtmp/ffrtmp/api"
)

// DefaultMaxClients bounds the number of client buckets kept when Options.MaxClients is 0.
const DefaultMaxClients = 100_000

// Options tune a Limiter; the zero value is a good default.
type Options struct {
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed. Only a
	// request arriving from one of them is attributed to the rightmost address of the
	// header that is not itself a trusted proxy; without them the header is ignored, since
	// any client can write it.
	TrustedProxies []netip.Prefix
	// Trusted, when set, names more trusted proxies, asked after TrustedProxies: ones that
	// change while the limiter runs (a cluster's members).
	Trusted func(netip.Addr) bool
	// MaxClients bounds how many client buckets are kept (default DefaultMaxClients). When
	// it is reached the least recently seen client is forgotten, and starts afresh (with a
	// full burst) if it comes back.
	MaxClients int
	// OnLimited, if set, is called for every request refused with 429, e.g. for a metric.
	OnLimited func()
}

// Limiter gives each client address a token bucket of rps tokens a second holding at most
// burst. A nil or disabled Limiter lets everything through. It starts no goroutines: idle
// buckets are dropped as requests come in, so there is nothing to close.
type Limiter struct {
	limit rate.Limit
	burst int
	// idle is how long a bucket takes to refill completely; a bucket unused that long is
	// the same as a new one and can be dropped without changing anyone's limit.
	idle time.Duration
	max  int
	opts Options
	desc string
	now  func() time.Time // time.Now; tests move it

	mu      sync.Mutex
	clients map[netip.Addr]*list.Element // of *client
	lru     list.List                    // front: seen most recently
}

type client struct {
	addr   netip.Addr
	bucket *rate.Limiter
	seen   time.Time
}

// New returns a Limiter of rps requests a second and bursts of burst per client address;
// rps <= 0 disables it. A burst below 1 becomes rps rounded up (at least 1).
func New(rps float64, burst int, opts Options) *Limiter {
	l := &Limiter{opts: opts, now: time.Now}
	if rps <= 0 || math.IsNaN(rps) {
		return l
	}
	if burst < 1 {
		burst = max(1, int(math.Ceil(rps)))
	}
	l.limit, l.burst = rate.Limit(rps), burst
	l.idle = time.Duration(min(float64(burst)/rps, math.MaxInt64/float64(time.Second)) * float64(time.Second))
	l.max = opts.MaxClients
	if l.max <= 0 {
		l.max = DefaultMaxClients
	}
	l.desc = fmt.Sprintf("rate limit %s req/s, burst %d per client", strconv.FormatFloat(rps, 'g', -1, 64), burst)
	l.clients = make(map[netip.Addr]*list.Element)
	return l
}

// Enabled reports whether l limits anything.
func (l *Limiter) Enabled() bool { return l != nil && l.limit > 0 }

// String describes the limit: "rate limit 100 req/s, burst 200 per client".
func (l *Limiter) String() string {
	if !l.Enabled() {
		return "no rate limit"
	}
	return l.desc
}

// Clients returns how many client buckets are kept now.
func (l *Limiter) Clients() int {
	if !l.Enabled() {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// Allow takes a token from addr's bucket. When there is none it returns false and how long
// until there is one.
func (l *Limiter) Allow(addr netip.Addr) (ok bool, retryAfter time.Duration) {
	if !l.Enabled() {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropIdle(now, 2) // two per request: forgetting keeps up with new clients arriving
	c := l.client(addr, now)
	if c.bucket.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - c.bucket.TokensAt(now)
	return false, time.Duration(missing / float64(l.limit) * float64(time.Second))
}

// client returns addr's bucket, making one (and forgetting the least recent client when
// the map is full) if needed. l.mu is held.
func (l *Limiter) client(addr netip.Addr, now time.Time) *client {
	if e, ok := l.clients[addr]; ok {
		c := e.Value.(*client)
		c.seen = now
		l.lru.MoveToFront(e)
		return c
	}
	for len(l.clients) >= l.max {
		l.remove(l.lru.Back())
	}
	c := &client{addr: addr, bucket: rate.NewLimiter(l.limit, l.burst), seen: now}
	l.clients[addr] = l.lru.PushFront(c)
	return c
}

// dropIdle forgets up to n clients whose buckets are full again. l.mu is held.
func (l *Limiter) dropIdle(now time.Time, n int) {
	for ; n > 0; n-- {
		e := l.lru.Back()
		if e == nil || now.Sub(e.Value.(*client).seen) < l.idle {
			return
		}
		l.remove(e)
	}
}

func (l *Limiter) remove(e *list.Element) {
	delete(l.clients, e.Value.(*client).addr)
	l.lru.Remove(e)
}

// Middleware refuses requests over their client's limit with 429 (code rate_limited) and
// a Retry-After header in whole seconds.
func (l *Limiter) Middleware(next http.Handler) http.Handler {
	if !l.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := l.ClientAddr(r)
		ok, wait := l.Allow(addr)
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		if l.opts.OnLimited != nil {
			l.opts.OnLimited()
		}
		secs := max(1, int(math.Ceil(wait.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusTooManyRequests)
		_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: &api.Error{
			Code:    api.CodeRateLimited,
			Message: fmt.Sprintf("too many requests from %s: %s; retry after %d s", addr, l.desc, secs),
		}})
	})
}

// ClientAddr returns the address r is counted against: the peer's, or, when the peer is a
// trusted proxy, the rightmost X-Forwarded-For address that is not a trusted proxy.
func (l *Limiter) ClientAddr(r *http.Request) netip.Addr {
	addr, ok := parseAddr(r.RemoteAddr)
	if !ok || !l.trusted(addr) {
		return addr
	}
	hops := r.Header.Values("X-Forwarded-For")
	var all []string
	for _, h := range hops {
		all = append(all, strings.Split(h, ",")...)
	}
	for i := len(all) - 1; i >= 0; i-- {
		hop, ok := parseAddr(all[i])
		if !ok {
			// Trusted proxies write addresses; this came from the client. The last
			// trusted hop is the best we know.
			return addr
		}
		if !l.trusted(hop) {
			return hop
		}
		addr = hop
	}
	return addr
}

func (l *Limiter) trusted(a netip.Addr) bool {
	if l == nil {
		return false
	}
	for _, p := range l.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return l.opts.Trusted != nil && l.opts.Trusted(a)
}

// parseAddr reads "1.2.3.4", "1.2.3.4:5", "::1", "[::1]" or "[::1]:5".
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}
