package standalone

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/backoff"
	"github.com/ffrtmp/ffrtmp/rtmp"
)

// eventSender is what the reporter needs of the master: *api.Client.
type eventSender interface {
	IngestEvent(ctx context.Context, ev api.IngestEvent) error
}

// reporter is the ingest's rtmp.Observer: it queues the news of streams and delivers it to the
// master in order, from one goroutine, retrying with backoff while the master does not
// answer. The RTMP server's goroutines never wait on the master.
//
// The queue is bounded. Stats are the cheapest news to lose (the next tick brings fresh
// ones): a stream has at most one stats event queued (a newer one replaces it), a stats event
// that fails is dropped rather than retried, and a full queue drops stats first. Only a queue
// full of publishes and unpublishes drops one of those, the oldest, with an error logged.
type reporter struct {
	master  eventSender
	relay   string
	log     *slog.Logger
	max     int
	timeout time.Duration // of one request
	m       *metrics

	mu   sync.Mutex
	q    []api.IngestEvent
	live map[string]string // streams whose latest queued news is a publish → its session
	wake chan struct{}

	// retry is the wait between failed deliveries; a variable for tests.
	retry backoff.Policy
}

func newReporter(master eventSender, relay string, maxQueue int, timeout time.Duration, m *metrics, log *slog.Logger) *reporter {
	// At least 2: the head may be in flight and is never the one dropped.
	return &reporter{master: master, relay: relay, log: log, max: max(maxQueue, 2), timeout: timeout, m: m,
		live: map[string]string{}, wake: make(chan struct{}, 1),
		// 250 ms doubling to 10 s, give or take a fifth so that ingests that lost the master
		// together do not come back in step: a ceiling of 1.2× that, drawn from its top third.
		retry: backoff.Policy{Base: 300 * time.Millisecond, Max: 12 * time.Second, Jitter: 1.0 / 3}}
}

var _ rtmp.Observer = (*reporter)(nil)

// Published queues a publisher's start (or its return within the grace).
func (r *reporter) Published(id string, info rtmp.StreamInfo) {
	typ := api.IngestPublished
	if info.Continued {
		typ = api.IngestContinued
	}
	in := api.StreamInput{VideoCodec: info.VideoCodec, Width: info.Width, Height: info.Height, FPS: info.FPS,
		AudioCodec: info.AudioCodec, SampleRate: info.SampleRate, Channels: info.Channels, Remote: info.Remote}
	r.mu.Lock()
	r.live[id] = info.Session
	r.push(api.IngestEvent{Type: typ, StreamID: id, Session: info.Session, Input: &in, Relay: r.relay})
	r.mu.Unlock()
}

// Unpublished queues a publisher's leaving.
func (r *reporter) Unpublished(id string, stats rtmp.StreamStats) {
	r.mu.Lock()
	session := r.live[id]
	delete(r.live, id)
	r.push(api.IngestEvent{Type: api.IngestUnpublished, StreamID: id, Session: session, Relay: r.relay, Bytes: stats.Bytes})
	r.mu.Unlock()
}

// stats queues stream id's counters, replacing ones still queued. A stream whose unpublish
// is queued already gets none: after its unpublish, they would tell the master it is back.
func (r *reporter) stats(id string, st rtmp.StreamStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	session, live := r.live[id]
	if !live {
		return
	}
	ev := api.IngestEvent{Type: api.IngestStats, StreamID: id, Session: session, Relay: r.relay, Bytes: st.Bytes, BitrateBPS: st.BitrateBPS}
	for i := range r.q {
		// Only the head may be in flight; a queued stats event behind it is replaced in place.
		if i > 0 && r.q[i].Type == api.IngestStats && r.q[i].StreamID == id {
			r.q[i] = ev
			return
		}
	}
	r.push(ev)
}

// push appends ev, making room when the queue is full. r.mu is held.
func (r *reporter) push(ev api.IngestEvent) {
	if len(r.q) >= r.max {
		drop := 0
		for i := len(r.q) - 1; i > 0; i-- { // the oldest stats not in flight, else the oldest event
			if r.q[i].Type == api.IngestStats {
				drop = i
			}
		}
		if drop == 0 && len(r.q) > 1 {
			drop = 1 // the head may be in flight
		}
		lost := r.q[drop]
		r.q = append(r.q[:drop], r.q[drop+1:]...)
		r.m.dropped.WithLabelValues(string(lost.Type)).Inc()
		if lost.Type == api.IngestStats {
			r.log.Warn("the master's event queue is full: stats dropped", "stream_id", lost.StreamID, "queue", r.max)
		} else {
			r.log.Error("the master's event queue is full: an event is lost, the master's view of the stream may be wrong until it publishes again",
				"type", lost.Type, "stream_id", lost.StreamID, "queue", r.max)
		}
	}
	r.q = append(r.q, ev)
	r.m.queued.Set(float64(len(r.q)))
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// head returns the event to deliver next.
func (r *reporter) head() (api.IngestEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.q) == 0 {
		return api.IngestEvent{}, false
	}
	return r.q[0], true
}

// pop removes the head, delivered or given up.
func (r *reporter) pop() {
	r.mu.Lock()
	r.q = r.q[1:]
	if len(r.q) == 0 {
		r.q = nil // let the array go
	}
	r.m.queued.Set(float64(len(r.q)))
	r.mu.Unlock()
}

// pending counts the queued events.
func (r *reporter) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.q)
}

// run delivers events until stop closes, waiting between failures. A request in flight
// finishes (or times out) first: cut off, it might be applied without the reporter knowing,
// and be sent again.
func (r *reporter) run(stop <-chan struct{}) {
	failures := 0
	for {
		if failures > 0 {
			t := time.NewTimer(r.retry.Delay(failures))
			select {
			case <-stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
		ev, ok := r.head()
		if !ok {
			select {
			case <-stop:
				return
			case <-r.wake:
			}
			continue
		}
		if r.deliver(ev, r.timeout) {
			failures = 0
		} else {
			failures++
		}
		select {
		case <-stop:
			return
		default:
		}
	}
}

// drain delivers what is queued, stats aside, until the queue is empty or deadline passes
// (the ingest is stopping: its streams' unpublishes must reach the master). It returns the
// events left undelivered.
func (r *reporter) drain(deadline time.Time) int {
	failures := 0
	for time.Now().Before(deadline) {
		ev, ok := r.head()
		if !ok {
			return 0
		}
		if ev.Type == api.IngestStats {
			r.pop()
			continue
		}
		if !r.deliver(ev, min(r.timeout, time.Until(deadline))) {
			failures++
			time.Sleep(min(r.retry.Delay(failures), time.Until(deadline)))
		}
	}
	return r.pending()
}

// deliver sends ev, the head, and pops it when it was delivered or cannot ever be (the
// master refuses it, or it is stats), waiting up to timeout. It reports whether the master
// answered: false calls for a backoff.
func (r *reporter) deliver(ev api.IngestEvent, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	err := r.master.IngestEvent(ctx, ev)
	cancel()
	if err == nil {
		r.pop()
		r.m.delivered.WithLabelValues(string(ev.Type)).Inc()
		return true
	}
	var ae *api.Error
	permanent := errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 &&
		ae.Status != http.StatusRequestTimeout && ae.Status != http.StatusTooManyRequests
	switch {
	case permanent && ae.Status == http.StatusNotFound:
		r.log.Warn("the master does not know the stream (deleted?): event dropped", "type", ev.Type, "stream_id", ev.StreamID)
	case permanent:
		r.log.Error("the master refused an event: dropped", "type", ev.Type, "stream_id", ev.StreamID, "err", err)
	case ev.Type == api.IngestStats:
		r.log.Debug("stats not delivered: dropped", "stream_id", ev.StreamID, "err", err)
		r.pop()
		r.m.dropped.WithLabelValues(string(ev.Type)).Inc()
		return false
	default:
		r.log.Warn("the master did not take an event: retrying", "type", ev.Type, "stream_id", ev.StreamID, "err", err)
		r.m.retries.Inc()
		return false
	}
	r.pop()
	r.m.dropped.WithLabelValues(string(ev.Type)).Inc()
	return true
}
