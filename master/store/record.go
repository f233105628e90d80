package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/oklog/ulid/v2"

	"github.com/ffrtmp/ffrtmp/api"
)

// A job's stored value is a small binary header followed by the job's API JSON:
//
//	format byte (2) | uvarint version | uvarint event seq | uvarint events dropped |
//	uvarint len(idem) | idem | job JSON
//
// The JSON is exactly what the API answers, so a listing copies it out without decoding, and
// the version lets a change be computed outside the single writer and applied only if the
// job has not moved meanwhile.
const recordFormat = 2

// record is a job as stored: the API view plus bookkeeping the API does not show.
type record struct {
	Job      api.Job
	Version  uint64 // bumped by every write
	EventSeq int64
	// EventsDropped counts events not kept because the job's history was full.
	EventsDropped int64
	// Idem is the idempotency bucket key that points at this job, if any.
	Idem []byte
}

// errConflict: the job changed between reading it and writing the change.
var errConflict = errors.New("job changed meanwhile")

func (r *record) encode() ([]byte, error) {
	js, err := json.Marshal(&r.Job)
	if err != nil {
		return nil, fmt.Errorf("encode job: %w", err)
	}
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64+len(r.Idem)+len(js))
	b = append(b, recordFormat)
	b = binary.AppendUvarint(b, r.Version)
	b = binary.AppendUvarint(b, uint64(r.EventSeq))
	b = binary.AppendUvarint(b, uint64(r.EventsDropped))
	b = binary.AppendUvarint(b, uint64(len(r.Idem)))
	b = append(b, r.Idem...)
	return append(b, js...), nil
}

// decodeHeader fills r's bookkeeping from v and returns the job's JSON (aliasing v).
func decodeHeader(v []byte, r *record) ([]byte, error) {
	nums, idem, js, err := splitRecord(v)
	if err != nil {
		return nil, err
	}
	r.Version, r.EventSeq, r.EventsDropped = nums[0], int64(nums[1]), int64(nums[2])
	r.Idem = nil
	if len(idem) > 0 {
		r.Idem = bytes.Clone(idem)
	}
	return js, nil
}

// recordJSON returns the job's JSON of record v (aliasing v), copying nothing.
func recordJSON(v []byte) ([]byte, error) {
	_, _, js, err := splitRecord(v)
	return js, err
}

// splitRecord reads record v: its header numbers (version, event sequence, events dropped,
// idempotency key length), its idempotency key and its job's JSON, both aliasing v.
func splitRecord(v []byte) (nums [4]uint64, idem, js []byte, err error) {
	if len(v) == 0 || v[0] != recordFormat {
		return nums, nil, nil, errors.New("unknown record format")
	}
	rest := v[1:]
	for i := range nums {
		n, w := binary.Uvarint(rest)
		if w <= 0 {
			return nums, nil, nil, errors.New("truncated record header")
		}
		nums[i], rest = n, rest[w:]
	}
	if uint64(len(rest)) < nums[3] {
		return nums, nil, nil, errors.New("truncated record header")
	}
	return nums, rest[:nums[3]], rest[nums[3]:], nil
}

func decodeRecord(k, v []byte) (*record, error) {
	r := &record{}
	js, err := decodeHeader(v, r)
	if err == nil {
		err = json.Unmarshal(js, &r.Job)
	}
	if err != nil {
		return nil, fmt.Errorf("decode job %s: %w", ulid.ULID(k), err)
	}
	return r, nil
}

// getter is what the read helpers need of a bucket: a *bolt.Bucket in a read transaction,
// a *wbucket in a write.
type getter interface{ Get(k []byte) []byte }

// getRecord reads job k from the jobs bucket.
func getRecord(jobs getter, k []byte) (*record, error) {
	v := jobs.Get(k)
	if v == nil {
		return nil, ErrNotFound
	}
	return decodeRecord(k, v)
}

// write is one job's change, encoded ahead so the writer only copies bytes in.
type jobWrite struct {
	k        []byte
	expect   uint64 // the version the change was computed from; ignored when create
	create   bool   // the job must not exist yet
	value    []byte
	events   []kv
	idxDel   []kv // bucket, key
	idxPut   []kv
	delivery [][]byte // outbox entries; their seqs are taken when applied
}

type kv struct{ k, v []byte }

// MaxEventsPerJob bounds a job's history: past it, progress samples, warnings and log lines
// are dropped (one warning says so); state changes are always kept.
const MaxEventsPerJob = 10_000

// prepare encodes r (changed from old; nil for a new job) with events evs appended. It
// advances r's version and event counters.
func prepare(k []byte, r *record, old *api.Job, evs []api.Event) (*jobWrite, error) {
	w := &jobWrite{k: k, expect: r.Version, create: old == nil}
	r.Version++
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
			return nil, fmt.Errorf("encode event: %w", err)
		}
		w.events = append(w.events, kv{eventKey(k, e.Seq), v})
		d, err := delivery(r, e)
		if err != nil {
			return nil, err
		}
		if d != nil {
			w.delivery = append(w.delivery, d)
		}
	}
	j := &r.Job
	for _, ix := range []struct {
		bucket   []byte
		old, new string
	}{
		{bByStatus, oldField(old, func(j *api.Job) string { return string(j.Status) }), string(j.Status)},
		{bByQueue, oldField(old, func(j *api.Job) string { return j.Queue }), j.Queue},
		{bByNode, oldField(old, func(j *api.Job) string { return j.Node }), j.Node},
		{bByTenant, oldField(old, TenantOf), TenantOf(j)},
	} {
		if ix.old == ix.new && old != nil {
			continue
		}
		if ix.old != "" {
			w.idxDel = append(w.idxDel, kv{ix.bucket, idxKey(ix.old, k)})
		}
		if ix.new != "" {
			w.idxPut = append(w.idxPut, kv{ix.bucket, idxKey(ix.new, k)})
		}
	}
	var err error
	w.value, err = r.encode()
	return w, err
}

func oldField(j *api.Job, f func(*api.Job) string) string {
	if j == nil {
		return ""
	}
	return f(j)
}

// apply writes w in tx, or returns errConflict when the job is not at the version w was
// computed from (or exists already, for a new job).
func (w *jobWrite) apply(tx *wtx) error {
	jobs := tx.Bucket(bJobs)
	cur := jobs.Get(w.k)
	switch {
	case w.create && cur != nil:
		return errConflict
	case !w.create && cur == nil:
		return ErrNotFound
	case !w.create:
		var r record
		if _, err := decodeHeader(cur, &r); err != nil {
			return fmt.Errorf("job %s: %w", ulid.ULID(w.k), err)
		}
		if r.Version != w.expect {
			return errConflict
		}
	}
	if err := jobs.Put(w.k, w.value); err != nil {
		return err
	}
	evb := tx.Bucket(bEvents)
	for _, e := range w.events {
		if err := evb.Put(e.k, e.v); err != nil {
			return err
		}
	}
	for _, d := range w.idxDel {
		if err := tx.Bucket(d.k).Delete(d.v); err != nil {
			return err
		}
	}
	for _, p := range w.idxPut {
		if err := tx.Bucket(p.k).Put(p.v, nil); err != nil {
			return err
		}
	}
	ob := tx.Bucket(bOutbox)
	for _, d := range w.delivery {
		seq, err := ob.NextSequence()
		if err != nil {
			return err
		}
		if err := ob.Put(seqKey(seq), d); err != nil {
			return err
		}
	}
	return nil
}
