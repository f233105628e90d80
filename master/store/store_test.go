package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// openStore opens a store in a fresh temp dir and closes it when the test ends.
func openStore(t *testing.T, opts store.Options) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.db")
	s, err := store.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// testJob is a job as the farm would store it, created at created.
func testJob(created time.Time, status api.Status, queue, node string) api.Job {
	j := api.Job{ID: store.NewID(created), Status: status, Queue: queue, Node: node, Scenario: "720p30-h264",
		MaxRetries: 3, CreatedAt: created, UpdatedAt: created}
	if status.Terminal() {
		f := created.Add(time.Second)
		j.FinishedAt = &f
	}
	return j
}

func stateEvent(at time.Time, from, to api.Status) api.Event {
	return api.Event{Time: at, Type: api.EventState, From: from, To: to}
}

func mustCreate(t *testing.T, s *store.Store, j api.Job, idem *store.Idempotency) api.Job {
	t.Helper()
	out, replay, err := s.CreateJob(context.Background(), j, stateEvent(j.CreatedAt, "", j.Status), idem)
	if err != nil {
		t.Fatalf("CreateJob %s: %v", j.ID, err)
	}
	if replay {
		t.Fatalf("CreateJob %s: unexpected replay", j.ID)
	}
	return out
}

// listAll pages through ListJobs with f and fails on a page that breaks the paging contract.
func listAll(t *testing.T, s *store.Store, f store.Filter) []api.Job {
	t.Helper()
	var out []api.Job
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("ListJobs never ended")
		}
		jobs, next, err := s.ListJobs(context.Background(), f)
		if err != nil {
			t.Fatalf("ListJobs(%+v): %v", f, err)
		}
		if len(jobs) > f.Limit {
			t.Fatalf("page of %d jobs with limit %d", len(jobs), f.Limit)
		}
		if next != "" && len(jobs) == 0 {
			t.Fatalf("an empty page with a cursor (%+v)", f)
		}
		out = append(out, jobs...)
		if next == "" {
			return out
		}
		if len(jobs) > 0 && next != jobs[len(jobs)-1].ID {
			t.Fatalf("cursor %s is not the page's last job %s", next, jobs[len(jobs)-1].ID)
		}
		f.Cursor = next
	}
}

// diff describes how two ID lists differ, for failure messages.
func diff(got, want []string, all map[string]api.Job) string {
	show := func(id string) string {
		j := all[id]
		return fmt.Sprintf("%s(%s %s %s %s)", id, j.Status, j.Queue, j.Node, j.CreatedAt.Format(time.RFC3339Nano))
	}
	var extra, missing []string
	for _, id := range got {
		if !slices.Contains(want, id) {
			extra = append(extra, show(id))
		}
	}
	for _, id := range want {
		if !slices.Contains(got, id) {
			missing = append(missing, show(id))
		}
	}
	if len(extra) == 0 && len(missing) == 0 {
		return "same jobs in another order"
	}
	return fmt.Sprintf("extra %v, missing %v", extra, missing)
}

func ids(jobs []api.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

// bruteForce filters all jobs with f by reading every field, newest (largest ID) first.
func bruteForce(all map[string]api.Job, f store.Filter) []string {
	var out []string
	for id, j := range all {
		switch {
		case f.Node != "" && j.Node != f.Node,
			f.Queue != "" && j.Queue != f.Queue,
			f.Tenant != "" && store.TenantOf(&j) != f.Tenant,
			len(f.Statuses) > 0 && !slices.Contains(f.Statuses, j.Status),
			!f.CreatedAfter.IsZero() && j.CreatedAt.Before(f.CreatedAfter),
			!f.CreatedBefore.IsZero() && !j.CreatedAt.Before(f.CreatedBefore):
			continue
		}
		out = append(out, id)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

// TestListJobsMatchesBruteForce checks every index the listing may walk (node, one or several
// statuses, queue, the jobs themselves), with created ranges and cursor paging, against a
// plain filter of all jobs, before and after the jobs change status, node and queue.
func TestListJobsMatchesBruteForce(t *testing.T) {
	s, _ := openStore(t, store.Options{NoSync: true})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	nodes := []string{"", "n1", "n2", "n3", "n4"}
	// "" is a job stored before tenants: it lists as the default tenant's.
	tenants := []string{"", api.DefaultTenant, "team-a", "team-b"}
	base := time.Now().UTC().Add(-time.Hour)
	// 500 jobs in 400 ms: several share a millisecond, which the created range must still
	// tell apart.
	span := 400 * time.Millisecond
	all := map[string]api.Job{}
	for range 500 {
		created := base.Add(time.Duration(rng.Int64N(int64(span))))
		j := testJob(created, api.Statuses[rng.IntN(len(api.Statuses))], api.Queues[rng.IntN(len(api.Queues))], nodes[rng.IntN(len(nodes))])
		j.Tenant = tenants[rng.IntN(len(tenants))]
		all[j.ID] = mustCreate(t, s, j, nil)
	}
	byAge := make([]api.Job, 0, len(all))
	for _, j := range all {
		byAge = append(byAge, j)
	}

	randomFilter := func() store.Filter {
		f := store.Filter{Limit: 1 + rng.IntN(40)}
		if rng.IntN(3) == 0 {
			f.Node = nodes[1+rng.IntN(len(nodes)-1)]
		}
		if rng.IntN(2) == 0 {
			for _, i := range rng.Perm(len(api.Statuses))[:1+rng.IntN(3)] {
				f.Statuses = append(f.Statuses, api.Statuses[i])
			}
		}
		if rng.IntN(3) == 0 {
			f.Queue = api.Queues[rng.IntN(len(api.Queues))]
		}
		if rng.IntN(2) == 0 {
			f.Tenant = tenants[1+rng.IntN(len(tenants)-1)]
		}
		// A bound is a random instant, or exactly a job's creation time, or 1 ns after it.
		bound := func() time.Time {
			switch rng.IntN(3) {
			case 0:
				return base.Add(time.Duration(rng.Int64N(int64(span))))
			case 1:
				return byAge[rng.IntN(len(byAge))].CreatedAt
			default:
				return byAge[rng.IntN(len(byAge))].CreatedAt.Add(time.Nanosecond)
			}
		}
		if rng.IntN(3) == 0 {
			f.CreatedAfter = bound()
		}
		if rng.IntN(3) == 0 {
			f.CreatedBefore = bound()
		}
		return f
	}
	check := func(round string) {
		t.Helper()
		fixed := []store.Filter{
			{Limit: 1000},
			{Limit: 7},
			{Limit: 3, Statuses: []api.Status{api.StatusCompleted, api.StatusFailed, api.StatusCanceled}},
			{Limit: 10, Node: "n2", Statuses: []api.Status{api.StatusRunning}},
			{Limit: 10, Queue: api.QueueLive, CreatedAfter: base.Add(span / 4), CreatedBefore: base.Add(span / 2)},
			{Limit: 5, CreatedBefore: base}, // nothing
			{Limit: 1000, Tenant: "team-a"},
			{Limit: 9, Tenant: api.DefaultTenant, Queue: api.QueueHigh},
			{Limit: 4, Tenant: "team-b", Statuses: []api.Status{api.StatusQueued, api.StatusRunning}},
			{Limit: 4, Tenant: "nobody"},
		}
		for i := range 300 {
			f := randomFilter()
			if i < len(fixed) {
				f = fixed[i]
			}
			want := bruteForce(all, f)
			got := ids(listAll(t, s, f))
			if !slices.Equal(got, want) {
				t.Fatalf("%s: filter %+v: got %d jobs, want %d; %s", round, f, len(got), len(want), diff(got, want, all))
			}
		}
	}
	check("as created")

	// Move a third of the jobs: their index entries must follow.
	for _, j := range byAge[:len(byAge)/3] {
		st := api.Statuses[rng.IntN(len(api.Statuses))]
		node, queue := nodes[rng.IntN(len(nodes))], api.Queues[rng.IntN(len(api.Queues))]
		_, after, err := s.UpdateJob(ctx, j.ID, func(j *api.Job) store.Change {
			ev := stateEvent(time.Now(), j.Status, st)
			j.Status, j.Node, j.Queue = st, node, queue
			return store.Change{Events: []api.Event{ev}}
		})
		if err != nil {
			t.Fatal(err)
		}
		all[j.ID] = after
	}
	check("after updates")

	counts, err := s.CountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[api.Status]int{}
	for _, j := range all {
		want[j.Status]++
	}
	for _, st := range api.Statuses {
		if counts[st] != want[st] {
			t.Errorf("CountByStatus[%s] = %d, want %d", st, counts[st], want[st])
		}
	}
	byTenant, err := s.CountByTenant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantByTenant := map[store.TenantStatus]int{}
	for _, j := range all {
		wantByTenant[store.TenantStatus{Tenant: store.TenantOf(&j), Status: j.Status}]++
	}
	if !maps.Equal(byTenant, wantByTenant) {
		t.Errorf("CountByTenant = %v, want %v", byTenant, wantByTenant)
	}

	if _, _, err := s.ListJobs(ctx, store.Filter{Limit: 5, Cursor: "not-an-id"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a bad cursor: err %v, want ErrNotFound", err)
	}
}

func TestEventsPaging(t *testing.T) {
	s, _ := openStore(t, store.Options{NoSync: true})
	ctx := context.Background()
	now := time.Now().UTC()
	a := mustCreate(t, s, testJob(now, api.StatusQueued, api.QueueMedium, ""), nil)
	b := mustCreate(t, s, testJob(now, api.StatusQueued, api.QueueMedium, ""), nil) // its events sit right after a's
	for i := range 19 {                                                             // 1 + 19 = 20 events on a
		_, _, err := s.UpdateJob(ctx, a.ID, func(j *api.Job) store.Change {
			return store.Change{Events: []api.Event{{Time: now, Type: api.EventLog, Message: fmt.Sprint("line ", i)}}}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var seqs []int64
	after := int64(0)
	for page := 0; ; page++ {
		evs, next, err := s.Events(ctx, a.ID, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > 10 {
			t.Fatalf("page of %d events with limit 10", len(evs))
		}
		for _, e := range evs {
			seqs = append(seqs, e.Seq)
		}
		if next == 0 {
			if page != 1 {
				t.Fatalf("20 events in pages of 10 ended after page %d; want 2 pages, the last with next 0", page+1)
			}
			break
		}
		if next != evs[len(evs)-1].Seq {
			t.Fatalf("next %d is not the page's last seq %d", next, evs[len(evs)-1].Seq)
		}
		after = next
	}
	for i, sq := range seqs {
		if sq != int64(i+1) {
			t.Fatalf("seqs %v: want 1..20 in order", seqs)
		}
	}
	if len(seqs) != 20 {
		t.Fatalf("%d events, want 20", len(seqs))
	}
	evs, next, err := s.Events(ctx, a.ID, 15, 100)
	if err != nil || len(evs) != 5 || evs[0].Seq != 16 || next != 0 {
		t.Fatalf("Events(after 15) = %d events from %v, next %d, err %v; want 16..20", len(evs), evs, next, err)
	}
	evs, _, err = s.Events(ctx, b.ID, 0, 100)
	if err != nil || len(evs) != 1 || evs[0].To != api.StatusQueued {
		t.Fatalf("the neighbour's events: %v, %v; want its one state event", evs, err)
	}
	if _, _, err := s.Events(ctx, store.NewID(now), 0, 10); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Events of an unknown job: %v, want ErrNotFound", err)
	}
}

func TestPurge(t *testing.T) {
	s, _ := openStore(t, store.Options{NoSync: true})
	ctx := context.Background()
	now := time.Now().UTC()
	cutoff := now.Add(-time.Hour)
	old := now.Add(-2 * time.Hour)
	idem := &store.Idempotency{Key: []byte("caller\x00key-1"), BodyHash: []byte("hash-1")}

	var gone, kept []api.Job
	for i, st := range []api.Status{api.StatusCompleted, api.StatusFailed, api.StatusCanceled} {
		var key *store.Idempotency
		if i == 0 {
			key = idem
		}
		j := mustCreate(t, s, testJob(old.Add(time.Duration(i)*time.Millisecond), st, api.QueueBatch, "n1"), key)
		_, _, err := s.UpdateJob(ctx, j.ID, func(j *api.Job) store.Change {
			return store.Change{Events: []api.Event{{Time: old, Type: api.EventLog, Message: "x"}}}
		})
		if err != nil {
			t.Fatal(err)
		}
		gone = append(gone, j)
	}
	// Old but not finished; old and finished after the cutoff; recent.
	for _, st := range []api.Status{api.StatusQueued, api.StatusRunning, api.StatusRetrying, api.StatusAssigned} {
		kept = append(kept, mustCreate(t, s, testJob(old.Add(10*time.Millisecond), st, api.QueueBatch, "n1"), nil))
	}
	late := testJob(old.Add(20*time.Millisecond), api.StatusCompleted, api.QueueBatch, "n1")
	lateFinish := now.Add(-30 * time.Minute)
	late.FinishedAt = &lateFinish
	kept = append(kept, mustCreate(t, s, late, nil))
	kept = append(kept, mustCreate(t, s, testJob(now.Add(-time.Minute), api.StatusFailed, api.QueueBatch, "n1"), nil))

	n, err := s.Purge(ctx, cutoff, 2)
	if err != nil || n != 2 {
		t.Fatalf("Purge(limit 2) = %d, %v; want 2", n, err)
	}
	n, err = s.Purge(ctx, cutoff, 1000)
	if err != nil || n != 1 {
		t.Fatalf("second Purge = %d, %v; want 1", n, err)
	}
	if n, _ := s.Purge(ctx, cutoff, 1000); n != 0 {
		t.Fatalf("third Purge = %d, want 0", n)
	}

	for _, j := range gone {
		if _, err := s.GetJob(ctx, j.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("purged job %s: GetJob err %v", j.ID, err)
		}
		if _, _, err := s.Events(ctx, j.ID, 0, 10); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("purged job %s: Events err %v", j.ID, err)
		}
	}
	for _, j := range kept {
		if _, err := s.GetJob(ctx, j.ID); err != nil {
			t.Errorf("kept job %s (%s): %v", j.ID, j.Status, err)
		}
		if evs, _, err := s.Events(ctx, j.ID, 0, 10); err != nil || len(evs) != 1 {
			t.Errorf("kept job %s: events %v, %v", j.ID, evs, err)
		}
	}
	// Index entries went with the jobs: every index still lists exactly the kept jobs (a
	// dangling entry would make the listing fail or show a purged job).
	wantIDs := ids(kept)
	sort.Sort(sort.Reverse(sort.StringSlice(wantIDs)))
	for _, f := range []store.Filter{
		{Limit: 100},
		{Limit: 100, Node: "n1"},
		{Limit: 100, Queue: api.QueueBatch},
		{Limit: 100, Statuses: api.Statuses},
	} {
		if got := ids(listAll(t, s, f)); !slices.Equal(got, wantIDs) {
			t.Errorf("after purge %+v lists %v, want %v", f, got, wantIDs)
		}
	}
	counts, _ := s.CountByStatus(ctx)
	if counts[api.StatusCompleted] != 1 || counts[api.StatusFailed] != 1 || counts[api.StatusCanceled] != 0 {
		t.Errorf("counts after purge: %v", counts)
	}

	// The idempotency key went too: the same key creates a new job.
	fresh := testJob(now, api.StatusQueued, api.QueueBatch, "")
	got, replay, err := s.CreateJob(ctx, fresh, stateEvent(now, "", api.StatusQueued), idem)
	if err != nil || replay || got.ID != fresh.ID {
		t.Fatalf("reusing a purged job's key: %s replay=%v err=%v; want a new job %s", got.ID, replay, err, fresh.ID)
	}
}

func TestCreateJobIdempotency(t *testing.T) {
	s, _ := openStore(t, store.Options{NoSync: true})
	ctx := context.Background()
	now := time.Now().UTC()
	key := &store.Idempotency{Key: []byte("alice\x00k1"), BodyHash: []byte("body-a")}
	first := mustCreate(t, s, testJob(now, api.StatusQueued, api.QueueLow, ""), key)

	again := testJob(now, api.StatusQueued, api.QueueLow, "")
	got, replay, err := s.CreateJob(ctx, again, stateEvent(now, "", api.StatusQueued), key)
	if err != nil || !replay || got.ID != first.ID {
		t.Fatalf("replay: %s replay=%v err=%v; want %s", got.ID, replay, err, first.ID)
	}
	if _, err := s.GetJob(ctx, again.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a replay stored a second job: %v", err)
	}

	other := &store.Idempotency{Key: key.Key, BodyHash: []byte("body-b")}
	if _, _, err := s.CreateJob(ctx, testJob(now, api.StatusQueued, api.QueueLow, ""), stateEvent(now, "", api.StatusQueued), other); !errors.Is(err, store.ErrIdempotencyReused) {
		t.Fatalf("same key, other body: %v, want ErrIdempotencyReused", err)
	}

	// Keys are scoped by the bytes the caller passes: another caller's key is another job.
	bob := &store.Idempotency{Key: []byte("bob\x00k1"), BodyHash: []byte("body-a")}
	second := mustCreate(t, s, testJob(now, api.StatusQueued, api.QueueLow, ""), bob)
	if second.ID == first.ID {
		t.Fatal("another key replayed the first job")
	}
	jobs := listAll(t, s, store.Filter{Limit: 100})
	if len(jobs) != 2 {
		t.Fatalf("%d jobs stored, want 2", len(jobs))
	}
}

// TestGroupCommit sends many writes at once while the committer is held, so they fold into
// shared transactions, some of them failing or refused, and checks every one got its own
// answer and only the good ones landed.
func TestGroupCommit(t *testing.T) {
	var mu sync.Mutex
	var batches []int
	s, path := openStore(t, store.Options{OnCommit: func(_ time.Duration, n int) {
		mu.Lock()
		batches = append(batches, n)
		mu.Unlock()
	}})
	ctx := context.Background()
	now := time.Now().UTC()
	blocker := mustCreate(t, s, testJob(now, api.StatusQueued, api.QueueLow, ""), nil)
	victim := mustCreate(t, s, testJob(now, api.StatusQueued, api.QueueLow, ""), nil)
	movers := make([]api.Job, 20)
	for i := range movers {
		movers[i] = mustCreate(t, s, testJob(now, api.StatusQueued, api.QueueLow, ""), nil)
	}
	key := &store.Idempotency{Key: []byte("k"), BodyHash: []byte("h1")}
	keyed := mustCreate(t, s, testJob(now, api.StatusQueued, api.QueueLow, ""), key)

	// Hold the committer inside a transaction until every write below is queued.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	blockDone := make(chan error, 1)
	go func() {
		_, _, err := s.UpdateJob(ctx, blocker.ID, func(j *api.Job) store.Change {
			once.Do(func() { close(entered) })
			<-release
			return store.Change{NoWrite: true}
		})
		blockDone <- err
	}()
	<-entered
	mu.Lock()
	batches = nil
	mu.Unlock()

	const creates = 100
	var ready, done sync.WaitGroup
	created := make([]api.Job, creates)
	createErr := make([]error, creates)
	refuseErr := make([]error, 10)
	moveErr := make([]error, len(movers))
	missingErr := make([]error, 5)
	reuseErr := make([]error, 5)
	replayed := make([]api.Job, 5)
	replayErr := make([]error, 5)
	spawn := func(fn func()) {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			fn()
		}()
	}
	for i := range creates {
		spawn(func() {
			j := testJob(time.Now().UTC(), api.StatusQueued, api.QueueHigh, "")
			created[i], _, createErr[i] = s.CreateJob(ctx, j, stateEvent(j.CreatedAt, "", api.StatusQueued), nil)
		})
	}
	for i := range refuseErr {
		spawn(func() {
			_, _, refuseErr[i] = s.UpdateJob(ctx, victim.ID, func(j *api.Job) store.Change {
				j.Status = api.StatusCanceled // must not stick
				return store.Change{Refuse: fmt.Errorf("refused %d", i)}
			})
		})
	}
	for i, m := range movers {
		spawn(func() {
			_, _, moveErr[i] = s.UpdateJob(ctx, m.ID, func(j *api.Job) store.Change {
				ev := stateEvent(time.Now(), j.Status, api.StatusAssigned)
				j.Status, j.Node = api.StatusAssigned, "n1"
				return store.Change{Events: []api.Event{ev}}
			})
		})
	}
	for i := range missingErr {
		spawn(func() {
			_, _, missingErr[i] = s.UpdateJob(ctx, store.NewID(now), func(j *api.Job) store.Change {
				return store.Change{Events: []api.Event{{Type: api.EventLog}}}
			})
		})
	}
	for i := range reuseErr {
		spawn(func() {
			j := testJob(now, api.StatusQueued, api.QueueLow, "")
			_, _, reuseErr[i] = s.CreateJob(ctx, j, stateEvent(now, "", api.StatusQueued), &store.Idempotency{Key: key.Key, BodyHash: []byte("h2")})
		})
	}
	for i := range replayErr {
		spawn(func() {
			j := testJob(now, api.StatusQueued, api.QueueLow, "")
			replayed[i], _, replayErr[i] = s.CreateJob(ctx, j, stateEvent(now, "", api.StatusQueued), key)
		})
	}
	ready.Wait()
	time.Sleep(100 * time.Millisecond) // let the goroutines reach the write queue
	close(release)
	done.Wait()
	if err := <-blockDone; err != nil {
		t.Fatal(err)
	}

	for i, err := range createErr {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	for i, err := range refuseErr {
		if err == nil || err.Error() != fmt.Sprintf("refused %d", i) {
			t.Errorf("refused update %d answered %v", i, err)
		}
	}
	for i, err := range moveErr {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	for i, err := range missingErr {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update of a missing job %d: %v", i, err)
		}
	}
	for i, err := range reuseErr {
		if !errors.Is(err, store.ErrIdempotencyReused) {
			t.Errorf("reused key %d: %v", i, err)
		}
	}
	for i, err := range replayErr {
		if err != nil || replayed[i].ID != keyed.ID {
			t.Errorf("replay %d: %s, %v; want %s", i, replayed[i].ID, err, keyed.ID)
		}
	}
	mu.Lock()
	largest := slices.Max(append([]int{0}, batches...))
	mu.Unlock()
	if largest < 20 {
		t.Errorf("writes queued together were committed in batches of at most %d: no group commit", largest)
	}

	// What landed, and nothing else, also after reopening the file.
	s.Close()
	s2, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	counts, err := s2.CountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// blocker + victim + keyed + the creates stay queued; the movers are assigned.
	if counts[api.StatusQueued] != 3+creates || counts[api.StatusAssigned] != len(movers) || counts[api.StatusCanceled] != 0 {
		t.Fatalf("counts %v, want %d queued and %d assigned", counts, 3+creates, len(movers))
	}
	for _, j := range created {
		if got, err := s2.GetJob(ctx, j.ID); err != nil || got.Queue != api.QueueHigh {
			t.Fatalf("created job %s: %v", j.ID, err)
		}
	}
	for _, m := range movers {
		evs, _, err := s2.Events(ctx, m.ID, 0, 10)
		if err != nil || len(evs) != 2 || evs[1].To != api.StatusAssigned {
			t.Fatalf("mover %s events %v, %v", m.ID, evs, err)
		}
	}
	if v, _ := s2.GetJob(ctx, victim.ID); v.Status != api.StatusQueued {
		t.Fatalf("refused change stuck: victim is %s", v.Status)
	}
	if evs, _, _ := s2.Events(ctx, victim.ID, 0, 10); len(evs) != 1 {
		t.Fatalf("refused changes left events: %v", evs)
	}
}

func TestMaxBatch(t *testing.T) {
	var mu sync.Mutex
	var batches []int
	s, _ := openStore(t, store.Options{NoSync: true, MaxBatch: 4, OnCommit: func(_ time.Duration, n int) {
		mu.Lock()
		batches = append(batches, n)
		mu.Unlock()
	}})
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := testJob(time.Now().UTC(), api.StatusQueued, api.QueueLow, "")
			if _, _, err := s.CreateJob(context.Background(), j, stateEvent(j.CreatedAt, "", api.StatusQueued), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for _, n := range batches {
		if n > 4 {
			t.Fatalf("a batch of %d writes with MaxBatch 4", n)
		}
		total += n
	}
	if total != 40 {
		t.Fatalf("%d writes committed, want 40", total)
	}
}

// TestCloseWhileWriting closes the store while writers are busy: every call returns, and every
// write that reported success is in the file.
func TestCloseWhileWriting(t *testing.T) {
	for round := range 20 {
		path := filepath.Join(t.TempDir(), fmt.Sprint(round, ".db"))
		s, err := store.Open(path, store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			id  string
			err error
		}
		results := make(chan result, 64)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 8 {
					j := testJob(time.Now().UTC(), api.StatusQueued, api.QueueLow, "")
					_, _, err := s.CreateJob(context.Background(), j, stateEvent(j.CreatedAt, "", api.StatusQueued), nil)
					results <- result{j.ID, err}
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * 100 * time.Microsecond)
		s.Close()
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: writers still blocked 10 s after Close", round)
		}
		close(results)
		s2, err := store.Open(path, store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		for r := range results {
			_, gerr := s2.GetJob(context.Background(), r.id)
			switch {
			case r.err == nil && gerr != nil:
				t.Errorf("round %d: job %s was acknowledged but is not in the file: %v", round, r.id, gerr)
			case r.err != nil && !errors.Is(r.err, store.ErrClosed):
				t.Errorf("round %d: a write during Close failed with %v, want ErrClosed", round, r.err)
			}
		}
		s2.Close()
	}
}

func TestBackupAndReopen(t *testing.T) {
	s, path := openStore(t, store.Options{})
	ctx := context.Background()
	now := time.Now().UTC()
	var jobs []api.Job
	for i, st := range api.Statuses {
		jobs = append(jobs, mustCreate(t, s, testJob(now.Add(time.Duration(i)*time.Millisecond), st, api.Queues[i%len(api.Queues)], "n1"), nil))
	}
	if err := s.PutNode(ctx, store.NodeRecord{Node: api.Node{ID: "n1", Name: "one", Status: api.NodeOnline}, SecretHash: []byte("h"), DrainOrdered: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPreset(ctx, api.Preset{Name: "mine", Description: "d"}); err != nil {
		t.Fatal(err)
	}

	backup := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	var told int64
	n, err := s.Backup(f, func(size int64) { told = size })
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(backup); fi.Size() != n || n != told || n == 0 {
		t.Fatalf("backup wrote %d bytes, announced %d, file has %d", n, told, fi.Size())
	}
	// A job written after the backup is only in the live database.
	later := mustCreate(t, s, testJob(now.Add(time.Second), api.StatusQueued, api.QueueLow, ""), nil)

	check := func(name string, st *store.Store, want []api.Job) {
		t.Helper()
		got := listAll(t, st, store.Filter{Limit: 1000})
		if len(got) != len(want) {
			t.Fatalf("%s: %d jobs, want %d", name, len(got), len(want))
		}
		byID := map[string]api.Job{}
		for _, j := range got {
			byID[j.ID] = j
		}
		for _, w := range want {
			g, ok := byID[w.ID]
			if !ok || g.Status != w.Status || g.Queue != w.Queue || g.Node != w.Node || !g.CreatedAt.Equal(w.CreatedAt) {
				t.Fatalf("%s: job %s = %+v, want %+v", name, w.ID, g, w)
			}
			if evs, _, err := st.Events(ctx, w.ID, 0, 10); err != nil || len(evs) != 1 {
				t.Fatalf("%s: events of %s: %v, %v", name, w.ID, evs, err)
			}
		}
		nodes, err := st.Nodes(ctx)
		if err != nil || len(nodes) != 1 || nodes[0].Name != "one" || string(nodes[0].SecretHash) != "h" || !nodes[0].DrainOrdered {
			t.Fatalf("%s: nodes %v, %v", name, nodes, err)
		}
		presets, err := st.Presets(ctx)
		if err != nil || len(presets) != 1 || presets[0].Name != "mine" {
			t.Fatalf("%s: presets %v, %v", name, presets, err)
		}
	}
	b, err := store.Open(backup, store.Options{})
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	check("backup", b, jobs)
	b.Close()

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateJob(ctx, testJob(now, api.StatusQueued, api.QueueLow, ""), stateEvent(now, "", api.StatusQueued), nil); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("write after Close: %v, want ErrClosed", err)
	}
	r, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	check("reopened", r, append(jobs, later))
}

func TestSecondOpenFails(t *testing.T) {
	t.Parallel() // waits out bbolt's 5 s lock timeout
	s, path := openStore(t, store.Options{NoSync: true})
	start := time.Now()
	s2, err := store.Open(path, store.Options{NoSync: true})
	if err == nil {
		s2.Close()
		t.Fatal("a second Open of a database in use succeeded")
	}
	if !strings.Contains(err.Error(), "another process holds it") || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Open: %v; want it to name the file and say another process holds it", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("second Open took %s to give up", d)
	}
	s.Close()
	s3, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open after the holder closed: %v", err)
	}
	s3.Close()
}

func TestOutbox(t *testing.T) {
	s, _ := openStore(t, store.Options{NoSync: true})
	ctx := context.Background()
	ob := s.Outbox()
	now := time.Now().UTC()
	hooked := testJob(now, api.StatusQueued, api.QueueLow, "")
	hooked.CallbackURL = "https://hooks.example.com/secret-token/cb?sig=abc"
	hooked = mustCreate(t, s, hooked, nil)
	mustCreate(t, s, testJob(now, api.StatusQueued, api.QueueLow, ""), nil) // no callback: no deliveries

	path := []api.Status{api.StatusQueued, api.StatusAssigned, api.StatusRunning, api.StatusCompleted}
	for i := 1; i < len(path); i++ {
		at := now.Add(time.Duration(i) * time.Second)
		_, _, err := s.UpdateJob(ctx, hooked.ID, func(j *api.Job) store.Change {
			ev := stateEvent(at, j.Status, path[i])
			j.Status = path[i]
			// Progress and log events queue nothing.
			return store.Change{Events: []api.Event{ev, {Time: at, Type: api.EventProgress, Progress: &api.Progress{Percent: 50}}, {Time: at, Type: api.EventLog, Message: "l"}}}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A refused change queues nothing either.
	_, _, err := s.UpdateJob(ctx, hooked.ID, func(j *api.Job) store.Change {
		return store.Change{Refuse: errors.New("no"), Events: []api.Event{stateEvent(now, j.Status, api.StatusQueued)}}
	})
	if err == nil {
		t.Fatal("refusal not returned")
	}

	due, err := ob.Due(ctx, now.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != len(path) || s.OutboxLen() != len(path) {
		t.Fatalf("%d deliveries due (OutboxLen %d), want one per state change: %d", len(due), s.OutboxLen(), len(path))
	}
	for i, d := range due {
		if d.JobID != hooked.ID || d.URL != hooked.CallbackURL || d.Event != "job."+string(path[i]) {
			t.Fatalf("delivery %d: %+v", i, d)
		}
		if i > 0 && d.Seq <= due[i-1].Seq {
			t.Fatalf("deliveries not in seq order: %v", due)
		}
		if !bytes.Contains(d.Body, []byte(`"event":"job.`+string(path[i])+`"`)) || !bytes.Contains(d.Body, []byte(hooked.ID)) {
			t.Fatalf("delivery %d body %s", i, d.Body)
		}
	}
	// Not due before its event happened; limit honoured.
	if early, _ := ob.Due(ctx, now.Add(1500*time.Millisecond), 100); len(early) != 2 {
		t.Fatalf("due at +1.5 s: %d deliveries, want 2", len(early))
	}
	if one, _ := ob.Due(ctx, now.Add(time.Hour), 1); len(one) != 1 || one[0].Seq != due[0].Seq {
		t.Fatalf("limit 1: %v", one)
	}

	if err := ob.Delivered(ctx, due[0].Seq); err != nil {
		t.Fatal(err)
	}
	if err := ob.Retry(ctx, due[1].Seq, 1, now.Add(2*time.Hour), "503"); err != nil {
		t.Fatal(err)
	}
	left, _ := ob.Due(ctx, now.Add(time.Hour), 100)
	if len(left) != 2 || left[0].Seq != due[2].Seq {
		t.Fatalf("after Delivered and Retry: %v", left)
	}
	later, _ := ob.Due(ctx, now.Add(3*time.Hour), 100)
	if len(later) != 3 || later[0].Seq != due[1].Seq || later[0].Attempts != 1 {
		t.Fatalf("the retried delivery after its time: %v", later)
	}

	d := due[3]
	d.Attempts = 5
	if err := ob.GiveUp(ctx, d, "connection refused"); err != nil {
		t.Fatal(err)
	}
	if s.OutboxLen() != 2 {
		t.Fatalf("OutboxLen after GiveUp = %d, want 2", s.OutboxLen())
	}
	evs, _, err := s.Events(ctx, hooked.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Type != api.EventWarning || !strings.Contains(last.Message, "job.completed") ||
		!strings.Contains(last.Message, "connection refused") || !strings.Contains(last.Message, "hooks.example.com") {
		t.Fatalf("GiveUp left %+v; want a warning naming the event, host and error", last)
	}
	if strings.Contains(last.Message, "secret-token") {
		t.Fatalf("GiveUp's warning shows the callback URL's path: %q", last.Message)
	}
	if j, _ := s.GetJob(ctx, hooked.ID); j.Status != api.StatusCompleted {
		t.Fatalf("GiveUp changed the job: %s", j.Status)
	}
	if s.OutboxLen() != 2 {
		t.Fatal("the warning event queued a webhook")
	}
	// The job is gone: GiveUp only drops the delivery.
	gone := due[2]
	gone.JobID = store.NewID(now)
	if err := ob.GiveUp(ctx, gone, "x"); err != nil {
		t.Fatalf("GiveUp for a purged job: %v", err)
	}
	if s.OutboxLen() != 1 {
		t.Fatalf("OutboxLen = %d, want 1", s.OutboxLen())
	}
}

func TestEventsBounded(t *testing.T) {
	s, _ := openStore(t, store.Options{NoSync: true})
	ctx := context.Background()
	now := time.Now().UTC()
	j := mustCreate(t, s, testJob(now, api.StatusQueued, api.QueueMedium, ""), nil)
	// One transaction carrying more log lines than a job keeps, then a state change.
	lines := make([]api.Event, store.MaxEventsPerJob+50)
	for i := range lines {
		lines[i] = api.Event{Time: now, Type: api.EventLog, Message: fmt.Sprint("line ", i)}
	}
	for _, evs := range [][]api.Event{lines, {{Time: now, Type: api.EventWarning, Message: "late"}}, {stateEvent(now, api.StatusQueued, api.StatusCanceled)}} {
		if _, _, err := s.UpdateJob(ctx, j.ID, func(*api.Job) store.Change { return store.Change{Events: evs} }); err != nil {
			t.Fatal(err)
		}
	}
	var all []api.Event
	for after := int64(0); ; {
		evs, next, err := s.Events(ctx, j.ID, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
		if next == 0 {
			break
		}
		after = next
	}
	// The first event, MaxEventsPerJob-1 lines, one "log full" warning, and the state change.
	if len(all) != store.MaxEventsPerJob+2 {
		t.Fatalf("%d events kept, want %d", len(all), store.MaxEventsPerJob+2)
	}
	full := all[len(all)-2]
	if full.Type != api.EventWarning || !strings.Contains(full.Message, "event log full") {
		t.Fatalf("second to last event %+v: want the log-full warning", full)
	}
	if last := all[len(all)-1]; last.Type != api.EventState || last.To != api.StatusCanceled {
		t.Fatalf("last event %+v: want the state change, which is always kept", last)
	}
}

func TestListJobsRawIsTheStoredView(t *testing.T) {
	s, _ := openStore(t, store.Options{NoSync: true})
	now := time.Now().UTC()
	for i := range 30 {
		st := []api.Status{api.StatusQueued, api.StatusRunning, api.StatusCompleted}[i%3]
		mustCreate(t, s, testJob(now.Add(time.Duration(i)*time.Millisecond), st, api.Queues[i%len(api.Queues)], fmt.Sprint("n", i%2)), nil)
	}
	for _, f := range []store.Filter{{Limit: 7}, {Statuses: []api.Status{api.StatusRunning}, Limit: 4}, {Node: "n1", Queue: api.QueueLive}, {CreatedAfter: now.Add(10 * time.Millisecond), CreatedBefore: now.Add(20 * time.Millisecond)}} {
		jobs, next, err := s.ListJobs(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		raw, rawNext, err := s.ListJobsRaw(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != len(jobs) || next != rawNext {
			t.Fatalf("filter %+v: %d raw jobs (next %q), %d decoded (next %q)", f, len(raw), rawNext, len(jobs), next)
		}
		for i, r := range raw {
			var j api.Job
			if err := json.Unmarshal(r.JSON, &j); err != nil {
				t.Fatalf("raw job %s is not a job: %v", r.ID, err)
			}
			if r.ID != jobs[i].ID || j.ID != r.ID || j.Status != jobs[i].Status || !j.CreatedAt.Equal(jobs[i].CreatedAt) {
				t.Fatalf("filter %+v, item %d: raw %s %+v, decoded %+v", f, i, r.ID, j, jobs[i])
			}
		}
	}
}

// TestTenantIndexOfOldDatabase: a database from before tenants (schema 2, no tenant index,
// jobs with no tenant) opens with every job filed under the default tenant, without rewriting
// the jobs.
func TestTenantIndexOfOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.db")
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	old := mustCreate(t, s, testJob(time.Now().UTC(), api.StatusQueued, api.QueueMedium, ""), nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("2")); err != nil {
			return err
		}
		return tx.DeleteBucket([]byte("idx_tenant"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s, err = store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	team := testJob(time.Now().UTC(), api.StatusQueued, api.QueueMedium, "")
	team.Tenant = "team-a"
	team = mustCreate(t, s, team, nil)
	for tenant, want := range map[string][]string{api.DefaultTenant: {old.ID}, "team-a": {team.ID}} {
		if got := ids(listAll(t, s, store.Filter{Tenant: tenant, Limit: 10})); !slices.Equal(got, want) {
			t.Errorf("tenant %s lists %v, want %v", tenant, got, want)
		}
	}
	tenants, err := s.Tenants(context.Background())
	if err != nil || !slices.Equal(tenants, []string{api.DefaultTenant, "team-a"}) {
		t.Errorf("Tenants() = %v, %v; want [default team-a]", tenants, err)
	}
	got, err := s.GetJob(context.Background(), old.ID)
	if err != nil || got.Tenant != "" {
		t.Errorf("old job = %+v, %v: want it as stored, without a tenant", got, err)
	}
}
