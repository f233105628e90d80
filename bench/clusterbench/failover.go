package clusterbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/bench/masterbench"
	"github.com/ffrtmp/ffrtmp/internal/stats"
)

// Failover is one SIGKILL of the leader as measured.
type Failover struct {
	Killed string `json:"killed"`
	// Seconds runs from the SIGKILL to the first submit a surviving member acknowledged.
	Seconds float64 `json:"seconds"`
	// AckedBy is the member that acknowledged it, and NewLeader who led once it had.
	AckedBy   string `json:"acked_by"`
	NewLeader string `json:"new_leader"`
	// Attempts is how many submits the retrying clients sent until then.
	Attempts int `json:"attempts"`
	// CatchUpSeconds runs from the killed member's restart (it listens) until every member
	// has applied the same index, AppliedIndex.
	CatchUpSeconds float64 `json:"catch_up_seconds"`
	AppliedIndex   uint64  `json:"applied_index"`
}

// Failover targets (the issue's): the first acknowledged submit within 3 s of the leader's
// SIGKILL, at the median and at worst.
const targetFailoverSeconds = 3

// retryEvery is how long a client waits between submits that found no leader.
const retryEvery = 10 * time.Millisecond

// failoverCase SIGKILLs the leader kills times. Each time, one client per surviving member
// submits every retryEvery until a submit is acknowledged; then the killed member restarts
// and the case waits until all members have applied the same index.
func failoverCase(ctx context.Context, c *cluster, kills int, logf func(string, ...any)) (masterbench.CaseResult, []Failover, error) {
	res := masterbench.CaseResult{Name: "failover", Latencies: map[string]masterbench.Latency{}, Errors: map[string]int{},
		Description: fmt.Sprintf("%d times: SIGKILL the leader; one client per surviving member submits every %s (each try waits at most 2 s) "+
			"until one is acknowledged (201); the time from the SIGKILL to that 201 is the failover time; then the killed member restarts on its "+
			"folder and the next kill waits until every member has applied the same index", kills, retryEvery)}
	var fos []Failover
	var took, catchUps []time.Duration
	for k := range kills {
		l, err := c.leader(ctx, 30*time.Second)
		if err != nil {
			return res, fos, fmt.Errorf("kill %d: %w (logs: %s)", k+1, err, c.logs())
		}
		var survivors []*member
		for _, mb := range c.members {
			if mb != l {
				survivors = append(survivors, mb)
			}
		}
		killed := time.Now()
		l.m.Kill()
		ack, err := firstAck(ctx, survivors, res.Errors)
		if err != nil {
			return res, fos, fmt.Errorf("kill %d of leader %s: %w (logs: %s)", k+1, l.id, err, c.logs())
		}
		fo := Failover{Killed: l.id, Seconds: ack.at.Sub(killed).Seconds(), AckedBy: ack.by.id, Attempts: ack.attempts}
		if nl, err := c.leader(ctx, 30*time.Second); err == nil {
			fo.NewLeader = nl.id
		}
		if err := c.start(ctx, l); err != nil {
			return res, fos, fmt.Errorf("restart %s after kill %d: %w", l.id, k+1, err)
		}
		t0 := time.Now()
		idx, err := c.caughtUp(ctx, 2*time.Minute)
		if err != nil {
			return res, fos, fmt.Errorf("after kill %d of %s: %w (logs: %s)", k+1, l.id, err, c.logs())
		}
		fo.CatchUpSeconds, fo.AppliedIndex = time.Since(t0).Seconds(), idx
		fos = append(fos, fo)
		took = append(took, ack.at.Sub(killed))
		catchUps = append(catchUps, time.Since(t0))
		logf("failover %d/%d: killed %s, first 201 after %.2f s through %s (%d tries), %s leads; %s caught up in %.2f s at index %d",
			k+1, kills, fo.Killed, fo.Seconds, fo.AckedBy, fo.Attempts, fo.NewLeader, l.id, fo.CatchUpSeconds, idx)
	}
	fl, cl := masterbench.Summarize(took), masterbench.Summarize(catchUps)
	res.Latencies["failover"], res.Latencies["catch-up"] = fl, cl
	unexpected := 0
	for k, n := range res.Errors {
		if k != inFlightKey {
			unexpected += n
		}
	}
	res.Metrics = []masterbench.Metric{
		masterbench.Info("leader SIGKILLs", float64(len(took)), ""),
		masterbench.AtMost("failover p50 (SIGKILL → first 201)", fl.P50/1000, "s", targetFailoverSeconds),
		masterbench.Info("failover p95", stats.Percentile(took, 0.95).Seconds(), "s"), // took is sorted by Summarize
		masterbench.AtMost("failover max", fl.Max/1000, "s", targetFailoverSeconds),
		masterbench.Info("rejoin catch-up p50", cl.P50/1000, "s"),
		masterbench.Info("rejoin catch-up max", cl.Max/1000, "s"),
		masterbench.Info("502 unavailable (a forward in flight at the SIGKILL)", float64(res.Errors[inFlightKey]), ""),
		masterbench.Zero("answers other than 503/502 unavailable or a refused connection", float64(unexpected), ""),
	}
	res.Summary = fmt.Sprintf("%d kills: p50 %.2f s, max %.2f s; %d unexpected answers", len(took), fl.P50/1000, fl.Max/1000, unexpected)
	return res, fos, nil
}

type ack struct {
	by       *member
	at       time.Time
	attempts int
}

// firstAck submits through each of survivors every retryEvery until one answers 201, and
// returns which did and when. 503 unavailable and connection errors are what a failover
// looks like, and so is a 502 unavailable for a forward the SIGKILL cut (counted apart);
// any other failure is counted in errs by its message (and retried).
func firstAck(ctx context.Context, survivors []*member, errs map[string]int) (ack, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var mu sync.Mutex
	var first ack
	attempts := 0
	var wg sync.WaitGroup
	for _, mb := range survivors {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		cl, err := api.NewClient(mb.url, masterbench.APIKey, api.WithHTTPClient(&http.Client{Transport: tr, Timeout: 2 * time.Second}),
			api.WithUserAgent("ffrtmp-bench-cluster"))
		if err != nil {
			return ack{}, err
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := cl.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Queue: api.QueueBatch}, "")
				at := time.Now()
				mu.Lock()
				attempts++
				if err == nil && first.by == nil {
					first = ack{by: mb, at: at, attempts: attempts}
					cancel()
				}
				if err != nil && ctx.Err() == nil {
					switch {
					case inFlightAtKill(err):
						errs[inFlightKey]++
					case !expectedDuringFailover(err):
						countError(errs, "during a failover: "+masterbench.ErrorKey(err))
					}
				}
				mu.Unlock()
				if err == nil {
					return
				}
				_ = sleep(ctx, retryEvery)
			}
		})
	}
	wg.Wait()
	if first.by == nil {
		return ack{}, fmt.Errorf("no submit acknowledged within a minute of the SIGKILL (%d tries)", attempts)
	}
	return first, nil
}

// countError counts an error by message, keeping at most 8 distinct ones.
func countError(errs map[string]int, msg string) {
	if _, known := errs[msg]; !known && len(errs) >= 8 {
		msg = "(other errors)"
	}
	errs[msg]++
}

// inFlightKey counts the 502 unavailable answers of a follower whose forward to the leader
// was cut by the SIGKILL: the leader may have carried it out, so the member cannot say
// (a client retries with the same Idempotency-Key). Expected, and shown apart.
const inFlightKey = "502 unavailable: a forwarded submit in flight at the SIGKILL (outcome unknown, expected)"

func inFlightAtKill(err error) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Status == http.StatusBadGateway && ae.Code == api.CodeUnavailable
}

// expectedDuringFailover: the member has no leader (503 unavailable), or the connection
// failed or timed out.
func expectedDuringFailover(err error) bool {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae.Status == http.StatusServiceUnavailable && ae.Code == api.CodeUnavailable
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}
