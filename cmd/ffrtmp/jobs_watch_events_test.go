package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"testing"

	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// countingProxy stands in front of a master, counting the requests per path (job IDs as
// {id}); without events it answers GET /v1/events 404, as a master from before the route.
type countingProxy struct {
	mu     sync.Mutex
	counts map[string]int
}

var jobPathRe = regexp.MustCompile(`^/v1/jobs/[^/]+$`)

func startCountingProxy(t *testing.T, target string, events bool) (*countingProxy, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := jobPathRe.ReplaceAllString(r.URL.Path, "/v1/jobs/{id}")
		p.mu.Lock()
		p.counts[r.Method+" "+path]++
		p.mu.Unlock()
		if r.URL.Path == "/v1/events" && !events {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":"not_found","message":"no route GET /v1/events"}}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *countingProxy) count(k string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[k]
}

// TestJobsWatchUsesEvents: `jobs watch ID` follows the job from the event stream (it reads
// the job once, however long it runs), and polls a master without one.
func TestJobsWatchUsesEvents(t *testing.T) {
	t.Parallel()
	for _, events := range []bool{true, false} {
		e := newJobsEnv(t)
		w := newJobsWorker(t, e.h)
		proxy, u := startCountingProxy(t, e.h.URL, events)
		id := e.submit(t)
		cmd := e.command("jobs", "watch", id, "--interval", "20ms")
		cmd.Env = e.environ("FFRTMP_MASTER="+u, "FFRTMP_API_KEY="+mastertest.SubmitterKey)
		out, errOut := newJobsOutput(), newJobsOutput()
		cmd.Stdout, cmd.Stderr = out, errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		out.waitFor(t, id+"  queued")
		w.lease(t, id)
		w.progress(t, id, 40)
		out.waitFor(t, id+"  running  40.0%")
		w.complete(t, id)
		if code := jobsWaitExit(t, cmd); code != 0 {
			t.Fatalf("events %v: watch exit %d: %s", events, code, errOut.String())
		}
		out.waitFor(t, id+"  completed  100%")
		gets, subs := proxy.count("GET /v1/jobs/{id}"), proxy.count("GET /v1/events")
		switch {
		case events && (gets != 1 || subs != 1):
			t.Errorf("with events: %d reads of the job, %d subscriptions; want 1 and 1", gets, subs)
		case !events && (gets < 3 || subs != 1):
			t.Errorf("without events: %d reads of the job, %d subscriptions; want it polled after one 404", gets, subs)
		}
	}
}
