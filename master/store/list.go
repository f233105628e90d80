package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
)

// Filter selects jobs for ListJobs. Zero fields match everything.
type Filter struct {
	Statuses []api.Status
	Queue    string
	Node     string
	// Tenant keeps one tenant's jobs (jobs stored without a tenant are api.DefaultTenant's).
	Tenant        string
	CreatedAfter  time.Time // inclusive
	CreatedBefore time.Time // exclusive
	// Text keeps the jobs with it in their ID, input, outputs, preset, scenario, node, error
	// or labels (searchFields), ignoring case, as the API shows them (secrets redacted). A
	// whole job ID finds that job alone. At most MaxTextLen bytes.
	Text string
	// Cursor continues a previous page: only jobs older than this ID.
	Cursor string
	Limit  int
}

// MaxScan bounds the index entries one page may examine when filters match sparsely; the page
// then ends early with a cursor to go on from.
const MaxScan = 100_000

// ListJobs returns up to f.Limit jobs, newest first, and the cursor for the next page ("" at
// the end). It walks the most selective index (node, status, queue, or the jobs themselves)
// backwards from the cursor and checks the other filters against their indexes (tenant
// included).
func (s *Store) ListJobs(ctx context.Context, f Filter) ([]api.Job, string, error) {
	var jobs []api.Job
	next, err := s.walk(f, func(k, v []byte) error {
		r, err := decodeRecord(k, v)
		if err != nil {
			return err
		}
		jobs = append(jobs, r.Job)
		return nil
	})
	return jobs, next, err
}

// RawJob is a stored job's API JSON, as ListJobsRaw copies it out.
type RawJob struct {
	ID   string
	JSON []byte
}

// ListJobsRaw is ListJobs without decoding: each job's JSON is copied out as stored (it is
// the API's view), so a page costs a copy per job.
func (s *Store) ListJobsRaw(ctx context.Context, f Filter) ([]RawJob, string, error) {
	var jobs []RawJob
	next, err := s.walk(f, func(k, v []byte) error {
		js, err := recordJSON(v)
		if err != nil {
			return fmt.Errorf("job %s: %w", ulid.ULID(k), err)
		}
		jobs = append(jobs, RawJob{ID: ulid.ULID(k).String(), JSON: bytes.Clone(js)})
		return nil
	})
	return jobs, next, err
}

// walk finds the page of jobs f selects and calls collect for each, newest first.
func (s *Store) walk(f Filter, collect func(k, v []byte) error) (string, error) {
	w, err := newListWalk(f)
	if err != nil {
		return "", err
	}
	next := ""
	err = s.view(func(tx *bolt.Tx) error {
		var one [1]*revIter // most walks follow one index: no allocation for the list
		iters, pre := w.chooseIndex(tx, one[:0])
		var err error
		next, err = w.page(tx.Bucket(bJobs), iters, &pre, collect)
		return err
	})
	return next, err
}

// listWalk is what one page's walk goes by: the filter, and the ID bounds its cursor and
// times set.
type listWalk struct {
	f     Filter
	upper []byte   // exclusive upper bound on id16; nil: from the newest
	lower []byte   // inclusive lower bound; nil: to the oldest
	edges [][]byte // milliseconds (6-byte ULID times) whose jobs are decoded to compare times
	text  *textMatcher
}

// newListWalk sets the walk's bounds from f's cursor and times (ErrNotFound for a cursor that
// is no job ID).
func newListWalk(f Filter) (listWalk, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	w := listWalk{f: f}
	if f.Cursor != "" {
		k, ok := key(f.Cursor)
		if !ok {
			return listWalk{}, ErrNotFound
		}
		w.upper = k
	}
	// IDs carry milliseconds: the bounds below take in the whole millisecond of each end, and
	// jobs created in those two milliseconds are decoded to compare their times exactly.
	if !f.CreatedBefore.IsZero() {
		b := timeBound(f.CreatedBefore.Add(time.Millisecond - time.Nanosecond))
		if w.upper == nil || bytes.Compare(b, w.upper) < 0 {
			w.upper = b
		}
		w.edges = append(w.edges, timeBound(f.CreatedBefore)[:6])
	}
	if !f.CreatedAfter.IsZero() {
		w.lower = timeBound(f.CreatedAfter)
		w.edges = append(w.edges, w.lower[:6])
	}
	if f.Text != "" {
		w.text = newTextMatcher(f.Text)
		if k, ok := key(f.Text); ok {
			// A job ID: the walk looks at that job alone.
			if after := idSuccessor(k); after != nil && (w.upper == nil || bytes.Compare(after, w.upper) < 0) {
				w.upper = after
			}
			if w.lower == nil || bytes.Compare(k, w.lower) > 0 {
				w.lower = k
			}
		}
	}
	return w, nil
}

// chooseIndex positions the walk at its upper bound in the most selective index f allows
// (node, status, tenant, queue, or the jobs themselves), appending its iterators to iters,
// and returns the checks of the other filters.
func (w *listWalk) chooseIndex(tx *bolt.Tx, iters []*revIter) ([]*revIter, indexCheck) {
	f := &w.f
	// The filters the walk does not follow are checked against their indexes: a seek
	// costs a fraction of decoding a job, and then no job needs decoding to be matched.
	var pre indexCheck
	switch {
	case f.Node != "":
		iters = append(iters, newRevIter(tx.Bucket(bByNode), idxKey(f.Node, nil), w.upper))
		pre.add(tx, bByStatus, statusNames(f.Statuses)...)
		pre.add(tx, bByQueue, f.Queue)
		pre.add(tx, bByTenant, f.Tenant)
	case len(f.Statuses) > 0:
		for _, st := range f.Statuses {
			iters = append(iters, newRevIter(tx.Bucket(bByStatus), idxKey(string(st), nil), w.upper))
		}
		pre.add(tx, bByQueue, f.Queue)
		pre.add(tx, bByTenant, f.Tenant)
	case f.Tenant != "":
		iters = append(iters, newRevIter(tx.Bucket(bByTenant), idxKey(f.Tenant, nil), w.upper))
		pre.add(tx, bByQueue, f.Queue)
	case f.Queue != "":
		iters = append(iters, newRevIter(tx.Bucket(bByQueue), idxKey(f.Queue, nil), w.upper))
	default:
		iters = append(iters, newRevIter(tx.Bucket(bJobs), nil, w.upper))
	}
	return iters, pre
}

// page follows iters and collects up to f.Limit jobs of bucket jobs that pass pre and the
// times, newest first, and returns the cursor of the next page ("" at the end).
func (w *listWalk) page(jobs *bolt.Bucket, iters []*revIter, pre *indexCheck, collect func(k, v []byte) error) (string, error) {
	scanned, found := 0, 0
	var prev, last []byte
	for {
		k, v := nextNewest(iters)
		if k == nil || (w.lower != nil && bytes.Compare(k, w.lower) < 0) {
			return "", nil
		}
		if scanned++; scanned > MaxScan {
			// Continue after the last job examined: k itself was not, and the cursor
			// is exclusive.
			return ulid.ULID(prev).String(), nil
		}
		prev = k
		if !pre.match(k) {
			continue
		}
		if len(v) == 0 { // walking an index: read the job
			if v = jobs.Get(k); v == nil {
				return "", fmt.Errorf("index names job %s, which is missing", ulid.ULID(k))
			}
		}
		ok, err := w.inTime(k, v)
		if err != nil {
			return "", err
		}
		if !ok {
			continue
		}
		if w.text != nil {
			js, err := recordJSON(v)
			if err != nil {
				return "", fmt.Errorf("job %s: %w", ulid.ULID(k), err)
			}
			if !w.text.match(js) {
				continue
			}
		}
		if found == w.f.Limit {
			return ulid.ULID(last).String(), nil
		}
		if err := collect(k, v); err != nil {
			return "", err
		}
		found++
		last = k
	}
}

// inTime reports whether job k (stored as v) was created within the filter's times: only a
// job created in an edge millisecond is decoded to tell.
func (w *listWalk) inTime(k, v []byte) (bool, error) {
	if !onEdge(k, w.edges) {
		return true, nil
	}
	r, err := decodeRecord(k, v)
	if err != nil {
		return false, err
	}
	return w.f.match(&r.Job), nil
}

// onEdge reports whether id16 k was created in one of the milliseconds edges (6-byte ULID
// times).
func onEdge(k []byte, edges [][]byte) bool {
	for _, e := range edges {
		if bytes.Equal(k[:6], e) {
			return true
		}
	}
	return false
}

func (f Filter) match(j *api.Job) bool {
	if f.Node != "" && j.Node != f.Node {
		return false
	}
	if f.Queue != "" && j.Queue != f.Queue {
		return false
	}
	if f.Tenant != "" && TenantOf(j) != f.Tenant {
		return false
	}
	if !f.CreatedAfter.IsZero() && j.CreatedAt.Before(f.CreatedAfter) {
		return false
	}
	if !f.CreatedBefore.IsZero() && !j.CreatedAt.Before(f.CreatedBefore) {
		return false
	}
	if len(f.Statuses) > 0 {
		ok := false
		for _, st := range f.Statuses {
			ok = ok || j.Status == st
		}
		if !ok {
			return false
		}
	}
	return true
}

func statusNames(sts []api.Status) []string {
	out := make([]string, 0, len(sts))
	for _, st := range sts {
		out = append(out, string(st))
	}
	return out
}

// indexCheck tells from index buckets, without decoding a job, whether it can match: for
// each index added, the job must be filed under one of the values given.
type indexCheck struct {
	probes []indexProbe
	key    []byte
}

type indexProbe struct {
	c        *bolt.Cursor
	prefixes [][]byte // value \0
}

// add requires the job under one of values in bucket (no values, or only "": no check).
func (ic *indexCheck) add(tx *bolt.Tx, bucket []byte, values ...string) {
	p := indexProbe{c: tx.Bucket(bucket).Cursor()}
	for _, v := range values {
		if v != "" {
			p.prefixes = append(p.prefixes, idxKey(v, nil))
		}
	}
	if len(p.prefixes) > 0 {
		ic.probes = append(ic.probes, p)
	}
}

// match reports whether job id16 k is in every index added. A seek compares whole keys
// (Get would not tell an empty value from a missing key in a write transaction).
func (ic *indexCheck) match(k []byte) bool {
	for _, p := range ic.probes {
		found := false
		for _, pfx := range p.prefixes {
			ic.key = append(append(ic.key[:0], pfx...), k...)
			if got, _ := p.c.Seek(ic.key); bytes.Equal(got, ic.key) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// timeBound is the smallest id16 created at t (ms precision).
func timeBound(t time.Time) []byte {
	var u ulid.ULID
	_ = u.SetTime(ulid.Timestamp(t))
	return u[:]
}

// revIter walks the keys under prefix from just below upper towards the oldest, yielding the
// id16 suffix.
type revIter struct {
	c      *bolt.Cursor
	prefix []byte
	cur    []byte
	val    []byte // cur's value: for the jobs bucket itself, the job's record
}

func newRevIter(b *bolt.Bucket, prefix, upper []byte) *revIter {
	it := &revIter{c: b.Cursor(), prefix: prefix}
	seek := append(append([]byte(nil), prefix...), upper...)
	if upper == nil {
		seek = append(seek, bytes.Repeat([]byte{0xff}, 17)...)
	}
	k, _ := it.c.Seek(seek)
	var v []byte
	if k == nil {
		k, v = it.c.Last()
	} else {
		k, v = it.c.Prev()
	}
	it.set(k, v)
	return it
}

func (it *revIter) set(k, v []byte) {
	if k == nil || !bytes.HasPrefix(k, it.prefix) || len(k) != len(it.prefix)+16 {
		it.cur, it.val = nil, nil
		return
	}
	it.cur, it.val = k[len(it.prefix):], v
}

func (it *revIter) advance() {
	it.set(it.c.Prev())
}

// nextNewest pops the largest current key among iters, with its value in the iterator's
// bucket (a job's record when that is the jobs bucket; an index's is empty).
func nextNewest(iters []*revIter) (k, v []byte) {
	var best *revIter
	for _, it := range iters {
		if it.cur != nil && (best == nil || bytes.Compare(it.cur, best.cur) > 0) {
			best = it
		}
	}
	if best == nil {
		return nil, nil
	}
	k, v = append([]byte(nil), best.cur...), best.val
	best.advance()
	return k, v
}
