package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/api/redact"
	"github.com/ffrtmp/ffrtmp/internal/backoff"

	"github.com/ffrtmp/ffrtmp/master/egress"
)

// attempt is what one POST came to.
type attempt struct {
	status     int           // 0: no answer
	retryAfter time.Duration // from Retry-After on 429 and 503, 0 if none
	// reason is "" only for a 2xx. It is the dispatcher's own words, shown to the job's
	// submitter: never the receiver's answer, and one text for every way a connection can
	// fail, so that webhooks cannot be used to learn which ports answer where.
	reason    string
	detail    error // what really happened, for the master's log only
	permanent bool  // the receiver refuses, or may not be sent to: do not retry
}

// deliver makes one attempt at del, records the outcome in the outbox and reports it.
func (d *Dispatcher) deliver(ctx context.Context, del Delivery) outcome {
	log := d.log.With("job_id", del.JobID, "delivery", del.Seq, "event", del.Event)
	u, err := callbackURL(del.URL)
	if err != nil {
		return d.giveUp(ctx, del, err.Error(), nil)
	}
	log = log.With("host", u.Host)
	del.Attempts++
	start := time.Now()
	a := d.post(ctx, del, u)
	elapsed := time.Since(start)
	if a.reason != "" && ctx.Err() != nil {
		// Shutting down: the POST was cancelled, not refused. It stays due as it was.
		return outcome{del: del, stays: true, nextAt: time.Now()}
	}
	if d.opts.OnAttempt != nil {
		d.opts.OnAttempt(a.reason == "", a.status, elapsed)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()

	switch {
	case a.reason == "":
		log.Debug("webhook delivered", "attempt", del.Attempts, "status", a.status, "duration", elapsed)
		if err := d.out.Delivered(sctx, del.Seq); err != nil {
			return d.storeFailed(log, del, "record a delivered webhook", err)
		}
		return outcome{del: del}
	case a.permanent, del.Attempts >= d.opts.MaxAttempts:
		// The reason is the last attempt's alone: GiveUp gets the attempt count in del.
		return d.giveUp(ctx, del, a.reason, a.detail)
	}
	delay := a.retryAfter
	if delay == 0 {
		delay = d.opts.retryBackoff().Delay(del.Attempts)
	}
	delay = min(delay, d.opts.MaxBackoff)
	next := time.Now().Add(delay)
	log.Info("webhook attempt failed, will retry", "attempt", del.Attempts, "status", a.status, "retry_in", delay,
		"reason", a.reason, "err", redactErr(a.detail))
	if err := d.out.Retry(sctx, del.Seq, del.Attempts, next, a.reason); err != nil {
		return d.storeFailed(log, del, "record a failed webhook attempt", err)
	}
	return outcome{del: del, stays: true, nextAt: next}
}

func (d *Dispatcher) giveUp(ctx context.Context, del Delivery, reason string, detail error) outcome {
	reason = redact.Text(reason) // a reason may quote the callback URL, with its token
	log := d.log.With("job_id", del.JobID, "delivery", del.Seq, "event", del.Event)
	log.Warn("webhook not delivered, giving up", "attempts", del.Attempts, "reason", reason, "err", redactErr(detail))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := d.out.GiveUp(sctx, del, reason); err != nil {
		return d.storeFailed(log, del, "record a webhook given up", err)
	}
	return outcome{del: del}
}

// storeFailed keeps del's job held back for a poll interval: the delivery is still in the
// outbox as it was, and sending it again at once would only repeat the failure.
func (d *Dispatcher) storeFailed(log *slog.Logger, del Delivery, what string, err error) outcome {
	log.Error("cannot "+what, "err", err)
	return outcome{del: del, stays: true, nextAt: time.Now().Add(d.opts.Poll)}
}

func (d *Dispatcher) post(ctx context.Context, del Delivery, u *url.URL) attempt {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(del.Body))
	if err != nil {
		return attempt{reason: "the callback URL cannot be requested", detail: err, permanent: true}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", d.opts.UserAgent)
	h.Set("X-Ffrtmp-Event", del.Event)
	h.Set("X-Ffrtmp-Delivery", strconv.FormatUint(del.Seq, 10))
	h.Set("X-Ffrtmp-Job", del.JobID)
	h.Set("X-Ffrtmp-Attempt", strconv.Itoa(del.Attempts))
	h.Set("X-Ffrtmp-Signature", Sign(d.opts.Secret, time.Now(), del.Body))

	resp, err := d.client.Do(req)
	if err != nil {
		return noAnswer(err, d.opts.Timeout)
	}
	defer resp.Body.Close()
	// Read what a well-behaved receiver sends so the connection can be reused, never more;
	// what it says is nobody's business (it could be anything the receiver's address serves).
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	return classify(resp, time.Now())
}

// newClient sends POSTs only to addresses p allows, directly (a proxy from the environment
// would dial for us, past the policy), without following redirects (a callback URL is called
// where it says, and a redirect could point anywhere).
func newClient(p egress.Policy, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           p.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// noAnswer is an attempt that got no HTTP answer. A refused, reset, unreachable or closed
// connection all read "connection failed": telling them apart would make webhooks a port
// scanner. The error itself goes to the master's log.
func noAnswer(err error, timeout time.Duration) attempt {
	a := attempt{detail: transportError(err)}
	var refused *egress.RefusedError
	var unresolved *egress.UnresolvedError
	var ue *url.Error
	switch {
	case errors.As(err, &refused):
		a.reason, a.permanent = "refused: "+refused.Error()+"; "+NotAllowed, true
	case errors.As(err, &unresolved):
		a.reason = "no answer: " + unresolved.Error()
	case errors.As(err, &ue) && ue.Timeout(), errors.Is(err, context.DeadlineExceeded):
		a.reason = "no answer: timed out after " + timeout.String()
	default:
		a.reason = "no answer: connection failed"
	}
	return a
}

// classify turns a receiver's answer into an attempt: 2xx is delivered; 4xx other than 408
// and 429 is a refusal; everything else (3xx, 408, 429, 5xx) is worth another try.
func classify(resp *http.Response, now time.Time) attempt {
	a := attempt{status: resp.StatusCode}
	if a.status >= 200 && a.status <= 299 {
		return a
	}
	a.reason = "receiver answered " + strconv.Itoa(a.status)
	if a.status >= 300 && a.status <= 399 {
		a.reason += " (a redirect: redirects are not followed, use the final URL as the callback)"
	}
	a.detail = errors.New("HTTP " + resp.Status)
	switch {
	case a.status == http.StatusRequestTimeout:
	case a.status == http.StatusTooManyRequests, a.status == http.StatusServiceUnavailable:
		a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	case a.status >= 400 && a.status <= 499:
		a.permanent = true
	}
	return a
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent, unreadable or past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(365*24*3600))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// retryBackoff is the wait before a retry with full jitter: uniform in
// [0, min(MaxBackoff, BaseBackoff·2^(n-1))] after the n-th failed attempt, so receivers
// coming back are not hit by every master at once.
func (o Options) retryBackoff() backoff.Policy {
	return backoff.Policy{Base: o.BaseBackoff, Max: o.MaxBackoff, Jitter: 1}
}

// transportError drops url.Error's wrapping, which repeats the whole URL (a callback URL may
// carry a token in its query), from what the master logs.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactErr is err's text for the master's log, without the secrets a callback URL in it
// may carry ("" for nil).
func redactErr(err error) string {
	if err == nil {
		return ""
	}
	return redact.Text(err.Error())
}
