package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ffrtmp/ffrtmp/api/redact"
)

// attempt is what one POST came to.
type attempt struct {
	status     int           // 0: no answer
	retryAfter time.Duration // from Retry-After on 429 and 503, 0 if none
	err        error         // nil only for a 2xx
	permanent  bool          // the receiver refuses: do not retry
}

// deliver makes one attempt at del, records the outcome in the outbox and reports it.
func (d *Dispatcher) deliver(ctx context.Context, del Delivery) outcome {
	log := d.log.With("job_id", del.JobID, "delivery", del.Seq, "event", del.Event)
	u, err := callbackURL(del.URL)
	if err != nil {
		return d.giveUp(ctx, del, err.Error())
	}
	log = log.With("host", u.Host)
	del.Attempts++
	start := time.Now()
	a := d.post(ctx, del, u)
	elapsed := time.Since(start)
	if a.err != nil && ctx.Err() != nil {
		// Shutting down: the POST was cancelled, not refused. It stays due as it was.
		return outcome{del: del, stays: true, nextAt: time.Now()}
	}
	if d.opts.OnAttempt != nil {
		d.opts.OnAttempt(a.err == nil, a.status, elapsed)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()

	switch {
	case a.err == nil:
		log.Debug("webhook delivered", "attempt", del.Attempts, "status", a.status, "duration", elapsed)
		if err := d.out.Delivered(sctx, del.Seq); err != nil {
			return d.storeFailed(log, del, "record a delivered webhook", err)
		}
		return outcome{del: del}
	case a.permanent, del.Attempts >= d.opts.MaxAttempts:
		// lastErr is the last error alone: GiveUp gets the attempt count in del.
		return d.giveUp(ctx, del, a.err.Error())
	}
	delay := a.retryAfter
	if delay == 0 {
		delay = backoff(d.opts.BaseBackoff, d.opts.MaxBackoff, del.Attempts)
	}
	delay = min(delay, d.opts.MaxBackoff)
	next := time.Now().Add(delay)
	why := redact.Text(a.err.Error()) // the client's error quotes the callback URL
	log.Info("webhook attempt failed, will retry", "attempt", del.Attempts, "status", a.status, "retry_in", delay, "err", why)
	if err := d.out.Retry(sctx, del.Seq, del.Attempts, next, why); err != nil {
		return d.storeFailed(log, del, "record a failed webhook attempt", err)
	}
	return outcome{del: del, stays: true, nextAt: next}
}

func (d *Dispatcher) giveUp(ctx context.Context, del Delivery, reason string) outcome {
	reason = redact.Text(reason) // errors quote the callback URL, with its token
	log := d.log.With("job_id", del.JobID, "delivery", del.Seq, "event", del.Event)
	log.Warn("webhook not delivered, giving up", "attempts", del.Attempts, "err", reason)
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

// callbackURL accepts absolute http and https URLs only: anything else (file:, ftp:, a
// relative path) is a job's mistake that no retry will fix.
func callbackURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("the job has no callback URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("callback URL does not parse: %w", err)
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return nil, fmt.Errorf("callback URL scheme %q is not delivered: only http and https are", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("callback URL has no host")
	}
	return u, nil
}

func (d *Dispatcher) post(ctx context.Context, del Delivery, u *url.URL) attempt {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(del.Body))
	if err != nil {
		return attempt{err: fmt.Errorf("build request: %w", err), permanent: true}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", d.opts.UserAgent)
	h.Set("X-Ffrtmp-Event", del.Event)
	h.Set("X-Ffrtmp-Delivery", strconv.FormatUint(del.Seq, 10))
	h.Set("X-Ffrtmp-Job", del.JobID)
	h.Set("X-Ffrtmp-Attempt", strconv.Itoa(del.Attempts))
	h.Set("X-Ffrtmp-Signature", Sign(d.opts.Secret, time.Now(), del.Body))

	resp, err := d.opts.Client.Do(req)
	if err != nil {
		return attempt{err: fmt.Errorf("POST to %s: %w", u.Host, transportError(err))}
	}
	defer resp.Body.Close()
	// Read what a well-behaved receiver sends so the connection can be reused, never more.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	return classify(resp, head, time.Now())
}

// classify turns a receiver's answer into an attempt: 2xx is delivered; 4xx other than 408
// and 429 is a refusal; everything else (3xx, 408, 429, 5xx) is worth another try.
func classify(resp *http.Response, body []byte, now time.Time) attempt {
	a := attempt{status: resp.StatusCode}
	if a.status >= 200 && a.status <= 299 {
		return a
	}
	msg := "HTTP " + resp.Status
	if a.status >= 300 && a.status <= 399 {
		msg += " (redirects are not followed: use the final URL as the callback)"
	} else if snippet := bodySnippet(body); snippet != "" {
		msg += ": " + snippet
	}
	a.err = errors.New(msg)
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

// backoff is exponential backoff with full jitter: uniform in [0, min(max, base·2^(n-1))]
// after the n-th failed attempt, so receivers coming back are not hit by every master at once.
func backoff(base, maxDelay time.Duration, n int) time.Duration {
	ceiling := base
	for i := 1; i < n && ceiling < maxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, maxDelay)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// transportError drops url.Error's wrapping, which repeats the whole URL (a callback URL may
// carry a token in its query) in what ends up in logs and job events.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer in time: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// bodySnippet is the start of a refusal's body as one printable line, for the job event.
func bodySnippet(body []byte) string {
	const maxLen = 200
	s := strings.ToValidUTF8(string(body[:min(len(body), 4*maxLen)]), "")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if r := []rune(s); len(r) > maxLen {
		s = string(r[:maxLen]) + "…"
	}
	return s
}
