package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ffrtmp/ffrtmp/api/redact"
)

const (
	// failoverDialTimeout bounds connecting to one master of a cluster: a master whose
	// machine is gone (packets dropped, not refused) must not eat the whole call.
	failoverDialTimeout = 5 * time.Second
	// failoverPauseBase and failoverPauseMax bound the pause between two passes over a
	// cluster's masters: brief, since a leader election takes a few seconds at most.
	failoverPauseBase = 100 * time.Millisecond
	failoverPauseMax  = 2 * time.Second
	// autoIdempotencyPrefix starts the Idempotency-Key SubmitJob makes up for a cluster.
	autoIdempotencyPrefix = "ffrtmp-client-"
)

// parseMasters reads NewClient's baseURL: one master URL, or a comma-separated list of them.
func parseMasters(list string) ([]string, error) {
	parts := strings.Split(list, ",")
	if len(parts) == 1 {
		base, err := parseBaseURL(list)
		if err != nil {
			return nil, err
		}
		return []string{base}, nil
	}
	masters := make([]string, 0, len(parts))
	seen := make(map[string]int, len(parts))
	for i, p := range parts {
		// The list itself stays out of the messages: an entry may hold credentials, which
		// parseBaseURL redacts.
		base, err := parseBaseURL(p)
		if err != nil {
			return nil, fmt.Errorf("master list, entry %d of %d: %w", i+1, len(parts), err)
		}
		key := strings.ToLower(base)
		if j, dup := seen[key]; dup {
			return nil, fmt.Errorf("master list: entries %d and %d are both %s: name each master once", j+1, i+1, base)
		}
		seen[key] = i
		masters = append(masters, base)
	}
	return masters, nil
}

// Master returns the URL of the master that answered last (before any call: the first one
// given), for logs.
func (c *Client) Master() string { return c.masters[c.current.Load()] }

// Masters returns the URLs of every master the Client knows, in the order given.
func (c *Client) Masters() []string { return append([]string(nil), c.masters...) }

// UnreachableError is what a call to a Client of several masters returns when no master
// answered it: each master with the last reason it failed, and what ended the call (the
// context, or the Client's timeout: errors.Is(err, context.DeadlineExceeded)). errors.Is and
// errors.As see every reason (syscall.ECONNREFUSED, an *Error with CodeUnavailable, ...).
type UnreachableError struct {
	Method string
	Path   string // without the query
	// Masters are the Client's masters, in its order; Reasons[i] is why Masters[i] failed
	// last (nil: not tried in this call).
	Masters []string
	Reasons []error
	// Err ended the call: the context's error, or the Client's timeout.
	Err error
}

func (e *UnreachableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: no master answered", e.Method, e.Path)
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	sep := ": "
	for i, m := range e.Masters {
		if i < len(e.Reasons) && e.Reasons[i] != nil {
			fmt.Fprintf(&b, "%s%s: %v", sep, m, e.Reasons[i])
			sep = "; "
		}
	}
	return b.String()
}

// Unwrap returns every master's reason and the error that ended the call.
func (e *UnreachableError) Unwrap() []error {
	var errs []error
	for _, r := range e.Reasons {
		if r != nil {
			errs = append(errs, r)
		}
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// brokenError marks an exchange that broke after the request was sent and before its answer
// was read whole: a repeatable request may go to the next master.
type brokenError struct{ err error }

func (e *brokenError) Error() string { return e.err.Error() }
func (e *brokenError) Unwrap() error { return e.err }

// failKind says how one attempt at a master ended, for the failover rule (see Client).
type failKind int

const (
	answered    failKind = iota // the master answered (or the call succeeded): the call's answer
	unreached                   // no connection was made: the request never reached the master
	unavailable                 // 503 unavailable: the master did nothing
	broken                      // the exchange broke after the request was sent
	stopped                     // the caller's context ended
)

// outcome is one attempt's end: err for the caller, why (err without the method and URL) for
// an UnreachableError and the log.
type outcome struct {
	err, why error
	kind     failKind
}

// send runs r, handing the answer to use (which reads it and returns the call's error), at
// the master that answered last and, by the failover rule (see Client), at the others.
func (c *Client) send(ctx context.Context, r request, use func(*exchange) error) error {
	body := r.raw
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", r.method, r.url(c.Master()), err)
		}
		body = b
	}
	if len(c.masters) == 1 {
		return c.attempt(ctx, c.masters[0], r, body, use, false).err
	}
	n := len(c.masters)
	first := int(c.current.Load())
	whys := make([]error, n)
	start := time.Now()
	budget := c.timeout
	if r.timeout != 0 {
		budget = r.timeout
	}
	unreachable := func(end error) error {
		return &UnreachableError{Method: r.method, Path: r.path, Masters: c.Masters(), Reasons: whys, Err: end}
	}
	tried := 0
	for pass := 1; ; pass++ {
		for k := range n {
			i := (first + k) % n
			o := c.attempt(ctx, c.masters[i], r, body, use, true)
			tried++
			switch o.kind {
			case answered:
				c.moved(first, i, whys[first])
				return o.err
			case broken:
				if !repeatable(r) {
					return o.err
				}
			case stopped:
				if tried == 1 {
					return o.err
				}
				whys[i] = o.why
				return unreachable(ctx.Err())
			}
			whys[i] = o.why
		}
		pause := failoverPause(pass)
		if budget > 0 && time.Since(start)+pause > budget {
			return unreachable(fmt.Errorf("gave up after %s: %w", budget, context.DeadlineExceeded))
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return unreachable(ctx.Err())
		case <-t.C:
		}
	}
}

// attempt sends r to the master at base once. classify makes it watch the connection and
// say how the attempt ended; without it only err is set.
func (c *Client) attempt(ctx context.Context, base string, r request, body []byte, use func(*exchange) error, classify bool) outcome {
	var reached *atomic.Bool
	if classify {
		reached = new(atomic.Bool)
	}
	x, err := c.exchange(ctx, base, r, body, reached)
	if err != nil {
		o := outcome{err: err, why: reason(err), kind: broken}
		switch {
		case ctx.Err() != nil:
			o.kind = stopped
		case reached != nil && (!reached.Load() || dialFailed(err)):
			o.kind = unreached
		}
		return o
	}
	defer x.close()
	err = use(x)
	var be *brokenError
	var e *Error
	switch {
	case err == nil:
		return outcome{}
	case errors.As(err, &be):
		err = be.err
		if ctx.Err() != nil {
			return outcome{err: err, why: reason(err), kind: stopped}
		}
		return outcome{err: err, why: reason(err), kind: broken}
	case errors.As(err, &e) && e.Status == http.StatusServiceUnavailable && e.Code == CodeUnavailable:
		return outcome{err: err, why: err, kind: unavailable}
	case ctx.Err() != nil:
		return outcome{err: err, why: reason(err), kind: stopped}
	}
	return outcome{err: err, why: reason(err), kind: answered}
}

// reason is err without the "METHOD URL: " that exchange.fail put before it.
func reason(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// dialFailed reports whether err comes from resolving or connecting to the master (the
// transport may have dialed again after a reused connection failed before the request went
// out).
func dialFailed(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	return errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial")
}

// repeatable reports whether r is safe to send again after its exchange broke.
func repeatable(r request) bool {
	return r.repeatable || r.method == http.MethodGet || r.method == http.MethodHead || r.header.Get("Idempotency-Key") != ""
}

// moved makes master to the one calls go to first, when a call that began at from was
// answered there, and logs the move once (concurrent calls moving away from the same master
// log one move).
func (c *Client) moved(from, to int, why error) {
	if from == to || !c.current.CompareAndSwap(int32(from), int32(to)) {
		return
	}
	log := c.log
	if log == nil {
		log = slog.Default()
	}
	reasonText := "unknown"
	if why != nil {
		reasonText = redact.Text(why.Error())
	}
	log.Info("master did not answer: using another", "from", redact.URL(c.masters[from]), "to", redact.URL(c.masters[to]), "reason", reasonText)
}

// failoverPause is the pause after the pass-th pass over the masters failed: the
// farm's backoff (doubling from failoverPauseBase up to failoverPauseMax, drawn from the top
// half), written out here because this module needs nothing beyond the standard library.
func failoverPause(pass int) time.Duration {
	d := failoverPauseBase
	for i := 1; i < pass && d < failoverPauseMax; i++ {
		d *= 2
	}
	d = min(d, failoverPauseMax)
	return d/2 + rand.N(d/2+1)
}
