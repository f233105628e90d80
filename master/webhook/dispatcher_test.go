package webhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/internal/syncbuf"
	"github.com/ffrtmp/ffrtmp/master/egress"
)

var testSecret = []byte("test secret")

// loopback lets a dispatcher reach the tests' receivers on 127.0.0.1, as an operator's
// --webhook-allow-cidr 127.0.0.0/8 would.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// memOutbox is an in-memory Outbox (the bbolt one is tested in master/store).
type memOutbox struct {
	mu        sync.Mutex
	seq       uint64
	items     map[uint64]Delivery
	delivered []uint64
	retries   []retryCall
	gaveUp    map[uint64]string
	gaveUpDel map[uint64]Delivery
	dueErr    error
	dueCalls  int
}

type retryCall struct {
	seq      uint64
	attempts int
	next     time.Time
	at       time.Time
	lastErr  string
}

func newMemOutbox() *memOutbox {
	return &memOutbox{items: map[uint64]Delivery{}, gaveUp: map[uint64]string{}, gaveUpDel: map[uint64]Delivery{}}
}

func (m *memOutbox) add(job, url, event string) uint64 {
	return m.addAt(job, url, event, time.Now(), 0)
}

func (m *memOutbox) addAt(job, url, event string, next time.Time, attempts int) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	m.items[m.seq] = Delivery{
		Seq: m.seq, JobID: job, URL: url, Event: event, Attempts: attempts, NextAt: next, CreatedAt: time.Now(),
		Body: fmt.Appendf(nil, `{"event":%q,"job":{"id":%q},"seq":%d}`, event, job, m.seq),
	}
	return m.seq
}

func (m *memOutbox) remove(seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, seq)
}

func (m *memOutbox) Due(_ context.Context, now time.Time, limit int) ([]Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dueCalls++
	if m.dueErr != nil {
		return nil, m.dueErr
	}
	var due []Delivery
	for _, d := range m.items {
		if !d.NextAt.After(now) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b Delivery) int { return cmp.Compare(a.Seq, b.Seq) })
	return due[:min(len(due), limit)], nil
}

func (m *memOutbox) Delivered(_ context.Context, seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[seq]; !ok {
		return fmt.Errorf("delivery %d is not in the outbox", seq)
	}
	delete(m.items, seq)
	m.delivered = append(m.delivered, seq)
	return nil
}

func (m *memOutbox) Retry(_ context.Context, seq uint64, attempts int, next time.Time, lastErr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.items[seq]
	if !ok {
		return fmt.Errorf("delivery %d is not in the outbox", seq)
	}
	d.Attempts, d.NextAt = attempts, next
	m.items[seq] = d
	m.retries = append(m.retries, retryCall{seq: seq, attempts: attempts, next: next, at: time.Now(), lastErr: lastErr})
	return nil
}

func (m *memOutbox) GiveUp(_ context.Context, d Delivery, lastErr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[d.Seq]; !ok {
		return fmt.Errorf("delivery %d is not in the outbox", d.Seq)
	}
	delete(m.items, d.Seq)
	m.gaveUp[d.Seq] = lastErr
	m.gaveUpDel[d.Seq] = d
	return nil
}

// settled reports whether every delivery left the outbox (delivered or given up).
func (m *memOutbox) settled() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items) == 0
}

func (m *memOutbox) snapshot() (delivered []uint64, retries []retryCall, gaveUp map[uint64]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	gaveUp = make(map[uint64]string, len(m.gaveUp))
	for k, v := range m.gaveUp {
		gaveUp[k] = v
	}
	return slices.Clone(m.delivered), slices.Clone(m.retries), gaveUp
}

// startDispatcher runs a dispatcher with fast test defaults until the test ends, and checks
// that Run returns once its context is cancelled.
func startDispatcher(t *testing.T, out Outbox, opts Options) *Dispatcher {
	t.Helper()
	if opts.Secret == nil {
		opts.Secret = testSecret
	}
	opts.BaseBackoff = cmp.Or(opts.BaseBackoff, time.Millisecond)
	opts.MaxBackoff = cmp.Or(opts.MaxBackoff, 5*time.Millisecond)
	opts.Poll = cmp.Or(opts.Poll, 20*time.Millisecond)
	if opts.Egress.Allow == nil {
		opts.Egress.Allow = loopback
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := New(out, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context was cancelled")
		}
	})
	return d
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// request is what a test receiver saw.
type request struct {
	header http.Header
	body   []byte
}

// receiver is a loopback webhook receiver that answers with respond (200 when nil).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	respond  func(n int, w http.ResponseWriter, r *http.Request) // n counts from 1
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, request{header: r.Header.Clone(), body: body})
		n := len(rc.requests)
		rc.mu.Unlock()
		if rc.respond != nil {
			rc.respond(n, w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) seen() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.requests)
}

func TestDeliversSignedPOSTWithHeaders(t *testing.T) {
	rc := newReceiver(t, nil)
	out := newMemOutbox()
	var attempts atomic.Int32
	d := startDispatcher(t, out, Options{
		UserAgent: "ffrtmp-master/test",
		OnAttempt: func(ok bool, status int, _ time.Duration) {
			if ok && status == 200 {
				attempts.Add(1)
			}
		},
	})
	seq := out.add("job-1", rc.URL+"/hook?token=abc", "job.completed")
	d.Notify()
	waitFor(t, "the delivery is recorded", out.settled)

	reqs := rc.seen()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	for name, want := range map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "ffrtmp-master/test",
		"X-Ffrtmp-Event":    "job.completed",
		"X-Ffrtmp-Delivery": strconv.FormatUint(seq, 10),
		"X-Ffrtmp-Job":      "job-1",
		"X-Ffrtmp-Attempt":  "1",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if want := fmt.Sprintf(`{"event":"job.completed","job":{"id":"job-1"},"seq":%d}`, seq); string(r.body) != want {
		t.Errorf("body = %s, want %s", r.body, want)
	}
	if err := Verify(testSecret, r.header.Get("X-Ffrtmp-Signature"), r.body, time.Now(), time.Minute); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	if delivered, _, _ := out.snapshot(); !slices.Equal(delivered, []uint64{seq}) {
		t.Errorf("delivered = %v, want [%d]", delivered, seq)
	}
	if attempts.Load() != 1 {
		t.Errorf("OnAttempt saw %d successful attempts, want 1", attempts.Load())
	}
}

func TestRetriesAfterServerErrorThenDelivers(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			http.Error(w, "database is down", http.StatusInternalServerError)
		}
	})
	out := newMemOutbox()
	var failed atomic.Int32
	d := startDispatcher(t, out, Options{OnAttempt: func(ok bool, status int, _ time.Duration) {
		if !ok && status == 500 {
			failed.Add(1)
		}
	}})
	seq := out.add("job-1", rc.URL, "job.running")
	d.Notify()
	waitFor(t, "the delivery is recorded", out.settled)

	delivered, retries, gaveUp := out.snapshot()
	if !slices.Equal(delivered, []uint64{seq}) || len(gaveUp) != 0 {
		t.Fatalf("delivered %v, gave up %v; want %d delivered", delivered, gaveUp, seq)
	}
	if len(retries) != 1 || retries[0].seq != seq || retries[0].attempts != 1 ||
		retries[0].lastErr != "receiver answered 500" {
		t.Fatalf("retries = %+v, want one for attempt 1 naming the 500 (and nothing of the receiver's answer)", retries)
	}
	reqs := rc.seen()
	if len(reqs) != 2 || reqs[0].header.Get("X-Ffrtmp-Attempt") != "1" || reqs[1].header.Get("X-Ffrtmp-Attempt") != "2" {
		t.Fatalf("receiver got %d requests, want attempts 1 and 2", len(reqs))
	}
	if failed.Load() != 1 {
		t.Errorf("OnAttempt saw %d failed attempts with status 500, want 1", failed.Load())
	}
}

func TestRefusalGivesUpAtOnce(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "job unknown here", http.StatusGone)
	})
	out := newMemOutbox()
	d := startDispatcher(t, out, Options{})
	seq := out.add("job-1", rc.URL, "job.queued")
	d.Notify()
	waitFor(t, "the delivery is given up", out.settled)

	_, retries, gaveUp := out.snapshot()
	if len(retries) != 0 {
		t.Errorf("retried a 410: %+v", retries)
	}
	if msg := gaveUp[seq]; msg != "receiver answered 410" {
		t.Errorf("GiveUp reason = %q, want the 410 alone", msg)
	}
	if n := len(rc.seen()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	out := newMemOutbox()
	d := startDispatcher(t, out, Options{MaxAttempts: 3})
	seq := out.add("job-1", rc.URL, "job.failed")
	d.Notify()
	waitFor(t, "the delivery is given up", out.settled)

	_, retries, gaveUp := out.snapshot()
	if len(retries) != 2 || retries[0].attempts != 1 || retries[1].attempts != 2 {
		t.Errorf("retries = %+v, want attempts 1 and 2 recorded", retries)
	}
	if msg := gaveUp[seq]; !strings.Contains(msg, "502") {
		t.Errorf("GiveUp reason = %q", msg)
	}
	out.mu.Lock()
	attempts := out.gaveUpDel[seq].Attempts
	out.mu.Unlock()
	if attempts != 3 {
		t.Errorf("GiveUp got Attempts %d, want 3", attempts)
	}
	if n := len(rc.seen()); n != 3 {
		t.Errorf("receiver got %d requests, want 3", n)
	}
}

func TestRetryAfterIsHonouredUpToMaxBackoff(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	out := newMemOutbox()
	maxBackoff := 30 * time.Millisecond
	d := startDispatcher(t, out, Options{MaxBackoff: maxBackoff})
	seq := out.add("job-1", rc.URL, "job.running")
	d.Notify()
	waitFor(t, "the delivery is recorded", out.settled)

	delivered, retries, _ := out.snapshot()
	if !slices.Equal(delivered, []uint64{seq}) || len(retries) != 1 {
		t.Fatalf("delivered %v, retries %+v", delivered, retries)
	}
	if wait := retries[0].next.Sub(retries[0].at); wait > maxBackoff {
		t.Errorf("retry scheduled %s ahead, more than MaxBackoff %s", wait, maxBackoff)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	target := newReceiver(t, nil)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			http.Redirect(w, r, target.URL, http.StatusFound)
		}
	})
	out := newMemOutbox()
	d := startDispatcher(t, out, Options{})
	out.add("job-1", rc.URL, "job.running")
	d.Notify()
	waitFor(t, "the delivery is recorded", out.settled)

	if n := len(target.seen()); n != 0 {
		t.Errorf("the redirect was followed: its target got %d requests", n)
	}
	if _, retries, _ := out.snapshot(); len(retries) != 1 || !strings.Contains(retries[0].lastErr, "302") {
		t.Errorf("retries = %+v, want the 302 recorded as a failed attempt", retries)
	}
}

func TestTimeoutIsRetried(t *testing.T) {
	rc := newReceiver(t, func(n int, _ http.ResponseWriter, r *http.Request) {
		if n == 1 {
			<-r.Context().Done() // never answer; the client gives up
		}
	})
	out := newMemOutbox()
	d := startDispatcher(t, out, Options{Timeout: 50 * time.Millisecond})
	seq := out.add("job-1", rc.URL+"/?token=secret-token", "job.running")
	d.Notify()
	waitFor(t, "the delivery is recorded", out.settled)

	delivered, retries, _ := out.snapshot()
	if !slices.Equal(delivered, []uint64{seq}) || len(retries) != 1 {
		t.Fatalf("delivered %v, retries %+v", delivered, retries)
	}
	if msg := retries[0].lastErr; msg != "no answer: timed out after 50ms" {
		t.Errorf("lastErr = %q, want a timeout without the URL's query", msg)
	}
}

func TestUnsupportedSchemeGivesUpWithoutSending(t *testing.T) {
	out := newMemOutbox()
	d := startDispatcher(t, out, Options{})
	seq := out.add("job-1", "file:///etc/passwd", "job.running")
	d.Notify()
	waitFor(t, "the delivery is given up", out.settled)
	if _, _, gaveUp := out.snapshot(); !strings.Contains(gaveUp[seq], `scheme "file"`) {
		t.Errorf("GiveUp reason = %q", gaveUp[seq])
	}
}

func TestResponseBodyReadIsBounded(t *testing.T) {
	var written atomic.Int64
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 32<<10)
		for written.Load() < 256<<20 {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	out := newMemOutbox()
	d := startDispatcher(t, out, Options{})
	out.add("job-1", rc.URL, "job.running")
	d.Notify()
	waitFor(t, "the delivery is recorded", out.settled)
	// Socket buffers take some megabytes; a client reading everything would take all 256 MiB.
	if n := written.Load(); n >= 256<<20 {
		t.Errorf("the receiver wrote %d bytes: the whole answer was read", n)
	}
}

// A job's deliveries arrive in Seq order and one at a time, with several workers and a
// receiver that fails often.
func TestPerJobOrderingUnderSeveralWorkers(t *testing.T) {
	const jobs, events = 6, 8
	var (
		mu       sync.Mutex
		inFlight = map[string]int{}
		lastSeq  = map[string]uint64{}
		problems []string
		counter  atomic.Int64
	)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		job := r.Header.Get("X-Ffrtmp-Job")
		seq, _ := strconv.ParseUint(r.Header.Get("X-Ffrtmp-Delivery"), 10, 64)
		mu.Lock()
		inFlight[job]++
		if inFlight[job] > 1 {
			problems = append(problems, fmt.Sprintf("job %s: two deliveries at once", job))
		}
		if seq < lastSeq[job] {
			problems = append(problems, fmt.Sprintf("job %s: delivery %d after %d", job, seq, lastSeq[job]))
		}
		lastSeq[job] = seq
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inFlight[job]--
		mu.Unlock()
		if counter.Add(1)%3 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	out := newMemOutbox()
	d := startDispatcher(t, out, Options{Workers: 8, MaxAttempts: 1000})
	for e := range events {
		for j := range jobs {
			out.add(fmt.Sprintf("job-%d", j), rc.URL, fmt.Sprintf("event-%d", e))
			d.Notify()
		}
	}
	waitFor(t, "every delivery is recorded", out.settled)

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	delivered, _, gaveUp := out.snapshot()
	if len(delivered) != jobs*events || len(gaveUp) != 0 {
		t.Errorf("delivered %d, gave up %d; want %d delivered", len(delivered), len(gaveUp), jobs*events)
	}
	byJob := map[string][]uint64{}
	out.mu.Lock()
	seqJob := map[uint64]string{}
	for j := range jobs {
		for e := range events {
			seqJob[uint64(e*jobs+j+1)] = fmt.Sprintf("job-%d", j)
		}
	}
	out.mu.Unlock()
	for _, seq := range delivered {
		byJob[seqJob[seq]] = append(byJob[seqJob[seq]], seq)
	}
	for job, seqs := range byJob {
		if !slices.IsSorted(seqs) {
			t.Errorf("job %s delivered out of order: %v", job, seqs)
		}
	}
}

// A later delivery waits while an earlier one of its job waits for a retry, and is moved
// out of the way (Retry with attempts unchanged, due with the earlier one) rather than left
// at the head of the outbox; other jobs go on.
func TestLaterDeliveryWaitsForEarlierRetry(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Ffrtmp-Job") == "job-1" {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	out := newMemOutbox()
	d := startDispatcher(t, out, Options{MaxBackoff: 2 * time.Hour})
	first := out.add("job-1", rc.URL, "job.running")
	d.Notify()
	var firstRetry retryCall
	waitFor(t, "the first attempt fails", func() bool {
		_, retries, _ := out.snapshot()
		if len(retries) > 0 {
			firstRetry = retries[0]
		}
		return len(retries) > 0
	})
	second := out.add("job-1", rc.URL, "job.completed")
	other := out.add("job-2", rc.URL, "job.running")
	d.Notify()
	var held retryCall
	waitFor(t, "the second delivery is held back and the other job's delivered", func() bool {
		delivered, retries, _ := out.snapshot()
		for _, r := range retries {
			if r.seq == second {
				held = r
			}
		}
		return held.seq == second && slices.Contains(delivered, other)
	})
	if held.attempts != 0 || !held.next.Equal(firstRetry.next) ||
		held.lastErr != fmt.Sprintf("waiting for delivery %d of the same job", first) {
		t.Errorf("held-back delivery recorded as %+v, want attempts 0, due with the first at %s", held, firstRetry.next)
	}
	for _, r := range rc.seen() {
		if r.header.Get("X-Ffrtmp-Event") == "job.completed" {
			t.Fatal("job.completed was sent while job.running waited for a retry")
		}
	}
}

// After a restart, a job's delivery that is already due does not overtake an earlier one
// that is waiting for a retry.
func TestOrderSurvivesRestart(t *testing.T) {
	var order []string
	var mu sync.Mutex
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.Header.Get("X-Ffrtmp-Event"))
		mu.Unlock()
	})
	out := newMemOutbox()
	out.addAt("job-1", rc.URL, "job.running", time.Now().Add(100*time.Millisecond), 2)
	out.add("job-1", rc.URL, "job.completed")
	out.add("job-2", rc.URL, "job.queued") // another job is not held back
	startDispatcher(t, out, Options{})
	waitFor(t, "every delivery is recorded", out.settled)

	mu.Lock()
	defer mu.Unlock()
	if i, j := slices.Index(order, "job.running"), slices.Index(order, "job.completed"); i < 0 || j < i {
		t.Errorf("receiver saw %v: job.completed overtook job.running", order)
	}
}

// A delivery removed from the outbox behind the dispatcher's back (its job deleted) does not
// hold its job's later deliveries for ever.
func TestVanishedDeliveryStopsHoldingBack(t *testing.T) {
	rc := newReceiver(t, nil)
	out := newMemOutbox()
	gone := out.addAt("job-1", rc.URL, "job.running", time.Now().Add(50*time.Millisecond), 1)
	later := out.add("job-1", rc.URL, "job.completed")
	d := startDispatcher(t, out, Options{})
	waitFor(t, "the later delivery is held back", func() bool {
		_, retries, _ := out.snapshot()
		return len(retries) > 0
	})
	out.remove(gone)
	d.Notify()
	waitFor(t, "the later delivery is recorded", out.settled)
	if delivered, _, _ := out.snapshot(); !slices.Equal(delivered, []uint64{later}) {
		t.Errorf("delivered %v, want [%d]", delivered, later)
	}
}

// With every worker busy, a due delivery that waits for a worker does not make the
// dispatcher read the outbox in a loop.
func TestNoBusyLoopWhileWorkersAreBusy(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Ffrtmp-Job") == "job-2" {
			<-release
		}
	})
	out := newMemOutbox()
	out.addAt("job-1", rc.URL, "job.running", time.Now().Add(20*time.Millisecond), 1) // waiting at start
	out.add("job-2", rc.URL, "job.running")
	startDispatcher(t, out, Options{Workers: 1, Poll: time.Hour})
	waitFor(t, "job-2's delivery is in flight", func() bool { return len(rc.seen()) == 1 })
	time.Sleep(150 * time.Millisecond) // job-1's delivery falls due while the only worker is busy
	out.mu.Lock()
	calls := out.dueCalls
	out.mu.Unlock()
	close(release)
	waitFor(t, "both are recorded", out.settled)
	if calls > 20 {
		t.Errorf("the outbox was read %d times while the only worker was busy", calls)
	}
}

func TestOutboxErrorIsSurvived(t *testing.T) {
	rc := newReceiver(t, nil)
	out := newMemOutbox()
	out.dueErr = errors.New("disk on fire")
	d := startDispatcher(t, out, Options{})
	seq := out.add("job-1", rc.URL, "job.running")
	d.Notify()
	time.Sleep(30 * time.Millisecond) // let it fail a scan or two
	out.mu.Lock()
	out.dueErr = nil
	out.mu.Unlock()
	d.Notify()
	waitFor(t, "the delivery is recorded", out.settled)
	if delivered, _, _ := out.snapshot(); !slices.Equal(delivered, []uint64{seq}) {
		t.Errorf("delivered %v, want [%d]", delivered, seq)
	}
}

func TestRunReturnsOnCancelAndLeavesInFlightDeliveryDue(t *testing.T) {
	entered := make(chan struct{})
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	})
	out := newMemOutbox()
	d, err := New(out, Options{
		Secret:  testSecret,
		Timeout: time.Minute,
		Egress:  egress.Policy{Allow: loopback},
		Logger:  slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	seq := out.add("job-1", rc.URL, "job.running")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-entered
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run is still waiting for a POST after its context was cancelled")
	}
	delivered, retries, gaveUp := out.snapshot()
	if len(delivered)+len(retries)+len(gaveUp) != 0 {
		t.Errorf("a cancelled POST was recorded: delivered %v, retries %+v, gave up %v", delivered, retries, gaveUp)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if d := out.items[seq]; d.Attempts != 0 {
		t.Errorf("the cancelled delivery has %d attempts, want it left as it was", d.Attempts)
	}
}

func TestNotifyNeverBlocks(t *testing.T) {
	d, err := New(newMemOutbox(), Options{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	// Not running: wake-ups coalesce in the one-slot buffer.
	for range 10000 {
		d.Notify()
	}
	// Running, from many goroutines at once.
	d2 := startDispatcher(t, newMemOutbox(), Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				d2.Notify()
			}
		})
	}
	wg.Wait()
}

func TestRunTwiceIsAnError(t *testing.T) {
	d := startDispatcher(t, newMemOutbox(), Options{})
	waitFor(t, "Run has started", d.running.Load)
	if err := d.Run(context.Background()); err == nil {
		t.Fatal("a second Run on a running dispatcher did not fail")
	}
}

func TestNewChecksOptions(t *testing.T) {
	if _, err := New(newMemOutbox(), Options{}); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("New without a secret = %v, want an error naming the secret", err)
	}
	if _, err := New(nil, Options{Secret: testSecret}); err == nil {
		t.Error("New without an outbox succeeded")
	}
	if _, err := New(newMemOutbox(), Options{Secret: testSecret, BaseBackoff: time.Hour, MaxBackoff: time.Minute}); err == nil {
		t.Error("New with BaseBackoff above MaxBackoff succeeded")
	}
	d, err := New(newMemOutbox(), Options{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	o := d.opts
	if o.Workers != DefaultWorkers || o.MaxAttempts != DefaultMaxAttempts || o.BaseBackoff != DefaultBaseBackoff ||
		o.MaxBackoff != DefaultMaxBackoff || o.Poll != DefaultPoll || o.Timeout != DefaultTimeout ||
		!strings.HasPrefix(o.UserAgent, "ffrtmp-master/") {
		t.Errorf("defaults not filled in: %+v", o)
	}
}

// A callback URL that does not parse is given up at once with a reason of our own: what the
// outbox records (and the job's events show) and what the log says hold neither its
// password nor its token.
func TestFailureReasonsHideCallbackSecrets(t *testing.T) {
	var logs syncbuf.Buffer
	out := newMemOutbox()
	d := startDispatcher(t, out, Options{MaxAttempts: 2,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	seq := out.add("job-1", "http://user:SECRETPW@127.0.0.1:80x/cb?token=SECRETTOKEN", "job.failed")
	d.Notify()
	waitFor(t, "the delivery is given up", out.settled)

	_, _, gaveUp := out.snapshot()
	if gaveUp[seq] != "callback URL does not parse" {
		t.Errorf("gave up with %q: want our own reason", gaveUp[seq])
	}
	for _, r := range []string{gaveUp[seq], logs.String()} {
		if strings.Contains(r, "SECRET") {
			t.Errorf("a failure reason shows the callback URL's secrets: %q", r)
		}
	}
}
