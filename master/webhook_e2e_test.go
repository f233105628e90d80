package master_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
	"github.com/ffrtmp/ffrtmp/master/webhook"
)

const hookSecret = "e2e-webhook-secret"

// hookPost is one POST a receiver got.
type hookPost struct {
	event, job, sig string
	delivery        string
	attempt         int
	body            []byte
}

// payload is the webhook body as a receiver reads it.
type payload struct {
	Event string     `json:"event"`
	From  api.Status `json:"from"`
	Job   api.Job    `json:"job"`
}

// receiver is an httptest server that records every webhook POST and answers with what
// answer returns for the n-th POST (counting from 1).
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	posts []hookPost
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		attempt, _ := strconv.Atoi(r.Header.Get("X-Ffrtmp-Attempt"))
		rc.mu.Lock()
		rc.posts = append(rc.posts, hookPost{event: r.Header.Get("X-Ffrtmp-Event"), job: r.Header.Get("X-Ffrtmp-Job"),
			sig: r.Header.Get("X-Ffrtmp-Signature"), delivery: r.Header.Get("X-Ffrtmp-Delivery"), attempt: attempt, body: body})
		n := len(rc.posts)
		rc.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// waitPosts waits until the receiver got at least n POSTs and returns them.
func (rc *receiver) waitPosts(t *testing.T, n int) []hookPost {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rc.mu.Lock()
		got := append([]hookPost(nil), rc.posts...)
		rc.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d webhook POSTs within 15 s, want %d", len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startWithHooks runs a master with a known webhook secret and quick webhook retries that
// may send webhooks to the tests' receivers on loopback (as --webhook-allow-cidr 127.0.0.0/8
// does); mutate may change the config further.
func startWithHooks(t *testing.T, mutate ...func(*master.Config)) *mastertest.Harness {
	t.Helper()
	return mastertest.Start(t, append([]func(*master.Config){func(c *master.Config) {
		c.WebhookSecret = hookSecret
		c.WebhookBackoff = 20 * time.Millisecond
		c.WebhookAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}}, mutate...)...)
}

// verify checks a POST's signature with the master's secret, and that another secret fails.
func verify(t *testing.T, p hookPost) {
	t.Helper()
	if err := webhook.Verify([]byte(hookSecret), p.sig, p.body, time.Now(), 0); err != nil {
		t.Errorf("%s (delivery %s attempt %d): signature does not verify: %v", p.event, p.delivery, p.attempt, err)
	}
	if err := webhook.Verify([]byte("another secret"), p.sig, p.body, time.Now(), 0); !errors.Is(err, webhook.ErrSignatureMismatch) {
		t.Errorf("%s: verified with the wrong secret: %v", p.event, err)
	}
}

// TestWebhookLifecycle: a job with a callback URL gets a signed POST for queued, assigned,
// running and completed, in that order, each carrying the job as it then was.
func TestWebhookLifecycle(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	h := startWithHooks(t)
	ctx := context.Background()
	sub, wrk := h.Client(t, auth.RoleSubmitter), h.Client(t, auth.RoleWorker)
	job, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", CallbackURL: rc.URL + "/hooks/job?token=abc"}, "")
	if err != nil {
		t.Fatal(err)
	}
	node, err := wrk.Register(ctx, api.Registration{Name: "w1", Capabilities: api.Capabilities{CPUs: 4, Encoders: []string{"libx264"}, Slots: 1}})
	if err != nil {
		t.Fatal(err)
	}
	lease, err := wrk.Lease(ctx, node.ID, 5*time.Second)
	if err != nil || lease == nil || lease.Job.ID != job.ID {
		t.Fatalf("lease: %+v %v, want job %s", lease, err, job.ID)
	}
	if _, err := wrk.ReportProgress(ctx, job.ID, api.ProgressReport{Node: node.ID, Phase: api.PhaseTranscoding,
		Progress: &api.Progress{Percent: 40, FPS: 60, Speed: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := wrk.Complete(ctx, job.ID, api.CompleteReport{Node: node.ID, Result: &api.Result{Frames: 300}}); err != nil {
		t.Fatal(err)
	}

	posts := rc.waitPosts(t, 4)
	want := []api.Status{api.StatusQueued, api.StatusAssigned, api.StatusRunning, api.StatusCompleted}
	if len(posts) != len(want) {
		t.Fatalf("receiver got %d POSTs, want %d", len(posts), len(want))
	}
	var lastDelivery int
	for i, p := range posts {
		verify(t, p)
		var pl payload
		if err := json.Unmarshal(p.body, &pl); err != nil {
			t.Fatalf("POST %d body %s: %v", i, p.body, err)
		}
		ev := "job." + string(want[i])
		if p.event != ev || pl.Event != ev || pl.Job.Status != want[i] {
			t.Errorf("POST %d: header %s, body event %s with job %s; want %s", i, p.event, pl.Event, pl.Job.Status, ev)
		}
		if i > 0 && pl.From != want[i-1] {
			t.Errorf("POST %d (%s): from %q, want %q", i, ev, pl.From, want[i-1])
		}
		if p.job != job.ID || pl.Job.ID != job.ID {
			t.Errorf("POST %d: job %s / %s, want %s", i, p.job, pl.Job.ID, job.ID)
		}
		if p.attempt != 1 {
			t.Errorf("POST %d: attempt %d, want 1 (the receiver always answered 200)", i, p.attempt)
		}
		d, err := strconv.Atoi(p.delivery)
		if err != nil || d <= lastDelivery {
			t.Errorf("POST %d: delivery %q after %d, want increasing numbers", i, p.delivery, lastDelivery)
		}
		lastDelivery = d
	}
	var pl payload
	_ = json.Unmarshal(posts[3].body, &pl)
	if pl.Job.Result == nil || pl.Job.Result.Frames != 300 {
		t.Errorf("job.completed carries result %+v, want the completion's", pl.Job.Result)
	}
}

// TestWebhookRetriedUntilDelivered: a receiver that answers 500 twice, then 200, gets the
// same delivery three times, each signed afresh, and the job gets no warning.
func TestWebhookRetriedUntilDelivered(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			http.Error(w, "receiver is down", http.StatusInternalServerError)
		}
	})
	h := startWithHooks(t)
	ctx := context.Background()
	sub := h.Client(t, auth.RoleSubmitter)
	job, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", CallbackURL: rc.URL}, "")
	if err != nil {
		t.Fatal(err)
	}
	posts := rc.waitPosts(t, 3)
	for i, p := range posts {
		verify(t, p)
		if p.event != "job.queued" || p.delivery != posts[0].delivery || p.attempt != i+1 {
			t.Errorf("POST %d: %s delivery %s attempt %d, want job.queued delivery %s attempt %d", i, p.event, p.delivery, p.attempt, posts[0].delivery, i+1)
		}
	}

	// The metrics see two failures and one success; then the job has no warning event.
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := scrape(t, h)
		failed, ok := m.sum("ffrtmp_master_webhook_deliveries_total", `result="failed"`), m.sum("ffrtmp_master_webhook_deliveries_total", `result="ok"`)
		if failed == 2 && ok == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook_deliveries_total failed=%v ok=%v, want 2 and 1", failed, ok)
		}
		time.Sleep(5 * time.Millisecond)
	}
	evs, err := sub.JobEvents(ctx, job.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Events {
		if e.Type == api.EventWarning {
			t.Errorf("job has a warning although the webhook was delivered: %s", e.Message)
		}
	}
	if n := len(rc.waitPosts(t, 0)); n != 3 {
		t.Errorf("receiver got %d POSTs, want 3", n)
	}
}

// TestWebhookHangingReceiver: a receiver that never answers does not hold up the API: jobs
// are created, read and canceled while its POST hangs.
func TestWebhookHangingReceiver(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{}, 64)
	release := make(chan struct{})
	var hanging atomic.Int32 // POSTs the receiver holds right now
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		defer hanging.Add(-1)
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	// Cleanups run last-in first-out: release the handlers before the receiver closes.
	t.Cleanup(func() { close(release) })
	h := startWithHooks(t)
	ctx := context.Background()
	sub := h.Client(t, auth.RoleSubmitter)
	first, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", CallbackURL: rc.URL}, "")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(15 * time.Second):
		t.Fatal("the receiver got no POST within 15 s")
	}

	// The receiver is stuck in its first POST now, and stays so until the test ends.
	var ids []string
	for i := range 12 {
		job, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", CallbackURL: rc.URL}, "")
		if err != nil {
			t.Fatalf("submit %d while the receiver hangs: %v", i, err)
		}
		ids = append(ids, job.ID)
	}
	if job, err := sub.CancelJob(ctx, first.ID); err != nil || job.Status != api.StatusCanceled {
		t.Fatalf("cancel while the receiver hangs: %v %v", job, err)
	}
	list, err := sub.ListJobs(ctx, api.ListJobsOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Jobs) != 13 {
		t.Fatalf("%d jobs listed, want 13", len(list.Jobs))
	}
	if hanging.Load() == 0 {
		t.Fatal("the receiver stopped hanging before the API calls were done: the test proves nothing")
	}
	for _, p := range rc.waitPosts(t, 1) {
		if p.attempt != 1 {
			t.Errorf("POST %s attempt %d while every POST hangs, want only first attempts", p.event, p.attempt)
		}
	}
	for _, id := range ids {
		if job, err := sub.GetJob(ctx, id); err != nil || job.Status != api.StatusQueued {
			t.Errorf("job %s: %v %v, want queued", id, job, err)
		}
	}
}

// TestWebhookGoneNotRetried: a receiver answering 410 gets one POST per event, never a
// retry, and the job gets a warning event that names the host but not the URL's secret.
func TestWebhookGoneNotRetried(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "this hook was removed", http.StatusGone)
	})
	h := startWithHooks(t)
	ctx := context.Background()
	sub := h.Client(t, auth.RoleSubmitter)
	job, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", CallbackURL: rc.URL + "/hook?token=s3cret"}, "")
	if err != nil {
		t.Fatal(err)
	}
	warnings := waitWarnings(t, sub, job.ID, 1)
	if !strings.Contains(warnings[0].Message, "410") || !strings.Contains(warnings[0].Message, "job.queued") {
		t.Errorf("warning %q, want it to name the event and the 410", warnings[0].Message)
	}
	if strings.Contains(warnings[0].Message, "s3cret") {
		t.Errorf("warning %q shows the callback URL's token", warnings[0].Message)
	}

	// A later event of the same job is sent (once) and given up too: the first one was
	// never tried again in between.
	if _, err := sub.CancelJob(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	waitWarnings(t, sub, job.ID, 2)
	posts := rc.waitPosts(t, 2)
	if len(posts) != 2 || posts[0].event != "job.queued" || posts[1].event != "job.canceled" || posts[0].attempt != 1 || posts[1].attempt != 1 {
		var got []string
		for _, p := range posts {
			got = append(got, p.event+"#"+strconv.Itoa(p.attempt))
		}
		t.Fatalf("receiver got %v, want job.queued#1 and job.canceled#1 only", got)
	}
}

// waitWarnings waits until job has n warning events and returns them.
func waitWarnings(t *testing.T, c *api.Client, id string, n int) []api.Event {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		evs, err := c.JobEvents(context.Background(), id, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var warnings []api.Event
		for _, e := range evs.Events {
			if e.Type == api.EventWarning {
				warnings = append(warnings, e)
			}
		}
		if len(warnings) >= n {
			return warnings
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s has %d warning events after 15 s, want %d", id, len(warnings), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
