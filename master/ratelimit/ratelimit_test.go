package ratelimit_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/ratelimit"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func serve(t *testing.T, l *ratelimit.Limiter) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	t.Cleanup(srv.Close)
	return srv
}

// get sends a request, as coming through a proxy for xff when xff is not empty.
func get(t *testing.T, srv *httptest.Server, xff string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v1/jobs", nil)
	if err != nil {
		t.Fatal(err)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func statuses(t *testing.T, srv *httptest.Server, xff string, n int) []int {
	t.Helper()
	var got []int
	for range n {
		got = append(got, get(t, srv, xff).StatusCode)
	}
	return got
}

func wantStatuses(t *testing.T, got []int, want ...int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
}

func TestBurstThen429(t *testing.T) {
	var limited atomic.Int32
	// 0.2 req/s: no token comes back while the test runs, and the wait is 5 s.
	l := ratelimit.New(0.2, 3, ratelimit.Options{OnLimited: func() { limited.Add(1) }})
	srv := serve(t, l)

	wantStatuses(t, statuses(t, srv, "", 3), 204, 204, 204)
	resp := get(t, srv, "")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("request over the burst: status %d, want 429", resp.StatusCode)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "5" {
		t.Errorf("Retry-After %q, want 5", ra)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var body api.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error == nil {
		t.Fatalf("error body: %v", err)
	}
	if body.Error.Code != api.CodeRateLimited || !strings.Contains(body.Error.Message, "rate limit 0.2 req/s, burst 3 per client") {
		t.Errorf("error %+v", body.Error)
	}
	if limited.Load() != 1 {
		t.Errorf("OnLimited called %d times, want 1", limited.Load())
	}
}

func TestSeparateClients(t *testing.T) {
	srv := serve(t, ratelimit.New(0.2, 2, ratelimit.Options{TrustedProxies: loopback}))
	wantStatuses(t, statuses(t, srv, "203.0.113.1", 3), 204, 204, 429)
	wantStatuses(t, statuses(t, srv, "203.0.113.2", 3), 204, 204, 429)
	// A client claiming a spoofed address in front of its real one is counted by the real one.
	wantStatuses(t, statuses(t, srv, "203.0.113.9, 203.0.113.1", 1), 429)
}

func TestUntrustedForwardedForIgnored(t *testing.T) {
	srv := serve(t, ratelimit.New(0.2, 2, ratelimit.Options{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	}))
	wantStatuses(t, statuses(t, srv, "203.0.113.1", 2), 204, 204)
	// The request comes from 127.0.0.1, not a trusted proxy: a new XFF is no new client.
	wantStatuses(t, statuses(t, srv, "203.0.113.2", 1), 429)
}

// Trusted names proxies that change while the limiter runs (a cluster member added
// online): once it says yes, the proxy's X-Forwarded-For is believed.
func TestTrustedFuncFollowsChanges(t *testing.T) {
	var member atomic.Bool
	srv := serve(t, ratelimit.New(0.2, 1, ratelimit.Options{
		Trusted: func(a netip.Addr) bool { return member.Load() && a.IsLoopback() },
	}))
	wantStatuses(t, statuses(t, srv, "203.0.113.1", 2), 204, 429)
	member.Store(true)
	wantStatuses(t, statuses(t, srv, "203.0.113.2", 1), 204)
	wantStatuses(t, statuses(t, srv, "203.0.113.3", 1), 204)
	wantStatuses(t, statuses(t, srv, "203.0.113.3", 1), 429)
}

func TestDisabled(t *testing.T) {
	for _, l := range []*ratelimit.Limiter{ratelimit.New(0, 0, ratelimit.Options{}), ratelimit.New(-1, 10, ratelimit.Options{}), nil} {
		if l.Enabled() {
			t.Fatal("limiter enabled")
		}
		srv := serve(t, l)
		for i := range 300 {
			if s := get(t, srv, "").StatusCode; s != http.StatusNoContent {
				t.Fatalf("request %d: status %d from a disabled limiter", i, s)
			}
		}
	}
}

func TestClientsBounded(t *testing.T) {
	l := ratelimit.New(0.2, 1, ratelimit.Options{TrustedProxies: loopback, MaxClients: 10})
	srv := serve(t, l)
	for i := range 50 {
		xff := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String()
		if s := get(t, srv, xff).StatusCode; s != http.StatusNoContent {
			t.Fatalf("first request of %s: %d", xff, s)
		}
		if n := l.Clients(); n > 10 {
			t.Fatalf("%d clients kept, bound is 10", n)
		}
	}
	// The most recent clients are the ones remembered.
	wantStatuses(t, statuses(t, srv, "198.51.100.49", 1), 429)
	// The oldest was forgotten, and starts afresh.
	wantStatuses(t, statuses(t, srv, "198.51.100.0", 2), 204, 429)
}

func TestClientAddr(t *testing.T) {
	l := ratelimit.New(1, 1, ratelimit.Options{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
	}})
	tests := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:1234", nil, "192.0.2.1"},
		{"192.0.2.1:1234", []string{"198.51.100.7"}, "192.0.2.1"}, // untrusted peer
		{"10.0.0.1:1234", nil, "10.0.0.1"},
		{"10.0.0.1:1234", []string{"198.51.100.7"}, "198.51.100.7"},
		{"10.0.0.1:1234", []string{"6.6.6.6, 198.51.100.7, 10.0.0.2"}, "198.51.100.7"},
		{"10.0.0.1:1234", []string{"6.6.6.6", "198.51.100.7, 10.0.0.2"}, "198.51.100.7"}, // several headers
		{"10.0.0.1:1234", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},                    // all trusted
		{"10.0.0.1:1234", []string{"garbage, 10.0.0.2"}, "10.0.0.2"},
		{"10.0.0.1:1234", []string{"198.51.100.7:4711"}, "198.51.100.7"},
		{"[fd00::1]:443", []string{"[2001:db8::5]"}, "2001:db8::5"},
		{"[::ffff:10.0.0.1]:443", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.remote
		for _, h := range tt.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := l.ClientAddr(r); got.String() != tt.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", tt.remote, tt.xff, got, tt.want)
		}
	}
}

func TestString(t *testing.T) {
	if got := ratelimit.New(100, 200, ratelimit.Options{}).String(); got != "rate limit 100 req/s, burst 200 per client" {
		t.Errorf("String() = %q", got)
	}
	if got := ratelimit.New(10, 0, ratelimit.Options{}).String(); got != "rate limit 10 req/s, burst 10 per client" {
		t.Errorf("burst 0: String() = %q", got)
	}
}
