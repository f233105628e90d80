// Package events is the master's feed of changes that clients watch (GET /v1/events): a
// bounded ring of job, node and stream events with increasing IDs, so a subscriber that
// reconnects picks up what it missed, and coalescing of progress so a busy farm does not
// flood it.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// Kind says what an event is about.
type Kind string

// The kinds of event, as the stream's `event:` field names them.
const (
	KindJob    Kind = api.ServerEventJob
	KindNode   Kind = api.ServerEventNode
	KindStream Kind = api.ServerEventStream
	// KindReset tells a subscriber that events were lost (it resumed from an ID the hub no
	// longer holds, or fell behind): it reloads what it shows.
	KindReset Kind = api.ServerEventReset
)

// Event is one change, its data already the JSON a client reads.
type Event struct {
	ID   uint64
	Kind Kind
	// Tenant owns the job or stream; "" for what every subscriber may see (nodes, resets).
	Tenant string
	Data   []byte
}

// Defaults of Config, and the bounds the API documents.
const (
	DefaultBuffer           = 4096
	DefaultProgressInterval = time.Second
	DefaultMaxPerKey        = 16
	DefaultMaxTotal         = 1024
)

// Config tunes a Hub. Zero fields take the defaults.
type Config struct {
	// Buffer is how many events are kept for subscribers that resume [DefaultBuffer].
	Buffer int
	// ProgressInterval is the least time between two progress events of one job: a report
	// sooner waits, and a later one replaces it [DefaultProgressInterval].
	ProgressInterval time.Duration
	// MaxPerKey and MaxTotal bound the open subscriptions of one API key and of the hub
	// [DefaultMaxPerKey, DefaultMaxTotal].
	MaxPerKey, MaxTotal int
	// Start is the ID before the first event [the time in microseconds since 1970]: a hub
	// made later (a restarted master, a new leader) starts above the IDs of one made before,
	// so an ID of another hub is too old or in the future, never taken for one of this hub.
	Start uint64
}

// Hub holds the recent events and wakes subscribers. Publishing never blocks on a
// subscriber: each reads the ring at its own pace, and one that falls more than Buffer
// events behind gets a reset.
type Hub struct {
	cfg Config

	mu     sync.Mutex
	ring   []Event
	last   uint64        // ID of the newest event (cfg.Start when none)
	wake   chan struct{} // closed and replaced on every event
	closed bool
	subs   map[string]int // open subscriptions per key
	total  int

	// Progress coalescing: when each job's last progress event went out, and the newest
	// report held back until its interval is over.
	progressAt map[string]time.Time
	pending    map[string]held
	timer      *time.Timer
	swept      time.Time
}

// New returns a hub.
func New(cfg Config) *Hub {
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = DefaultProgressInterval
	}
	if cfg.MaxPerKey <= 0 {
		cfg.MaxPerKey = DefaultMaxPerKey
	}
	if cfg.MaxTotal <= 0 {
		cfg.MaxTotal = DefaultMaxTotal
	}
	if cfg.Start == 0 {
		cfg.Start = uint64(time.Now().UnixMicro())
	}
	return &Hub{cfg: cfg, ring: make([]Event, cfg.Buffer), last: cfg.Start, wake: make(chan struct{}),
		subs: map[string]int{}, progressAt: map[string]time.Time{}, pending: map[string]held{}}
}

// Last is the ID of the newest event (or the hub's start).
func (h *Hub) Last() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// Close ends every subscription (the master stops serving, or stops leading) and drops
// what is still held back.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.wake)
	if h.timer != nil {
		h.timer.Stop()
	}
	h.pending = nil
}

// ---- publishing ----

// Job publishes job j as GET /v1/jobs/{id} shows it (redacted). progress says only its
// progress (or other detail) changed, not its status or node: such events are coalesced.
func (h *Hub) Job(j api.Job, progress bool) {
	tenant := j.Tenant
	if tenant == "" {
		tenant = api.DefaultTenant
	}
	h.publish(KindJob, j.ID, tenant, j.Redact(), progress)
}

// Node publishes node n as GET /v1/nodes/{id} shows it.
func (h *Hub) Node(n api.Node) { h.publish(KindNode, "", "", n, false) }

// NodeRemoved publishes that node id was removed.
func (h *Hub) NodeRemoved(id string) {
	h.publish(KindNode, "", "", api.DeletedObject{ID: id, Deleted: true}, false)
}

// Stream publishes stream st as GET /v1/streams/{id} shows it (destinations redacted,
// never its key).
func (h *Hub) Stream(st api.Stream) {
	st = st.Redact()
	st.StreamKey = ""
	h.publish(KindStream, "", streamTenant(st.Tenant), st, false)
}

// StreamDeleted publishes that stream id of tenant was deleted.
func (h *Hub) StreamDeleted(id, tenant string) {
	h.publish(KindStream, "", streamTenant(tenant), api.DeletedObject{ID: id, Deleted: true}, false)
}

func streamTenant(t string) string {
	if t == "" {
		return api.DefaultTenant
	}
	return t
}

// held is a job's progress held back, marshalled only if it is still the latest when its
// interval is over: most progress reports of a busy farm are replaced before then.
type held struct {
	tenant string
	v      any
}

// marshal encodes an event's data.
func marshal(kind Kind, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		// Only a type the API cannot answer either gets here: nothing a client can use.
		panic(fmt.Sprintf("events: marshal %s: %v", kind, err))
	}
	return data
}

// publish appends v, or holds a job's progress back (coalesce, with the job's ID) until its
// interval is over. Events of one job come from under that job's lock, so their order holds
// although v is marshalled outside the hub's.
func (h *Hub) publish(kind Kind, job, tenant string, v any, coalesce bool) {
	if job == "" || !coalesce {
		ev := Event{Kind: kind, Tenant: tenant, Data: marshal(kind, v)}
		now := time.Now()
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.closed {
			return
		}
		if job != "" {
			// A status change carries the latest progress: what was held back is stale.
			h.sweepLocked(now)
			delete(h.pending, job)
			h.progressAt[job] = now
		}
		h.appendLocked(ev)
		return
	}
	now := time.Now()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.sweepLocked(now)
	if at, ok := h.progressAt[job]; ok && now.Sub(at) < h.cfg.ProgressInterval {
		if _, waiting := h.pending[job]; !waiting && h.timer == nil {
			h.timer = time.AfterFunc(h.cfg.ProgressInterval-now.Sub(at), h.flush)
		}
		h.pending[job] = held{tenant: tenant, v: v}
		h.mu.Unlock()
		return
	}
	h.progressAt[job] = now
	delete(h.pending, job) // older than v: flush must not send it after v
	h.mu.Unlock()
	ev := Event{Kind: kind, Tenant: tenant, Data: marshal(kind, v)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.appendLocked(ev)
	}
}

// flush appends the held-back progress whose interval is over and waits for the rest.
func (h *Hub) flush() {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.timer = nil
	if h.closed {
		return
	}
	var next time.Duration
	for job, p := range h.pending {
		wait := h.cfg.ProgressInterval - now.Sub(h.progressAt[job])
		if wait > 0 {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		delete(h.pending, job)
		h.progressAt[job] = now
		h.appendLocked(Event{Kind: KindJob, Tenant: p.tenant, Data: marshal(KindJob, p.v)})
	}
	if next > 0 {
		h.timer = time.AfterFunc(next, h.flush)
	}
}

// sweepLocked forgets, at most once an interval, when jobs last had progress events once
// that no longer holds anything back.
func (h *Hub) sweepLocked(now time.Time) {
	if now.Sub(h.swept) < h.cfg.ProgressInterval {
		return
	}
	h.swept = now
	for job, at := range h.progressAt {
		if _, held := h.pending[job]; !held && now.Sub(at) >= h.cfg.ProgressInterval {
			delete(h.progressAt, job)
		}
	}
}

func (h *Hub) appendLocked(ev Event) {
	h.last++
	ev.ID = h.last
	h.ring[h.last%uint64(len(h.ring))] = ev
	close(h.wake)
	h.wake = make(chan struct{})
}

// ---- subscribing ----

// ErrClosed ends a subscription whose hub closed.
var ErrClosed = errors.New("the event feed closed: this master stopped serving it (shutting down, or another master leads now); reconnect")

// TooManyError refuses a subscription over a bound.
type TooManyError struct {
	Key    string
	PerKey bool // the key's bound (else the master's)
	Open   int
	Max    int
}

func (e *TooManyError) Error() string {
	if e.PerKey {
		return fmt.Sprintf("API key %q has %d event streams open, the most one key may: close one (each browser tab of the console holds one)", e.Key, e.Open)
	}
	return fmt.Sprintf("the master serves %d event streams, the most it may: retry later", e.Open)
}

// Subscription is one reader of the hub.
type Subscription struct {
	h      *Hub
	key    string
	cursor uint64 // the last event read
	reset  bool   // the next read starts with a reset
	once   sync.Once
}

// Subscribe opens a subscription for API key key. With resume, it starts after event last:
// the events since then are read first, or, when the hub no longer holds them all (or last
// is not one of its IDs), a reset. Without, it starts with the next event.
func (h *Hub) Subscribe(key string, last uint64, resume bool) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if n := h.subs[key]; n >= h.cfg.MaxPerKey {
		return nil, &TooManyError{Key: key, PerKey: true, Open: n, Max: h.cfg.MaxPerKey}
	}
	if h.total >= h.cfg.MaxTotal {
		return nil, &TooManyError{Key: key, Open: h.total, Max: h.cfg.MaxTotal}
	}
	h.subs[key]++
	h.total++
	s := &Subscription{h: h, key: key, cursor: h.last}
	if resume && last != h.last {
		if last > h.last || last < h.oldestLocked()-1 {
			s.reset = true
		} else {
			s.cursor = last
		}
	}
	return s, nil
}

// oldestLocked is the ID of the oldest event held.
func (h *Hub) oldestLocked() uint64 {
	n := uint64(len(h.ring))
	if h.last-h.cfg.Start < n {
		return h.cfg.Start + 1
	}
	return h.last - n + 1
}

// Read returns up to max events after the subscription's cursor, without waiting. With
// none, wait is closed when one may have come. A reset event (when events were lost) has
// the ID to resume after. It returns ErrClosed once the hub closed.
func (s *Subscription) Read(max int) (evs []Event, wait <-chan struct{}, err error) {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, ErrClosed
	}
	if !s.reset && s.cursor < h.oldestLocked()-1 {
		s.reset = true // it fell more than the buffer behind
	}
	if s.reset {
		s.reset = false
		s.cursor = h.last
		return []Event{{ID: h.last, Kind: KindReset, Data: resetData}}, h.wake, nil
	}
	for s.cursor < h.last && len(evs) < max {
		s.cursor++
		evs = append(evs, h.ring[s.cursor%uint64(len(h.ring))])
	}
	return evs, h.wake, nil
}

var resetData, _ = json.Marshal(api.EventReset{Reason: "events were missed: reload what you show"})

// Close releases the subscription's place.
func (s *Subscription) Close() {
	s.once.Do(func() {
		h := s.h
		h.mu.Lock()
		defer h.mu.Unlock()
		h.subs[s.key]--
		if h.subs[s.key] <= 0 {
			delete(h.subs, s.key)
		}
		h.total--
	})
}

// Cursor is the ID of the last event the subscription read.
func (s *Subscription) Cursor() uint64 {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.cursor
}
