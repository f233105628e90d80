package masterbench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// op is one request of a load, by client number. It returns the time of the request the
// case measures (an op may do more, e.g. complete the job it leased) and its error.
type op func(ctx context.Context, client int) (time.Duration, error)

// window is what a closed-loop load measured.
type window struct {
	Latencies []time.Duration // of the measured requests that succeeded
	OK        int
	Failed    int
	Errors    map[string]int
	// Elapsed is the measured span: the fixed duration, or first to last measured request.
	Elapsed time.Duration
}

// Rate is successful requests per second of the measured span.
func (w window) Rate() float64 {
	if w.Elapsed <= 0 {
		return 0
	}
	return float64(w.OK) / w.Elapsed.Seconds()
}

// collector gathers per-client results without sharing a lock on the hot path.
type collector struct {
	mu     sync.Mutex
	w      window
	maxErr int
}

func newCollector() *collector {
	return &collector{w: window{Errors: map[string]int{}}, maxErr: 8}
}

func (c *collector) merge(lat []time.Duration, ok int, errs []error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w.Latencies = append(c.w.Latencies, lat...)
	c.w.OK += ok
	c.w.Failed += len(errs)
	for _, err := range errs {
		msg := ErrorKey(err)
		if _, known := c.w.Errors[msg]; !known && len(c.w.Errors) >= c.maxErr {
			msg = "(other errors)"
		}
		c.w.Errors[msg]++
	}
}

// ErrorKey groups errors: an API answer by status and code, anything else by its message.
func ErrorKey(err error) string {
	var ae *api.Error
	if errors.As(err, &ae) {
		return fmt.Sprintf("HTTP %d %s: %s", ae.Status, ae.Code, ae.Message)
	}
	return err.Error()
}

// runFor runs clients goroutines that call o back to back for warmup+dur and measures the
// requests started in the last dur (closed loop: each client sends its next request when
// the previous one answered). mark, when not nil, is called once as the measured span
// begins.
func runFor(ctx context.Context, clients int, warmup, dur time.Duration, mark func(), o op) window {
	col := newCollector()
	var once sync.Once
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+dur)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var errs []error
			ok := 0
			for ctx.Err() == nil {
				t := time.Now()
				if !t.Before(until) {
					break
				}
				if !t.Before(from) && mark != nil {
					once.Do(mark)
				}
				d, err := o(ctx, c)
				if t.Before(from) {
					continue
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				lat = append(lat, d)
				ok++
			}
			col.merge(lat, ok, errs)
		}()
	}
	wg.Wait()
	col.w.Elapsed = dur
	return col.w
}

// runCount runs clients goroutines that call o back to back until warm+n requests have been
// started, and measures the last n (closed loop). The measured span runs from the first
// measured request's start to the last one's end. mark, when not nil, is called once as the
// measured span begins.
func runCount(ctx context.Context, clients, warm, n int, mark func(), o op) window {
	col := newCollector()
	var started atomic.Int64
	var first atomic.Int64 // unix ns of the first measured start
	var last atomic.Int64  // unix ns of the latest measured end
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var errs []error
			ok := 0
			for ctx.Err() == nil {
				i := started.Add(1)
				if i > int64(warm+n) {
					break
				}
				measured := i > int64(warm)
				if i == int64(warm)+1 && mark != nil {
					mark()
				}
				t := time.Now()
				if measured {
					first.CompareAndSwap(0, t.UnixNano())
				}
				d, err := o(ctx, c)
				if !measured {
					continue
				}
				storeMax(&last, time.Now().UnixNano())
				if err != nil {
					errs = append(errs, err)
					continue
				}
				lat = append(lat, d)
				ok++
			}
			col.merge(lat, ok, errs)
		}()
	}
	wg.Wait()
	if f, l := first.Load(), last.Load(); f > 0 && l > f {
		col.w.Elapsed = time.Duration(l - f)
	}
	return col.w
}

// runRate offers requests at rate per second, spaced as independent arrivals (exponential
// gaps, fixed seed), to at most clients goroutines, until warm+n have been sent, and
// measures the last n (open loop). A request's latency counts from when it was due, so time
// spent waiting for a free client is in it.
func runRate(ctx context.Context, rate float64, clients, warm, n int, mark func(), o op) window {
	col := newCollector()
	due := make(chan time.Time, warm+n)
	go func() {
		defer close(due)
		rng := rand.New(rand.NewPCG(7, 7))
		next := time.Now()
		for range warm + n {
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return
				}
			}
			due <- next
			next = next.Add(time.Duration(rng.ExpFloat64() / rate * float64(time.Second)))
		}
	}()
	var sent atomic.Int64
	var first, last atomic.Int64
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var errs []error
			ok := 0
			for at := range due {
				i := sent.Add(1)
				measured := i > int64(warm)
				if i == int64(warm)+1 && mark != nil {
					mark()
				}
				if measured {
					first.CompareAndSwap(0, at.UnixNano())
				}
				wait := time.Since(at)
				d, err := o(ctx, c)
				if !measured {
					continue
				}
				storeMax(&last, time.Now().UnixNano())
				if err != nil {
					errs = append(errs, err)
					continue
				}
				lat = append(lat, max(wait, 0)+d)
				ok++
			}
			col.merge(lat, ok, errs)
		}()
	}
	wg.Wait()
	if f, l := first.Load(), last.Load(); f > 0 && l > f {
		col.w.Elapsed = time.Duration(l - f)
	}
	return col.w
}

func storeMax(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// clients are api.Clients of their own, each with its own transport (one keep-alive
// connection, as a real submitter or worker has). The cases set up and check through them.
type clients struct {
	c   []*api.Client
	trs []*http.Transport
}

func newClients(url string, n int) (*clients, error) {
	cs := &clients{}
	for range n {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		c, err := api.NewClient(url, APIKey, api.WithHTTPClient(&http.Client{Transport: tr}), api.WithUserAgent("ffrtmp-bench-master"))
		if err != nil {
			return nil, err
		}
		cs.c = append(cs.c, c)
		cs.trs = append(cs.trs, tr)
	}
	return cs, nil
}

// Close drops the clients' idle connections.
func (cs *clients) Close() {
	for _, tr := range cs.trs {
		tr.CloseIdleConnections()
	}
}

// cpuSpan measures the CPU time the masters (one, or the members of a cluster), this
// process and the whole machine spend between mark and end.
type cpuSpan struct {
	ms                 []*Master
	master, self, busy time.Duration
	at                 time.Time
	marked             bool
}

func (s *cpuSpan) mark() {
	s.master, s.self, s.busy, s.at, s.marked = s.mastersCPU(), selfCPU(), machineBusy(), time.Now(), true
}

func (s *cpuSpan) mastersCPU() time.Duration {
	var d time.Duration
	for _, m := range s.ms {
		d += m.CPU()
	}
	return d
}

// end records the span's CPU times in res; ops divides the masters'.
func (s *cpuSpan) end(res *CaseResult, ops int) {
	if !s.marked {
		return
	}
	master, self := s.mastersCPU()-s.master, selfCPU()-s.self
	res.MasterCPUSeconds = master.Seconds()
	res.LoadCPUSeconds = self.Seconds()
	res.MasterCPUPerOpUs = perOp(res.MasterCPUSeconds, ops)
	if wall := time.Since(s.at); wall > 0 {
		res.OtherCPUCores = max(0, (machineBusy()-s.busy-master-self).Seconds()/wall.Seconds())
	}
}

// machineBusy is the CPU time all cores spent neither idle nor waiting for I/O (/proc/stat).
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0
		}
		// user nice system idle iowait irq softirq steal [guest guest_nice, already in user]
		if i == 3 || i == 4 || i >= 8 {
			continue
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / 100
}

// perOp is seconds per op in µs (0 without ops).
func perOp(seconds float64, ops int) float64 {
	if ops == 0 {
		return 0
	}
	return seconds / float64(ops) * 1e6
}
