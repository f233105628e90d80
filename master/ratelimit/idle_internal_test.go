package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// TestIdleBucketsDropped: a bucket that has refilled is forgotten as other requests come in,
// and forgetting it changes nothing for its client.
func TestIdleBucketsDropped(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := New(10, 5, Options{}) // refills in 0.5 s
	l.now = func() time.Time { return now }
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")

	for range 5 {
		if ok, _ := l.Allow(a); !ok {
			t.Fatal("refused within the burst")
		}
	}
	if ok, wait := l.Allow(a); ok || wait != 100*time.Millisecond {
		t.Fatalf("over the burst: ok %v, wait %v; want refused for 100ms", ok, wait)
	}

	now = now.Add(400 * time.Millisecond) // not yet full again
	l.Allow(b)
	if n := l.Clients(); n != 2 {
		t.Fatalf("%d clients after 400ms, want 2 (a is not idle yet)", n)
	}

	now = now.Add(time.Second)
	l.Allow(b)
	if n := l.Clients(); n != 1 {
		t.Fatalf("%d clients once a refilled, want 1", n)
	}
	for i := range 5 {
		if ok, _ := l.Allow(a); !ok {
			t.Fatalf("a refused at request %d after its bucket was dropped", i)
		}
	}
}

// TestRetryAfterWholeSeconds: the wait is rounded up to whole seconds, and never 0.
func TestRetryAfterWholeSeconds(t *testing.T) {
	frozen := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		rps  float64
		want string
	}{
		{4, "1"},   // 250ms
		{1, "1"},   // 1s
		{0.4, "3"}, // 2.5s
	} {
		l := New(tt.rps, 1, Options{})
		l.now = func() time.Time { return frozen }
		srv := httptest.NewServer(l.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
		var got []string
		for range 2 {
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got = append(got, strconv.Itoa(resp.StatusCode)+" "+resp.Header.Get("Retry-After"))
		}
		srv.Close()
		if got[0] != "200 " || got[1] != "429 "+tt.want {
			t.Errorf("%g req/s: got %q, want [200, 429 Retry-After %s]", tt.rps, got, tt.want)
		}
	}
}
