package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
)

// record is a job as stored: the API view plus bookkeeping the API does not show.
type record struct {
	Job      api.Job `json:"job"`
	EventSeq int64   `json:"event_seq"`
	// Idem is the idempotency bucket key that points at this job, if any.
	Idem []byte `json:"idem,omitempty"`
	// EventsDropped counts events not kept because the job's history was full.
	EventsDropped int64 `json:"events_dropped,omitempty"`
}

// IDs are ULIDs: sortable by creation time, so the jobs bucket is in age order and "newest
// first" is a reverse cursor. The generator is monotonic within a millisecond.
type idGen struct {
	mu      sync.Mutex
	entropy *ulid.MonotonicEntropy
}

var ids = idGen{entropy: ulid.Monotonic(rand.Reader, 0)}

func (g *idGen) next(t time.Time) ulid.ULID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return ulid.MustNew(ulid.Timestamp(t), g.entropy)
}

// NewID returns a fresh job ID for time t.
func NewID(t time.Time) string { return ids.next(t).String() }

func key(id string) ([]byte, bool) {
	u, err := ulid.ParseStrict(id)
	if err != nil {
		return nil, false
	}
	return u[:], true
}

func idxKey(value string, k []byte) []byte {
	b := make([]byte, 0, len(value)+1+len(k))
	b = append(b, value...)
	b = append(b, 0)
	return append(b, k...)
}

func eventKey(k []byte, seq int64) []byte {
	b := make([]byte, 24)
	copy(b, k)
	binary.BigEndian.PutUint64(b[16:], uint64(seq))
	return b
}

func getRecord(tx *bolt.Tx, k []byte) (*record, error) {
	v := tx.Bucket(bJobs).Get(k)
	if v == nil {
		return nil, ErrNotFound
	}
	r := &record{}
	if err := json.Unmarshal(v, r); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", ulid.ULID(k), err)
	}
	return r, nil
}

// putRecord writes r and moves its index entries from old (nil for a new job).
func putRecord(tx *bolt.Tx, k []byte, r *record, old *api.Job) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode job: %w", err)
	}
	jobs := tx.Bucket(bJobs)
	jobs.FillPercent = 0.9 // keys only grow at the right edge
	if err := jobs.Put(k, v); err != nil {
		return err
	}
	j := &r.Job
	for _, ix := range []struct {
		bucket   []byte
		old, new string
	}{
		{bByStatus, oldField(old, func(j *api.Job) string { return string(j.Status) }), string(j.Status)},
		{bByQueue, oldField(old, func(j *api.Job) string { return j.Queue }), j.Queue},
		{bByNode, oldField(old, func(j *api.Job) string { return j.Node }), j.Node},
	} {
		if ix.old == ix.new && old != nil {
			continue
		}
		b := tx.Bucket(ix.bucket)
		if ix.old != "" {
			if err := b.Delete(idxKey(ix.old, k)); err != nil {
				return err
			}
		}
		if ix.new != "" {
			if err := b.Put(idxKey(ix.new, k), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func oldField(j *api.Job, f func(*api.Job) string) string {
	if j == nil {
		return ""
	}
	return f(j)
}

// MaxEventsPerJob bounds a job's history: past it, progress samples, warnings and log lines
// are dropped (one warning says so); state changes are always kept.
const MaxEventsPerJob = 10_000

func appendEvents(tx *bolt.Tx, k []byte, r *record, evs []api.Event) error {
	b := tx.Bucket(bEvents)
	b.FillPercent = 0.9
	for _, e := range evs {
		if e.Type != api.EventState && r.EventSeq >= MaxEventsPerJob {
			if r.EventsDropped++; r.EventsDropped > 1 {
				continue
			}
			e = api.Event{Time: e.Time, Type: api.EventWarning, Node: e.Node,
				Message: fmt.Sprintf("event log full (%d events): further progress, warnings and log lines are not kept", MaxEventsPerJob)}
		}
		r.EventSeq++
		e.Seq = r.EventSeq
		v, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		if err := b.Put(eventKey(k, e.Seq), v); err != nil {
			return err
		}
	}
	return nil
}

// Idempotency is a submit's Idempotency-Key: Key identifies it (scoped by the caller),
// BodyHash tells a replay from a different request under the same key.
type Idempotency struct {
	Key      []byte
	BodyHash []byte
}

// ErrIdempotencyReused is returned when a key comes back with a different request.
var ErrIdempotencyReused = errors.New("idempotency key was used for a different request")

// CreateJob stores a new job with its first event. With idem set and the key known, it
// returns the job created under that key and replay true instead.
func (s *Store) CreateJob(ctx context.Context, job api.Job, ev api.Event, idem *Idempotency) (api.Job, bool, error) {
	k, ok := key(job.ID)
	if !ok {
		return job, false, fmt.Errorf("create job: bad id %q", job.ID)
	}
	var out api.Job
	var replay bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		out, replay = job, false
		r := &record{Job: job}
		if idem != nil {
			ib := tx.Bucket(bIdem)
			if v := ib.Get(idem.Key); v != nil {
				if !bytes.Equal(v[16:], idem.BodyHash) {
					return ErrIdempotencyReused
				}
				prev, err := getRecord(tx, v[:16])
				if err != nil {
					return err
				}
				out, replay = prev.Job, true
				return nil
			}
			r.Idem = idem.Key
			if err := ib.Put(idem.Key, append(append([]byte(nil), k...), idem.BodyHash...)); err != nil {
				return err
			}
		}
		if err := appendEvents(tx, k, r, []api.Event{ev}); err != nil {
			return err
		}
		if err := putRecord(tx, k, r, nil); err != nil {
			return err
		}
		return addDelivery(tx, r, ev)
	})
	return out, replay, err
}

// Change is what an UpdateJob function decides.
type Change struct {
	// Events are appended to the job's history (a state event also queues a webhook).
	Events []api.Event
	// Refuse, when set, leaves the job as it was and is returned by UpdateJob.
	Refuse error
	// NoWrite leaves the job as it was without an error (nothing to do).
	NoWrite bool
}

// UpdateJob reads job id, lets fn change it, and writes it with fn's events in one
// transaction. It returns the job before and after. fn may run more than once; it must
// decide only from the job it is given.
func (s *Store) UpdateJob(ctx context.Context, id string, fn func(j *api.Job) Change) (before, after api.Job, err error) {
	k, ok := key(id)
	if !ok {
		return api.Job{}, api.Job{}, ErrNotFound
	}
	var refused error
	err = s.update(ctx, func(tx *bolt.Tx) error {
		refused = nil
		r, err := getRecord(tx, k)
		if err != nil {
			return err
		}
		before = r.Job
		ch := fn(&r.Job)
		if ch.Refuse != nil || ch.NoWrite {
			after, refused = before, ch.Refuse
			return nil
		}
		after = r.Job
		return writeChange(tx, k, r, &before, ch.Events)
	})
	if err != nil {
		return api.Job{}, api.Job{}, err
	}
	return before, after, refused
}

func writeChange(tx *bolt.Tx, k []byte, r *record, old *api.Job, evs []api.Event) error {
	if err := appendEvents(tx, k, r, evs); err != nil {
		return err
	}
	if err := putRecord(tx, k, r, old); err != nil {
		return err
	}
	for _, e := range evs {
		if err := addDelivery(tx, r, e); err != nil {
			return err
		}
	}
	return nil
}

// GetJob returns job id.
func (s *Store) GetJob(ctx context.Context, id string) (api.Job, error) {
	k, ok := key(id)
	if !ok {
		return api.Job{}, ErrNotFound
	}
	var j api.Job
	err := s.view(func(tx *bolt.Tx) error {
		r, err := getRecord(tx, k)
		if err != nil {
			return err
		}
		j = r.Job
		return nil
	})
	return j, err
}

// GetJobs returns the jobs of ids that exist, in one read transaction.
func (s *Store) GetJobs(ctx context.Context, idList []string) (map[string]api.Job, error) {
	out := make(map[string]api.Job, len(idList))
	err := s.view(func(tx *bolt.Tx) error {
		for _, id := range idList {
			k, ok := key(id)
			if !ok {
				continue
			}
			r, err := getRecord(tx, k)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out[id] = r.Job
		}
		return nil
	})
	return out, err
}

// EachJob calls fn for every job in one of statuses, oldest first (used at startup to
// rebuild the queues).
func (s *Store) EachJob(ctx context.Context, statuses []api.Status, fn func(api.Job) error) error {
	return s.view(func(tx *bolt.Tx) error {
		for _, st := range statuses {
			prefix := idxKey(string(st), nil)
			c := tx.Bucket(bByStatus).Cursor()
			for ik, _ := c.Seek(prefix); ik != nil && bytes.HasPrefix(ik, prefix); ik, _ = c.Next() {
				r, err := getRecord(tx, ik[len(prefix):])
				if err != nil {
					return err
				}
				if err := fn(r.Job); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Events returns up to limit events of job id with seq > after, oldest first, and the seq to
// continue from (0 at the end).
func (s *Store) Events(ctx context.Context, id string, after int64, limit int) ([]api.Event, int64, error) {
	k, ok := key(id)
	if !ok {
		return nil, 0, ErrNotFound
	}
	var evs []api.Event
	var next int64
	err := s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bJobs).Get(k) == nil {
			return ErrNotFound
		}
		c := tx.Bucket(bEvents).Cursor()
		for ek, v := c.Seek(eventKey(k, after+1)); ek != nil && bytes.HasPrefix(ek, k); ek, v = c.Next() {
			if len(evs) == limit {
				next = evs[len(evs)-1].Seq
				break
			}
			var e api.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event: %w", err)
			}
			evs = append(evs, e)
		}
		return nil
	})
	return evs, next, err
}

// CountByStatus counts jobs per status from the status index.
func (s *Store) CountByStatus(ctx context.Context) (map[api.Status]int, error) {
	out := map[api.Status]int{}
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bByStatus).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if i := bytes.IndexByte(k, 0); i > 0 {
				out[api.Status(k[:i])]++
			}
		}
		return nil
	})
	return out, err
}
