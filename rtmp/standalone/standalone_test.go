package standalone

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/syncbuf"
	"github.com/ffrtmp/ffrtmp/rtmp"
)

// fakeMaster records the events it takes; while down it answers none.
type fakeMaster struct {
	mu     sync.Mutex
	down   bool
	status int // answer every event with this error status (0: take it)
	got    []api.IngestEvent
	tries  int
	took   chan struct{}
}

func newFakeMaster() *fakeMaster { return &fakeMaster{took: make(chan struct{}, 1024)} }

func (f *fakeMaster) AuthorizePublish(context.Context, api.IngestPublishRequest) (*api.IngestPublishReply, error) {
	return nil, errors.New("not used")
}

func (f *fakeMaster) AuthorizePlay(context.Context, api.IngestPlayRequest) error {
	return errors.New("not used")
}

func (f *fakeMaster) IngestEvent(_ context.Context, ev api.IngestEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	switch {
	case f.down:
		return errors.New("connection refused")
	case f.status != 0:
		return &api.Error{Status: f.status, Code: "x", Message: "no"}
	}
	f.got = append(f.got, ev)
	f.took <- struct{}{}
	return nil
}

func (f *fakeMaster) set(down bool, status int) {
	f.mu.Lock()
	f.down, f.status = down, status
	f.mu.Unlock()
}

func (f *fakeMaster) events() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, ev := range f.got {
		out = append(out, string(ev.Type)+" "+ev.StreamID)
	}
	return out
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testReporter(t *testing.T, m Master, queue int) *reporter {
	t.Helper()
	met, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r := newReporter(m, "rtmp://edge:1935", queue, time.Second, met, quiet)
	r.retry.Base, r.retry.Max = 6*time.Millisecond, 24*time.Millisecond
	return r
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// The master hears a stream's news in order, after an outage too; stats while it is away are
// not retried, and none follow a stream's unpublish.
func TestReporterDeliversInOrderAcrossAnOutage(t *testing.T) {
	f := newFakeMaster()
	r := testReporter(t, f, 64)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); r.run(stop) }()
	defer func() { close(stop); <-done }()

	f.set(true, 0)
	r.Published("a", rtmp.StreamInfo{VideoCodec: "h264", Width: 320, Height: 180, Remote: "192.0.2.1:4000", Session: "sess-a"})
	r.stats("a", rtmp.StreamStats{Bytes: 100})
	r.stats("a", rtmp.StreamStats{Bytes: 200}) // replaces the queued one
	r.Published("b", rtmp.StreamInfo{Continued: true})
	r.Unpublished("a", rtmp.StreamStats{Bytes: 300})
	r.stats("a", rtmp.StreamStats{Bytes: 400}) // after its unpublish: not sent
	waitFor(t, "retries while the master is down", func() bool { return value(r.m.retries) >= 3 })
	f.set(false, 0)
	waitFor(t, "the queue to empty", func() bool { return r.pending() == 0 })

	want := []string{"published a", "stats a", "continued b", "unpublished a"}
	if got := f.events(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("master got %v, want %v", got, want)
	}
	f.mu.Lock()
	first, stats, gone := f.got[0], f.got[1], f.got[3]
	f.mu.Unlock()
	if first.Relay != "rtmp://edge:1935" || first.Session != "sess-a" || first.Input == nil || first.Input.Width != 320 || first.Input.Remote != "192.0.2.1:4000" {
		t.Errorf("published event %+v (input %+v): want the relay, the master's session and the input", first, first.Input)
	}
	if stats.Bytes != 200 || stats.Session != "sess-a" {
		t.Errorf("stats event %+v: want the latest counters (200 bytes) of session sess-a", stats)
	}
	if gone.Session != "sess-a" {
		t.Errorf("unpublished event %+v: want session sess-a", gone)
	}
	if n := value(r.m.delivered.WithLabelValues("published")); n != 1 {
		t.Errorf("delivered{published} = %v", n)
	}
}

// A stats event the master does not take is dropped, not retried; an event the master
// refuses (404: the stream was deleted) is dropped and the next one goes.
func TestReporterDropsWhatCannotBeDelivered(t *testing.T) {
	f := newFakeMaster()
	r := testReporter(t, f, 64)
	f.set(true, 0)
	r.Published("a", rtmp.StreamInfo{})
	// Deliver by hand, the head only.
	r.pop() // the published: pretend it went
	r.stats("a", rtmp.StreamStats{Bytes: 1})
	if r.deliver(mustHead(t, r), time.Second) || r.pending() != 0 {
		t.Errorf("failed stats: still queued (%d) or reported delivered", r.pending())
	}
	f.set(false, 404)
	r.Unpublished("a", rtmp.StreamStats{})
	if !r.deliver(mustHead(t, r), time.Second) || r.pending() != 0 {
		t.Errorf("an event the master refuses with 404 is kept (%d queued)", r.pending())
	}
	f.set(false, 503)
	r.Published("b", rtmp.StreamInfo{})
	if r.deliver(mustHead(t, r), time.Second) || r.pending() != 1 {
		t.Errorf("an event the master could not take (503) is not kept for a retry (%d queued)", r.pending())
	}
}

func mustHead(t *testing.T, r *reporter) api.IngestEvent {
	t.Helper()
	ev, ok := r.head()
	if !ok {
		t.Fatal("queue empty")
	}
	return ev
}

// A full queue drops stats first, then the oldest event not in flight, and counts them.
func TestReporterQueueBound(t *testing.T) {
	f := newFakeMaster()
	r := testReporter(t, f, 4)
	r.Published("a", rtmp.StreamInfo{})
	r.Published("b", rtmp.StreamInfo{})
	r.stats("a", rtmp.StreamStats{})
	r.stats("b", rtmp.StreamStats{})
	r.Published("c", rtmp.StreamInfo{}) // drops stats a
	r.Published("d", rtmp.StreamInfo{}) // drops stats b
	r.Published("e", rtmp.StreamInfo{}) // drops published b (a, the head, may be in flight)
	var got []string
	for _, ev := range r.q {
		got = append(got, string(ev.Type)+" "+ev.StreamID)
	}
	want := []string{"published a", "published c", "published d", "published e"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("queue %v, want %v", got, want)
	}
	if n := value(r.m.dropped.WithLabelValues("stats")); n != 2 {
		t.Errorf("dropped{stats} = %v, want 2", n)
	}
	if n := value(r.m.dropped.WithLabelValues("published")); n != 1 {
		t.Errorf("dropped{published} = %v, want 1", n)
	}
}

// Stopping gives the queued unpublishes until the deadline, skipping stats.
func TestReporterDrain(t *testing.T) {
	f := newFakeMaster()
	r := testReporter(t, f, 64)
	r.Published("a", rtmp.StreamInfo{})
	r.stats("a", rtmp.StreamStats{})
	r.Unpublished("a", rtmp.StreamStats{})
	if left := r.drain(time.Now().Add(5 * time.Second)); left != 0 {
		t.Fatalf("%d events left", left)
	}
	if got := f.events(); strings.Join(got, ",") != "published a,unpublished a" {
		t.Errorf("master got %v", got)
	}
	f.set(true, 0)
	r.Published("b", rtmp.StreamInfo{})
	start := time.Now()
	if left := r.drain(time.Now().Add(200 * time.Millisecond)); left != 1 {
		t.Errorf("master down: %d left, want 1", left)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("drain took %v past its 200 ms deadline", took)
	}
}

// hangingMaster never answers a publish.
type hangingMaster struct{ fakeMaster }

func (h *hangingMaster) AuthorizePublish(ctx context.Context, _ api.IngestPublishRequest) (*api.IngestPublishReply, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A publish the master does not answer is refused within the timeout, and logged and
// counted as the ingest's trouble; the master's own refusal comes through as it is.
func TestAuthorizerMasterDown(t *testing.T) {
	reg := prometheus.NewRegistry()
	met, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	ln.Close()
	gone, err := api.NewClient(closedURL, "k")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	for _, m := range []Master{gone, &hangingMaster{}} {
		a := &authorizer{master: m, relay: "rtmp://edge:1935", timeout: 300 * time.Millisecond, m: met, log: log}
		start := time.Now()
		_, _, err := a.AuthorizePublish(context.Background(), "live", "secret-key")
		if err == nil {
			t.Fatalf("%T: publish admitted with no master", m)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%T: refusal took %v", m, took)
		}
		if strings.Contains(err.Error(), "secret-key") {
			t.Errorf("error %q holds the key", err)
		}
	}
	if !strings.Contains(logs.String(), "the master did not answer: publish refused") || strings.Contains(logs.String(), "secret-key") {
		t.Errorf("log %q: want the master's silence said, the key not", logs.String())
	}
	if n := value(met.authErrors.WithLabelValues("publish")); n != 2 {
		t.Errorf("authorize_errors{publish} = %v, want 2", n)
	}
	a := &authorizer{master: &refusingMaster{}, relay: "rtmp://edge:1935", timeout: time.Second, m: met, log: log}
	if _, _, err := a.AuthorizePublish(context.Background(), "live", "k"); err == nil || err.Error() != "publish refused: unknown stream key" {
		t.Errorf("the master's refusal came through as %v", err)
	}
	if _, _, err := a.AuthorizePublish(context.Background(), "other", "k"); err == nil || !strings.Contains(err.Error(), "unknown application") {
		t.Errorf("another application: %v", err)
	}
}

type refusingMaster struct{ fakeMaster }

func (*refusingMaster) AuthorizePublish(context.Context, api.IngestPublishRequest) (*api.IngestPublishReply, error) {
	return nil, &api.Error{Status: 403, Code: api.CodePublishRefused, Message: "publish refused: unknown stream key"}
}

func TestDefaultRelay(t *testing.T) {
	for _, c := range []struct {
		addr  string
		rtmps bool
		want  string
	}{
		{"127.0.0.1:1935", false, "rtmp://127.0.0.1:1935"},
		{"[::1]:443", true, "rtmps://[::1]:443"},
	} {
		a, _ := net.ResolveTCPAddr("tcp", c.addr)
		if got, err := defaultRelay(a, c.rtmps); err != nil || got != c.want {
			t.Errorf("defaultRelay(%s) = %q, %v; want %q", c.addr, got, err, c.want)
		}
	}
	a, _ := net.ResolveTCPAddr("tcp", "0.0.0.0:1935")
	if got, err := defaultRelay(a, false); err != nil || strings.Contains(got, "0.0.0.0") || !strings.HasSuffix(got, ":1935") {
		t.Errorf("on all interfaces: %q, %v; want this machine's name", got, err)
	}
}
