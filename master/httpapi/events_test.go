package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// eventFeed reads an event stream into a channel until the stream ends.
type eventFeed struct {
	es *api.EventStream
	ch chan api.ServerEvent
}

func openEvents(t *testing.T, c *api.Client, opts api.EventsOptions) *eventFeed {
	t.Helper()
	es, err := c.Events(ctxT(t), opts)
	if err != nil {
		t.Fatalf("open events %+v: %v", opts, err)
	}
	f := &eventFeed{es: es, ch: make(chan api.ServerEvent, 1024)}
	go func() {
		defer close(f.ch)
		for {
			ev, err := es.Next()
			if err != nil {
				return
			}
			f.ch <- ev
		}
	}()
	t.Cleanup(func() { es.Close() })
	return f
}

// until reads events until ok says the one wanted came, and returns them all.
func (f *eventFeed) until(t *testing.T, what string, ok func(api.ServerEvent) bool) []api.ServerEvent {
	t.Helper()
	var got []api.ServerEvent
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, open := <-f.ch:
			if !open {
				t.Fatalf("the stream ended before %s; read %s", what, describe(got))
			}
			got = append(got, ev)
			if ok(ev) {
				return got
			}
		case <-timeout:
			t.Fatalf("no %s within 10 s; read %s", what, describe(got))
		}
	}
}

func describe(evs []api.ServerEvent) string {
	var parts []string
	for _, ev := range evs {
		s := ev.ID + " " + ev.Type
		switch {
		case ev.Job != nil:
			s += " " + ev.Job.ID + " " + string(ev.Job.Status)
			if ev.Job.Progress != nil {
				s += fmt.Sprintf(" %.0f%%", ev.Job.Progress.Percent)
			}
		case ev.Node != nil:
			s += " " + ev.Node.ID + " " + string(ev.Node.Status)
		case ev.Stream != nil:
			s += " " + ev.Stream.Name + " " + string(ev.Stream.State)
		case ev.Deleted != nil:
			s += " deleted " + ev.Deleted.ID
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func jobIs(id string, st api.Status, pct float64) func(api.ServerEvent) bool {
	return func(ev api.ServerEvent) bool {
		return ev.Job != nil && ev.Job.ID == id && ev.Job.Status == st &&
			(pct == 0 || ev.Job.Progress != nil && ev.Job.Progress.Percent == pct)
	}
}

func eventID(t *testing.T, ev api.ServerEvent) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(ev.ID, 10, 64)
	if err != nil {
		t.Fatalf("event ID %q: %v", ev.ID, err)
	}
	return n
}

// TestEventsFollowAJob: a job's life shows as events in order with increasing IDs; a
// subscriber that resumes gets exactly what it missed; an ID the master does not hold gets
// one reset; a restarted master's IDs go on increasing.
func TestEventsFollowAJob(t *testing.T) {
	h := start(t)
	ctx := ctxT(t)
	sub, wc := h.Client(t, auth.RoleSubmitter), h.Client(t, auth.RoleWorker)
	feed := openEvents(t, sub, api.EventsOptions{Types: []string{api.ServerEventJob}})

	job := submit(t, sub, scenarioJob("", 0))
	node := registerNode(t, wc, "events-node", 1)
	l := lease(t, wc, node.ID)
	if l.Job.ID != job.ID {
		t.Fatalf("leased %s, want %s", l.Job.ID, job.ID)
	}
	report := func(pct float64) {
		t.Helper()
		if _, err := wc.ReportProgress(ctx, job.ID, api.ProgressReport{Node: node.ID, Progress: &api.Progress{Percent: pct, FPS: 30}}); err != nil {
			t.Fatal(err)
		}
	}
	report(10) // starts it: a state change, at once
	got := feed.until(t, "the job running", jobIs(job.ID, api.StatusRunning, 10))
	report(20) // within the second: held back, then replaced
	report(50)
	got = append(got, feed.until(t, "its progress at 50%", jobIs(job.ID, api.StatusRunning, 50))...)
	if _, err := wc.Complete(ctx, job.ID, api.CompleteReport{Node: node.ID}); err != nil {
		t.Fatal(err)
	}
	got = append(got, feed.until(t, "the job completed", jobIs(job.ID, api.StatusCompleted, 0))...)

	var statuses []string
	var last uint64
	for _, ev := range got {
		if id := eventID(t, ev); id <= last {
			t.Fatalf("event IDs do not increase: %s", describe(got))
		} else {
			last = id
		}
		if ev.Type != api.ServerEventJob || ev.Job == nil || ev.Job.ID != job.ID {
			t.Fatalf("unexpected event: %s", describe(got))
		}
		if ev.Job.Progress != nil && ev.Job.Progress.Percent == 20 {
			t.Errorf("a report held back within its second was sent: %s", describe(got))
		}
		statuses = append(statuses, string(ev.Job.Status))
	}
	if s := strings.Join(statuses, ","); s != "queued,assigned,running,running,completed" {
		t.Fatalf("statuses %s, want queued,assigned,running,running,completed: %s", s, describe(got))
	}

	// Resume after the assignment: exactly what came after it.
	resumed := openEvents(t, sub, api.EventsOptions{Types: []string{api.ServerEventJob}, LastEventID: got[1].ID})
	again := resumed.until(t, "the replayed completion", jobIs(job.ID, api.StatusCompleted, 0))
	if len(again) != len(got)-2 {
		t.Fatalf("resumed after %s: read %s, want %s", got[1].ID, describe(again), describe(got[2:]))
	}
	for i, ev := range again {
		if ev.ID != got[i+2].ID || !bytes.Equal(ev.Data, got[i+2].Data) {
			t.Fatalf("resumed event %d: %s %s, want %s %s", i, ev.ID, ev.Data, got[i+2].ID, got[i+2].Data)
		}
	}

	// IDs this master does not hold: before its first event, and in the future.
	for _, from := range []string{"1", strconv.FormatUint(last+1000, 10)} {
		f := openEvents(t, sub, api.EventsOptions{LastEventID: from})
		evs := f.until(t, "a reset", func(api.ServerEvent) bool { return true })
		if evs[0].Type != api.ServerEventReset || evs[0].Reset == nil || eventID(t, evs[0]) < last {
			t.Fatalf("resume after %s: %s %s, want a reset at %d or later", from, evs[0].Type, evs[0].Data, last)
		}
	}
	// The query parameter works as the header does (EventSource reconnects).
	r := call(t, h, "GET", "/v1/events?last_event_id=abc", mastertest.SubmitterKey, nil)
	r.wantError(t, http.StatusBadRequest, api.CodeBadRequest, "last_event_id")
	r = call(t, h, "GET", "/v1/events?types=job,jobs", mastertest.SubmitterKey, nil)
	r.wantError(t, http.StatusBadRequest, api.CodeBadRequest, "types")
	r = call(t, h, "GET", "/v1/events", mastertest.SubmitterKey, nil, "Last-Event-ID", "-1")
	r.wantError(t, http.StatusBadRequest, api.CodeBadRequest, "Last-Event-ID")
	r = call(t, h, "GET", "/v1/events", mastertest.SubmitterKey, nil)
	for k, v := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}

	// A restarted master: its IDs are above the old ones, and an old ID gets a reset.
	if err := h.Stop(t); err != nil {
		t.Fatal(err)
	}
	h2 := restart(t, h.Dir)
	sub2 := h2.Client(t, auth.RoleSubmitter)
	f := openEvents(t, sub2, api.EventsOptions{LastEventID: got[1].ID})
	evs := f.until(t, "a reset", func(api.ServerEvent) bool { return true })
	if evs[0].Type != api.ServerEventReset || eventID(t, evs[0]) <= last {
		t.Fatalf("after a restart, resume after %s: %s %s, want a reset above %d", got[1].ID, evs[0].ID, evs[0].Type, last)
	}
}

// TestEventsTenants: a submitter sees its tenant's jobs and streams and nothing of another
// tenant's; nodes are everyone's; an admin sees all.
func TestEventsTenants(t *testing.T) {
	h := start(t)
	mine, other, admin := h.Client(t, auth.RoleSubmitter), h.ClientWithKey(t, mastertest.OtherTenantKey), h.Client(t, auth.RoleAdmin)
	otherFeed := openEvents(t, other, api.EventsOptions{})
	adminFeed := openEvents(t, admin, api.EventsOptions{})

	myJob := submit(t, mine, scenarioJob("", 0))
	myStream, err := mine.CreateStream(ctxT(t), api.StreamRequest{Name: "tenant-a-cam", Preset: "abr-480p"})
	if err != nil {
		t.Fatal(err)
	}
	otherJob := submit(t, other, scenarioJob("", 0))
	registerNode(t, h.Client(t, auth.RoleWorker), "tenants-node", 1)

	isNode := func(ev api.ServerEvent) bool { return ev.Node != nil && ev.Node.ID == "tenants-node" }
	seen := otherFeed.until(t, "the node", isNode)
	ownSeen := false
	for _, ev := range seen {
		if bytes.Contains(ev.Data, []byte(myJob.ID)) || bytes.Contains(ev.Data, []byte(myStream.ID)) || bytes.Contains(ev.Data, []byte("tenant-a-cam")) {
			t.Fatalf("tenant %s sees the default tenant's job or stream: %s", mastertest.OtherTenant, ev.Data)
		}
		ownSeen = ownSeen || (ev.Job != nil && ev.Job.ID == otherJob.ID)
	}
	if !ownSeen {
		t.Fatalf("tenant %s did not see its own job: %s", mastertest.OtherTenant, describe(seen))
	}
	all := adminFeed.until(t, "the node", isNode)
	var jobs, streams int
	for _, ev := range all {
		if ev.Job != nil && (ev.Job.ID == myJob.ID || ev.Job.ID == otherJob.ID) {
			jobs++
		}
		if ev.Stream != nil && ev.Stream.ID == myStream.ID {
			streams++
		}
	}
	if jobs != 2 || streams != 1 {
		t.Fatalf("the admin saw %d of 2 jobs, %d of 1 stream: %s", jobs, streams, describe(all))
	}
}

// TestEventsNeverCarryStreamKeys: stream events (created, key rotated, deleted) hold neither
// the stream key nor a destination's key.
func TestEventsNeverCarryStreamKeys(t *testing.T) {
	h := start(t)
	ctx := ctxT(t)
	sub := h.Client(t, auth.RoleSubmitter)
	feed := openEvents(t, sub, api.EventsOptions{Types: []string{api.ServerEventStream}})
	st, err := sub.CreateStream(ctx, api.StreamRequest{Name: "secret-cam", Preset: "abr-480p",
		Destinations: []string{"rtmp://restream.example/live/dest-key-7f3a"}})
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := sub.RotateStreamKey(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.DeleteStream(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	got := feed.until(t, "the deletion", func(ev api.ServerEvent) bool { return ev.Deleted != nil && ev.Deleted.ID == st.ID })
	if len(got) != 3 || got[0].Stream == nil || got[1].Stream == nil {
		t.Fatalf("stream events: %s", describe(got))
	}
	for _, ev := range got {
		for _, secret := range []string{st.StreamKey, rotated.StreamKey, "dest-key-7f3a"} {
			if bytes.Contains(ev.Data, []byte(secret)) {
				t.Fatalf("a stream event carries a secret: %s", ev.Data)
			}
		}
	}
}

// TestEventsLimitPerKey: a key may hold DefaultMaxPerKey streams; the next is refused with
// 429 until one closes, and other keys are not affected.
func TestEventsLimitPerKey(t *testing.T) {
	h := start(t)
	sub := h.Client(t, auth.RoleSubmitter)
	var open []*api.EventStream
	for range 16 {
		es, err := sub.Events(ctxT(t), api.EventsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, es)
	}
	_, err := sub.Events(ctxT(t), api.EventsOptions{})
	e := wantAPIError(t, err, http.StatusTooManyRequests, api.CodeTooMany, "")
	if !strings.Contains(e.Message, "16 event streams open") || e.RetryAfter == 0 {
		t.Errorf("429 message %q, retry after %d", e.Message, e.RetryAfter)
	}
	if es, err := h.Client(t, auth.RoleAdmin).Events(ctxT(t), api.EventsOptions{}); err != nil {
		t.Fatalf("another key: %v", err)
	} else {
		es.Close()
	}
	open[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		es, err := sub.Events(ctxT(t), api.EventsOptions{})
		if err == nil {
			es.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream's place was not freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, es := range open[1:] {
		es.Close()
	}
}

// TestEventsStalledReader: a subscriber that reads nothing does not hold up the farm: jobs
// (whose events are far more than the connection buffers) are submitted at full speed, and
// the stalled stream is cut off after the write timeout, freeing its place.
func TestEventsStalledReader(t *testing.T) {
	h := start(t, func(c *master.Config) { c.WriteTimeout = time.Second })
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.DialContext(ctxT(t), "tcp", strings.TrimPrefix(h.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", mastertest.AdminKey)
	head := make([]byte, 12)
	if _, err := io.ReadFull(conn, head); err != nil || string(head) != "HTTP/1.1 200" {
		t.Fatalf("stalled client's answer: %q, %v", head, err)
	}

	sub := h.Client(t, auth.RoleSubmitter)
	labels := map[string]string{}
	for i := range 32 {
		labels[fmt.Sprintf("k%02d-%s", i, strings.Repeat("k", 200))] = strings.Repeat("v", 256)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	const n = 400 // ~16 KiB each: more than a loopback connection buffers (4 MiB)
	for i := range n {
		req := scenarioJob("batch", 0)
		req.Labels = labels
		if _, err := sub.SubmitJob(ctx, req, ""); err != nil {
			t.Fatalf("submit %d of %d with a stalled subscriber: %v", i+1, n, err)
		}
	}
	t.Logf("%d jobs submitted in %s with a stalled subscriber", n, time.Since(start).Round(time.Millisecond))
	// Its place is freed once the write timeout cut it off: the admin key opens its 16.
	deadline := time.Now().Add(15 * time.Second)
	admin := h.Client(t, auth.RoleAdmin)
	for opened := 0; opened < 16; {
		es, err := admin.Events(ctx, api.EventsOptions{})
		if err == nil {
			defer es.Close()
			opened++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stalled stream still holds its place: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
