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
	r := &record{Job: job}
	if idem != nil {
		r.Idem = idem.Key
	}
	// Encode outside the writer: it only checks the key and copies bytes in.
	w, err := prepare(k, r, nil, []api.Event{ev})
	if err != nil {
		return job, false, err
	}
	var out api.Job
	var replay bool
	err = s.update(ctx, func(tx *wtx) error {
		out, replay = job, false
		if idem != nil {
			ib := tx.Bucket(bIdem)
			if v := ib.Get(idem.Key); v != nil {
				if !bytes.Equal(v[16:], idem.BodyHash) {
					return ErrIdempotencyReused
				}
				prev, err := getRecord(tx.Bucket(bJobs), v[:16])
				if err != nil {
					return err
				}
				out, replay = prev.Job, true
				return nil
			}
			if err := ib.Put(idem.Key, append(append([]byte(nil), k...), idem.BodyHash...)); err != nil {
				return err
			}
		}
		return w.apply(tx)
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
// transaction. It returns the job before and after. fn must decide only from the job it is
// given, and may run more than once: the change is computed outside the writer (reading,
// decoding and encoding in the caller's goroutine) and applied only if the job has not
// changed meanwhile; otherwise it is computed again.
func (s *Store) UpdateJob(ctx context.Context, id string, fn func(j *api.Job) Change) (before, after api.Job, err error) {
	k, ok := key(id)
	if !ok {
		return api.Job{}, api.Job{}, ErrNotFound
	}
	for attempt := 0; ; attempt++ {
		var r *record
		if err := s.view(func(tx *bolt.Tx) error {
			var err error
			r, err = getRecord(tx.Bucket(bJobs), k)
			return err
		}); err != nil {
			return api.Job{}, api.Job{}, err
		}
		before = r.Job
		ch := fn(&r.Job)
		if ch.Refuse != nil || ch.NoWrite {
			return before, before, ch.Refuse
		}
		w, err := prepare(k, r, &before, ch.Events)
		if err != nil {
			return api.Job{}, api.Job{}, err
		}
		err = s.update(ctx, w.apply)
		if errors.Is(err, errConflict) && attempt < 10 {
			continue // another write got there first: decide again from what it wrote
		}
		if err != nil {
			return api.Job{}, api.Job{}, err
		}
		return before, r.Job, nil
	}
}

// GetJob returns job id.
func (s *Store) GetJob(ctx context.Context, id string) (api.Job, error) {
	k, ok := key(id)
	if !ok {
		return api.Job{}, ErrNotFound
	}
	var j api.Job
	err := s.view(func(tx *bolt.Tx) error {
		r, err := getRecord(tx.Bucket(bJobs), k)
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
			r, err := getRecord(tx.Bucket(bJobs), k)
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
				r, err := getRecord(tx.Bucket(bJobs), ik[len(prefix):])
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
