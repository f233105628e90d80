package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ffrtmp/ffrtmp/internal/version"
	"github.com/ffrtmp/ffrtmp/master/egress"
)

// Defaults for the zero values of Options.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultWorkers     = 4
	DefaultMaxAttempts = 8
	DefaultBaseBackoff = time.Second
	DefaultMaxBackoff  = 10 * time.Minute
	DefaultPoll        = 5 * time.Second
)

const (
	// maxResponseBody is how much of a receiver's answer is read (then discarded) so the
	// connection can be reused; a receiver cannot make the master read more.
	maxResponseBody = 64 << 10
	// storeTimeout bounds recording an attempt's outcome; it is not tied to Run's context,
	// so a POST that succeeded as the master stops is still recorded as delivered.
	storeTimeout = 5 * time.Second
	// primeLimit and primeHorizon: at start, Run reads up to primeLimit deliveries due
	// before now+primeHorizon to learn which jobs have an earlier delivery waiting for a retry.
	// The horizon stays well inside what UnixNano can hold.
	primeLimit   = 4096
	primeHorizon = 100 * 365 * 24 * time.Hour
)

// Delivery is one webhook POST waiting to go out.
type Delivery struct {
	Seq       uint64    // outbox sequence, unique
	JobID     string    // sent as X-Ffrtmp-Job
	URL       string    // the job's callback URL
	Event     string    // e.g. "job.completed" — sent as X-Ffrtmp-Event
	Body      []byte    // JSON payload, sent as is
	Attempts  int       // attempts made so far
	NextAt    time.Time // not before
	CreatedAt time.Time
}

// Outbox is what the dispatcher needs from the store (declared here, implemented by
// master/store). Methods are called from several goroutines at once.
type Outbox interface {
	// Due returns deliveries with NextAt <= now, oldest first (ascending Seq), at most limit.
	// Run calls it once at start with now far in the future to see every waiting delivery.
	Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// Delivered removes the delivery: the receiver answered 2xx.
	Delivered(ctx context.Context, seq uint64) error
	// Retry records an attempt that failed (or, with attempts unchanged, a delivery held back
	// behind an earlier one of its job) and when to try again.
	//
	// lastErr, here and in GiveUp, is a short reason of the dispatcher's own ("receiver
	// answered 500", "no answer: connection failed"): never the receiver's answer nor a raw
	// network error, so it may be shown to the job's submitter.
	Retry(ctx context.Context, seq uint64, attempts int, next time.Time, lastErr string) error
	// GiveUp removes the delivery; the store records a warning event on the job with lastErr.
	GiveUp(ctx context.Context, d Delivery, lastErr string) error
}

// Options configure a Dispatcher. Only Secret is required.
type Options struct {
	// Secret is the HMAC key that signs every POST; required.
	Secret []byte
	// Egress says which addresses receivers may have: a callback URL is a client's choice, and
	// the zero Policy keeps it off loopback, link-local, private and other special addresses.
	// Every connection is checked against it when it is made, whatever the name resolved to
	// when the job was submitted.
	Egress egress.Policy
	// Timeout bounds one POST, from dialling to the end of the answer; default DefaultTimeout.
	Timeout time.Duration
	// Workers is how many deliveries go out at once; default DefaultWorkers.
	Workers int
	// MaxAttempts is how many POSTs a delivery gets before GiveUp; default DefaultMaxAttempts.
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the delay before a retry: after attempt n, a uniformly
	// random delay in [0, min(MaxBackoff, BaseBackoff·2^(n-1))] ("full jitter"). A Retry-After
	// on 429 or 503 is used instead, capped by MaxBackoff. Defaults DefaultBaseBackoff and
	// DefaultMaxBackoff.
	BaseBackoff, MaxBackoff time.Duration
	// Poll is how often the outbox is read without a Notify; default DefaultPoll.
	Poll time.Duration
	// UserAgent defaults to "ffrtmp-master/<version>".
	UserAgent string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// OnAttempt, when set, is called after every POST (status 0 when no answer came) from the
	// delivering goroutine; it must be safe for concurrent use.
	OnAttempt func(ok bool, status int, d time.Duration)
}

// Dispatcher sends the outbox's deliveries. Create it with New; run it with Run.
type Dispatcher struct {
	out     Outbox
	opts    Options
	client  *http.Client
	log     *slog.Logger
	notify  chan struct{}
	running atomic.Bool
}

// New checks opts, fills in defaults and returns a Dispatcher that is not yet running.
func New(out Outbox, opts Options) (*Dispatcher, error) {
	if out == nil {
		return nil, errors.New("webhook: no outbox")
	}
	if len(opts.Secret) == 0 {
		return nil, errors.New("webhook: a signing secret is required")
	}
	if opts.Workers < 0 || opts.MaxAttempts < 0 || opts.BaseBackoff < 0 || opts.MaxBackoff < 0 || opts.Poll < 0 || opts.Timeout < 0 {
		return nil, errors.New("webhook: Workers, MaxAttempts, BaseBackoff, MaxBackoff, Poll and Timeout must not be negative")
	}
	opts.Secret = bytes.Clone(opts.Secret)
	opts.Timeout = cmp.Or(opts.Timeout, DefaultTimeout)
	opts.Workers = cmp.Or(opts.Workers, DefaultWorkers)
	opts.MaxAttempts = cmp.Or(opts.MaxAttempts, DefaultMaxAttempts)
	opts.BaseBackoff = cmp.Or(opts.BaseBackoff, DefaultBaseBackoff)
	opts.MaxBackoff = cmp.Or(opts.MaxBackoff, DefaultMaxBackoff)
	opts.Poll = cmp.Or(opts.Poll, DefaultPoll)
	opts.UserAgent = cmp.Or(opts.UserAgent, "ffrtmp-master/"+version.Version)
	if opts.BaseBackoff > opts.MaxBackoff {
		return nil, fmt.Errorf("webhook: BaseBackoff %s is above MaxBackoff %s", opts.BaseBackoff, opts.MaxBackoff)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{
		out:    out,
		opts:   opts,
		client: newClient(opts.Egress, opts.Timeout),
		log:    log.With("component", "webhook"),
		notify: make(chan struct{}, 1),
	}, nil
}

// Notify wakes the dispatcher to read the outbox now; call it after a commit that added
// deliveries. It never blocks, and wake-ups before Run starts are not lost.
func (d *Dispatcher) Notify() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then cancels the POSTs in flight (they stay in the outbox and
// go out after the next start), waits for their goroutines and returns nil. It returns an
// error only when the Dispatcher is already running.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("webhook: dispatcher already running")
	}
	defer d.running.Store(false)

	l := &loop{
		d:       d,
		limit:   max(256, 16*d.opts.Workers),
		flying:  make(map[string]uint64),
		waiting: make(map[string]pending),
		done:    make(chan outcome, d.opts.Workers),
	}
	l.prime(ctx)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			l.drain()
			return nil
		case <-d.notify:
		case <-timer.C:
		case o := <-l.done:
			l.finish(o)
		}
		if ctx.Err() != nil {
			continue
		}
		timer.Reset(time.Until(l.scan(ctx)))
	}
}

// loop is Run's state, owned by Run's goroutine alone; delivering goroutines report back
// through done.
type loop struct {
	d     *Dispatcher
	limit int
	// flying is each job's delivery in flight: at most one per job, so a Seq is never sent
	// twice at once and a job's deliveries cannot overtake each other.
	flying map[string]uint64
	// waiting is, per job, the earliest delivery known to be waiting for a retry; the job's
	// later deliveries are held back behind it.
	waiting map[string]pending
	done    chan outcome
}

type pending struct {
	seq    uint64
	nextAt time.Time
}

// outcome is how one delivery ended. stays means it is still in the outbox, due at nextAt.
type outcome struct {
	del    Delivery
	stays  bool
	nextAt time.Time
}

// prime learns, after a restart, which jobs have a delivery waiting for a retry, so that a
// later delivery of the same job that is already due does not overtake it.
func (l *loop) prime(ctx context.Context) {
	now := time.Now()
	all, err := l.d.out.Due(ctx, now.Add(primeHorizon), primeLimit)
	if err != nil {
		if ctx.Err() == nil {
			l.d.log.Warn("cannot read the outbox at start; per-job order of deliveries waiting for a retry is not guaranteed", "err", err)
		}
		return
	}
	if len(all) == primeLimit {
		l.d.log.Warn("outbox holds more deliveries than read at start; per-job order is guaranteed for the oldest only", "read", primeLimit)
	}
	sortBySeq(all)
	seen := make(map[string]bool)
	for _, del := range all {
		if seen[del.JobID] {
			continue
		}
		seen[del.JobID] = true
		if del.NextAt.After(now) {
			l.waiting[del.JobID] = pending{seq: del.Seq, nextAt: del.NextAt}
		}
	}
}

// scan reads the due deliveries, starts what it may and returns when to scan again.
func (l *loop) scan(ctx context.Context) time.Time {
	now := time.Now()
	next := now.Add(l.d.opts.Poll)
	due, err := l.d.out.Due(ctx, now, l.limit)
	if err != nil {
		if ctx.Err() == nil {
			l.d.log.Warn("cannot read the outbox", "err", err)
		}
		return next
	}
	sortBySeq(due)
	l.forgetVanished(now, due)
	for _, del := range due {
		if _, busy := l.flying[del.JobID]; busy {
			continue // it or an earlier one of the job is in flight
		}
		if w, ok := l.waiting[del.JobID]; ok && w.seq < del.Seq {
			if w.nextAt.After(now) {
				l.holdBack(ctx, del, w)
			}
			continue
		}
		if len(l.flying) >= l.d.opts.Workers {
			continue // the next scan, after a delivery ends, takes it
		}
		l.start(ctx, del)
	}
	for _, w := range l.waiting {
		// One already due is waiting for a free worker: the delivery that frees it rescans.
		if w.nextAt.After(now) && w.nextAt.Before(next) {
			next = w.nextAt
		}
	}
	return next
}

// forgetVanished drops waiting entries whose delivery is due but no longer in the outbox
// (the store removed it, say with its job), so they do not hold the job back for ever. A due
// delivery is missing from due only if due was cut at the limit before reaching its Seq.
func (l *loop) forgetVanished(now time.Time, due []Delivery) {
	complete := len(due) < l.limit
	var last uint64
	if len(due) > 0 {
		last = due[len(due)-1].Seq
	}
	for job, w := range l.waiting {
		if w.nextAt.After(now) || (!complete && w.seq > last) {
			continue
		}
		if _, found := slices.BinarySearchFunc(due, w.seq, func(d Delivery, seq uint64) int { return cmp.Compare(d.Seq, seq) }); !found {
			delete(l.waiting, job)
		}
	}
}

// holdBack moves a due delivery to when the earlier one of its job is next tried. Without it
// a job held back behind a failing receiver would keep its deliveries at the head of every
// Due answer and could crowd out other jobs'.
func (l *loop) holdBack(ctx context.Context, del Delivery, w pending) {
	msg := fmt.Sprintf("waiting for delivery %d of the same job", w.seq)
	if err := l.d.out.Retry(ctx, del.Seq, del.Attempts, w.nextAt, msg); err != nil && ctx.Err() == nil {
		l.d.log.Warn("cannot hold back a webhook delivery", "job_id", del.JobID, "delivery", del.Seq, "err", err)
	}
}

func (l *loop) start(ctx context.Context, del Delivery) {
	if w, ok := l.waiting[del.JobID]; ok && w.seq == del.Seq {
		delete(l.waiting, del.JobID)
	}
	l.flying[del.JobID] = del.Seq
	go func() { l.done <- l.d.deliver(ctx, del) }()
}

func (l *loop) finish(o outcome) {
	delete(l.flying, o.del.JobID)
	if !o.stays {
		return
	}
	if w, ok := l.waiting[o.del.JobID]; !ok || o.del.Seq <= w.seq {
		l.waiting[o.del.JobID] = pending{seq: o.del.Seq, nextAt: o.nextAt}
	}
}

// drain waits for the deliveries in flight; their POSTs are being cancelled with Run's context.
func (l *loop) drain() {
	for len(l.flying) > 0 {
		o := <-l.done
		delete(l.flying, o.del.JobID)
	}
}

func sortBySeq(ds []Delivery) {
	slices.SortFunc(ds, func(a, b Delivery) int { return cmp.Compare(a.Seq, b.Seq) })
}
