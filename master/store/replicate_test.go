package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// cluster is a leader store whose Replicate plays raft: it numbers each write set (with gaps:
// indexes are raft's, and raft's own entries take some) and applies it to the leader and to
// every follower through ApplyLogs.
type cluster struct {
	leader    *store.Store
	followers []*store.Store

	mu      sync.Mutex
	next    uint64
	entries []store.LogEntry // every entry replicated, in order
	fail    error            // when set, Replicate answers it and applies nothing
	gate    chan struct{}    // when set, Replicate waits for it to close
	onEntry func(ws []byte)
}

func openCluster(t *testing.T, followers int) *cluster {
	t.Helper()
	c := &cluster{}
	for range followers {
		f, _ := openStore(t, store.Options{})
		c.followers = append(c.followers, f)
	}
	c.leader, _ = openStore(t, store.Options{Replicate: c.replicate})
	return c
}

func (c *cluster) replicate(ctx context.Context, ws []byte) error {
	c.mu.Lock()
	gate := c.gate
	c.gate = nil
	c.mu.Unlock()
	if gate != nil {
		<-gate
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return fmt.Errorf("replicate: %w", c.fail)
	}
	if c.onEntry != nil {
		c.onEntry(ws)
	}
	c.next += 3
	e := store.LogEntry{Index: c.next, Data: bytes.Clone(ws)}
	c.entries = append(c.entries, e)
	for _, s := range append([]*store.Store{c.leader}, c.followers...) {
		if err := s.ApplyLogs([]store.LogEntry{e}); err != nil {
			return err
		}
	}
	return nil
}

func (c *cluster) log() []store.LogEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]store.LogEntry(nil), c.entries...)
}

func digest(t *testing.T, s *store.Store) string {
	t.Helper()
	d, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sameState fails t unless b holds exactly what a holds, byte for byte and as read back
// through the store's own read methods.
func sameState(t *testing.T, a, b *store.Store) {
	t.Helper()
	if da, db := digest(t, a), digest(t, b); da != db {
		t.Errorf("digests differ: %s and %s", da, db)
	}
	if a.AppliedIndex() != b.AppliedIndex() {
		t.Errorf("applied index %d and %d", a.AppliedIndex(), b.AppliedIndex())
	}
	ctx := context.Background()
	reads := map[string]func(s *store.Store) (any, error){
		"ListJobs": func(s *store.Store) (any, error) {
			j, _, err := s.ListJobs(ctx, store.Filter{Limit: 1000})
			return j, err
		},
		"ListJobs(completed)": func(s *store.Store) (any, error) {
			j, _, err := s.ListJobs(ctx, store.Filter{Statuses: []api.Status{api.StatusCompleted}, Limit: 1000})
			return j, err
		},
		"CountByStatus": func(s *store.Store) (any, error) { return s.CountByStatus(ctx) },
		"Tenants":       func(s *store.Store) (any, error) { return s.Tenants(ctx) },
		"Nodes":         func(s *store.Store) (any, error) { return s.Nodes(ctx) },
		"Presets":       func(s *store.Store) (any, error) { return s.Presets(ctx) },
		"Streams":       func(s *store.Store) (any, error) { return s.Streams(ctx) },
		"Outbox": func(s *store.Store) (any, error) {
			return s.Outbox().Due(ctx, time.Now().Add(time.Hour), 1000)
		},
		"Events": func(s *store.Store) (any, error) {
			jobs, _, err := s.ListJobs(ctx, store.Filter{Limit: 1000})
			all := map[string][]api.Event{}
			for _, j := range jobs {
				evs, _, err := s.Events(ctx, j.ID, 0, 1000)
				if err != nil {
					return nil, err
				}
				all[j.ID] = evs
			}
			return all, err
		},
	}
	for name, read := range reads {
		va, err := read(a)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		vb, err := read(b)
		if err != nil {
			t.Fatalf("%s on the other member: %v", name, err)
		}
		if !reflect.DeepEqual(va, vb) {
			t.Errorf("%s differs:\n%+v\n%+v", name, va, vb)
		}
	}
}

// drive makes every kind of write the farm makes through the leader's public methods.
func drive(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// Jobs, concurrently so that batches hold several writes, some with webhooks (the
	// outbox's sequence) and idempotency keys.
	var wg sync.WaitGroup
	jobs := make([]api.Job, 24)
	for i := range jobs {
		j := testJob(now.Add(time.Duration(i)*time.Millisecond), api.StatusQueued, api.QueueLow, "")
		if i%2 == 0 {
			j.CallbackURL = "https://hooks.example.com/cb"
		}
		if i%3 == 0 {
			j.Tenant = "acme"
		}
		var idem *store.Idempotency
		if i%4 == 0 {
			idem = &store.Idempotency{Key: []byte(fmt.Sprintf("key-%d", i)), BodyHash: []byte("h")}
		}
		jobs[i] = j
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.CreateJob(ctx, j, stateEvent(j.CreatedAt, "", j.Status), idem)
			check("create", err)
		}()
	}
	wg.Wait()
	// An idempotent replay writes nothing and answers the first job.
	out, replay, err := s.CreateJob(ctx, testJob(now, api.StatusQueued, api.QueueLow, ""), stateEvent(now, "", api.StatusQueued),
		&store.Idempotency{Key: []byte("key-0"), BodyHash: []byte("h")})
	check("replay", err)
	if !replay || out.ID != jobs[0].ID {
		t.Fatalf("replay = %v, job %s; want the first job %s", replay, out.ID, jobs[0].ID)
	}

	// Transitions, concurrently (UpdateJob's conflicts are retried).
	path := []api.Status{api.StatusAssigned, api.StatusRunning, api.StatusCompleted}
	for i, j := range jobs[:16] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k, st := range path {
				at := now.Add(time.Duration(k+1) * time.Second)
				_, _, err := s.UpdateJob(ctx, j.ID, func(j *api.Job) store.Change {
					ev := stateEvent(at, j.Status, st)
					ev.Node = "n1"
					j.Status, j.Node, j.UpdatedAt = st, "n1", at
					if st.Terminal() {
						f := at.Add(-time.Duration(i) * time.Hour) // some finish long ago: purged below
						j.FinishedAt, j.Node = &f, ""
					}
					return store.Change{Events: []api.Event{ev, {Time: at, Type: api.EventProgress, Progress: &api.Progress{Percent: 10}}}}
				})
				check("update", err)
			}
		}()
	}
	wg.Wait()

	// Nodes and presets.
	check("put node", s.PutNode(ctx, store.NodeRecord{Node: api.Node{ID: "n1", Name: "one"}, SecretHash: []byte("x"), Owner: "ops"}))
	check("put node", s.PutNode(ctx, store.NodeRecord{Node: api.Node{ID: "n2", Name: "two"}}))
	check("delete node", s.DeleteNode(ctx, "n2"))
	check("put preset", s.PutPreset(ctx, api.Preset{Name: "p1"}))
	check("put preset", s.PutPreset(ctx, api.Preset{Name: "p2"}))
	check("delete preset", s.DeletePreset(ctx, "p2"))
	if err := s.DeletePreset(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing preset: %v, want ErrNotFound", err)
	}

	// Streams, with their key index.
	a, b := testStream("cam-a", "key-a"), testStream("cam-b", "key-b")
	check("create stream", s.CreateStream(ctx, a))
	check("create stream", s.CreateStream(ctx, b))
	if err := s.CreateStream(ctx, testStream("cam-a", "key-c")); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("second cam-a: %v, want ErrNameTaken", err)
	}
	_, err = s.UpdateStream(ctx, a.Stream.ID, func(r *store.StreamRecord) error { r.KeyHash = keyHash("key-a2"); return nil })
	check("rotate stream key", err)
	check("delete stream", s.DeleteStream(ctx, b.Stream.ID))

	// The outbox: deliveries, retries, give-ups (which write a warning on the job).
	ob := s.Outbox()
	due, err := ob.Due(ctx, now.Add(time.Hour), 100)
	check("due", err)
	if len(due) < 3 {
		t.Fatalf("%d deliveries due, want some", len(due))
	}
	check("delivered", ob.Delivered(ctx, due[0].Seq))
	check("retry", ob.Retry(ctx, due[1].Seq, 1, now.Add(time.Minute), "503"))
	check("give up", ob.GiveUp(ctx, due[2], "410 gone"))

	// Imports and retention.
	bulk := []api.Job{testJob(now.Add(-48*time.Hour), api.StatusFailed, api.QueueHigh, ""), testJob(now.Add(-47*time.Hour), api.StatusQueued, api.QueueHigh, "")}
	check("put jobs", s.PutJobs(ctx, bulk))
	n, err := s.Purge(ctx, now.Add(-30*time.Minute), 100)
	check("purge", err)
	if n == 0 {
		t.Fatal("purge removed nothing: the test lost its purpose")
	}
}

func TestReplicatedWritesReachEveryMember(t *testing.T) {
	c := openCluster(t, 1)
	if !c.leader.Replicated() || c.followers[0].Replicated() {
		t.Fatal("Replicated() wrong")
	}
	drive(t, c.leader)
	if c.leader.AppliedIndex() == 0 || len(c.log()) == 0 {
		t.Fatal("nothing was replicated")
	}
	sameState(t, c.leader, c.followers[0])

	// A single master given the same writes holds as much (the writes are concurrent and
	// timed, so compare what does not depend on their order: counts).
	single, _ := openStore(t, store.Options{})
	if digest(t, single) == digest(t, c.leader) {
		t.Fatal("the leader's digest is an empty store's")
	}
	drive(t, single)
	ctx := context.Background()
	for _, m := range []*store.Store{c.leader, c.followers[0]} {
		if m.OutboxLen() != single.OutboxLen() {
			t.Errorf("outbox holds %d deliveries, a single master's %d", m.OutboxLen(), single.OutboxLen())
		}
		got, _ := m.CountByStatus(ctx)
		want, _ := single.CountByStatus(ctx)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("jobs by status %v, a single master's %v", got, want)
		}
	}
	jobs, _, err := c.followers[0].ListJobs(ctx, store.Filter{Limit: 1000})
	if err != nil || len(jobs) < 10 {
		t.Fatalf("follower lists %d jobs (%v)", len(jobs), err)
	}
	got, err := c.followers[0].GetJob(context.Background(), jobs[0].ID)
	if err != nil || got.ID != jobs[0].ID {
		t.Fatalf("follower GetJob: %v %v", got.ID, err)
	}
	r, err := c.followers[0].StreamByKey(context.Background(), keyHash("key-a2"))
	if err != nil || r.Stream.Name != "cam-a" {
		t.Fatalf("follower StreamByKey(rotated key) = %q, %v", r.Stream.Name, err)
	}
	if _, err := c.followers[0].StreamByKey(context.Background(), keyHash("key-a")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("follower still resolves the old stream key: %v", err)
	}
}

func TestApplyLogsSkipsWhatIsApplied(t *testing.T) {
	c := openCluster(t, 0)
	drive(t, c.leader)
	log := c.log()
	want := digest(t, c.leader)

	path := filepath.Join(t.TempDir(), "member.db")
	m, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// In pieces, with a piece that overlaps what was applied (raft replays after a restart).
	half := len(log) / 2
	for _, part := range [][]store.LogEntry{log[:half], log[half/2:]} {
		if err := m.ApplyLogs(part); err != nil {
			t.Fatal(err)
		}
	}
	if got := digest(t, m); got != want || m.AppliedIndex() != c.leader.AppliedIndex() {
		t.Fatalf("member digest %s at %d, leader %s at %d", got, m.AppliedIndex(), want, c.leader.AppliedIndex())
	}
	// Older entries again: nothing changes (applied, they would bring back purged jobs and
	// old versions of the jobs).
	for _, part := range [][]store.LogEntry{log[:half], log} {
		if err := m.ApplyLogs(part); err != nil {
			t.Fatal(err)
		}
		if got := digest(t, m); got != want {
			t.Fatal("re-applying applied entries changed the store")
		}
	}
	if err := m.ApplyLogs(nil); err != nil {
		t.Fatal(err)
	}

	// A restart keeps the applied index, and replay still changes nothing.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.AppliedIndex() != c.leader.AppliedIndex() {
		t.Fatalf("reopened at applied index %d, want %d", m.AppliedIndex(), c.leader.AppliedIndex())
	}
	if err := m.ApplyLogs(log[:half]); err != nil {
		t.Fatal(err)
	}
	if got := digest(t, m); got != want {
		t.Fatal("replay after reopen changed the store")
	}
	// An entry with no data moves the index only.
	last := c.leader.AppliedIndex()
	if err := m.ApplyLogs([]store.LogEntry{{Index: last + 10}}); err != nil {
		t.Fatal(err)
	}
	if m.AppliedIndex() != last+10 {
		t.Fatalf("applied index %d after an empty entry at %d", m.AppliedIndex(), last+10)
	}
}

func TestReplicatedBatchDropsTheFailingWrite(t *testing.T) {
	c := openCluster(t, 1)
	ctx := context.Background()
	now := time.Now().UTC()
	taken := mustCreate(t, c.leader, testJob(now, api.StatusQueued, api.QueueLow, ""), nil)

	// Hold the committer in Replicate with a first write, line the others up behind it so
	// they make one batch, then let it go.
	gate := make(chan struct{})
	c.mu.Lock()
	c.gate = gate
	c.mu.Unlock()
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release) // a failing test must not leave the committer waiting (Close would)
	first := make(chan error, 1)
	go func() { first <- c.leader.PutPreset(ctx, api.Preset{Name: "first"}) }()
	waitFor(t, "the first write to reach Replicate", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.gate == nil
	})

	const good = 8
	errs := make(chan error, good)
	var goodIDs []string
	for i := range good {
		j := testJob(now.Add(time.Duration(i+1)*time.Millisecond), api.StatusQueued, api.QueueLow, "")
		goodIDs = append(goodIDs, j.ID)
		go func() {
			_, _, err := c.leader.CreateJob(ctx, j, stateEvent(now, "", api.StatusQueued), nil)
			errs <- err
		}()
	}
	// The same ID again, with an idempotency key: the writer stores the key, then finds the
	// job exists and fails, so the batch must be run again without it.
	dup := taken
	dup.Queue = "dup-marker-queue"
	dupIdem := &store.Idempotency{Key: []byte("dup-idem-key"), BodyHash: []byte("h")}
	dupErr := make(chan error, 1)
	go func() {
		_, _, err := c.leader.CreateJob(ctx, dup, stateEvent(now, "", api.StatusQueued), dupIdem)
		dupErr <- err
	}()
	waitFor(t, "the batch to queue", func() bool { return store.QueuedWrites(c.leader) == good+1 })
	var sets [][]byte
	c.mu.Lock()
	c.onEntry = func(ws []byte) { sets = append(sets, bytes.Clone(ws)) }
	c.mu.Unlock()
	release()

	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range good {
		if err := <-errs; err != nil {
			t.Fatalf("a good write of the batch: %v", err)
		}
	}
	if err := <-dupErr; err == nil {
		t.Fatal("the duplicate create succeeded")
	}
	// The first write's entry, then one for the batch without the failed write.
	if len(sets) != 2 {
		t.Fatalf("%d write sets replicated, want 2 (the first write, the batch)", len(sets))
	}
	batch := sets[1]
	if bytes.Contains(batch, []byte("dup-marker-queue")) || bytes.Contains(batch, []byte("dup-idem-key")) {
		t.Fatal("the failed write is in the replicated write set")
	}
	for _, id := range goodIDs {
		k, _ := ulid.ParseStrict(id)
		if n := bytes.Count(batch, k[:]); n == 0 {
			t.Fatalf("good job %s is not in the batch's write set", id)
		}
	}
	// The failed write's key is on no member: a submit with it is a fresh one.
	other := testJob(now.Add(time.Second), api.StatusQueued, api.QueueLow, "")
	if _, replay, err := c.leader.CreateJob(ctx, other, stateEvent(now, "", api.StatusQueued), dupIdem); err != nil || replay {
		t.Fatalf("create with the failed write's idempotency key: replay %v, %v", replay, err)
	}
	for _, id := range goodIDs {
		if _, err := c.followers[0].GetJob(ctx, id); err != nil {
			t.Fatalf("good job %s on the follower: %v", id, err)
		}
	}
	got, err := c.followers[0].GetJob(ctx, taken.ID)
	if err != nil || got.Queue != taken.Queue {
		t.Fatalf("the taken job on the follower: queue %q, %v", got.Queue, err)
	}
	sameState(t, c.leader, c.followers[0])
}

var errNotLeader = errors.New("not the leader")

func TestReplicateFailureWritesNothing(t *testing.T) {
	c := openCluster(t, 1)
	ctx := context.Background()
	now := time.Now().UTC()
	mustCreate(t, c.leader, testJob(now, api.StatusQueued, api.QueueLow, ""), nil)
	before, index := digest(t, c.leader), c.leader.AppliedIndex()

	c.mu.Lock()
	c.fail = errNotLeader
	c.mu.Unlock()
	j := testJob(now, api.StatusQueued, api.QueueLow, "")
	_, _, err := c.leader.CreateJob(ctx, j, stateEvent(now, "", api.StatusQueued), nil)
	if !errors.Is(err, errNotLeader) {
		t.Fatalf("create: %v, want errNotLeader", err)
	}
	if err := c.leader.PutPreset(ctx, api.Preset{Name: "p"}); !errors.Is(err, errNotLeader) {
		t.Fatalf("put preset: %v, want errNotLeader", err)
	}
	if _, err := c.leader.GetJob(ctx, j.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused job is readable: %v", err)
	}
	if digest(t, c.leader) != before || c.leader.AppliedIndex() != index {
		t.Fatal("a write refused by Replicate changed the leader's store")
	}
	sameState(t, c.leader, c.followers[0])
}

func TestSnapshotRestore(t *testing.T) {
	c := openCluster(t, 0)
	drive(t, c.leader)
	snapDigest := digest(t, c.leader)
	sn, err := c.leader.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if sn.Index() != c.leader.AppliedIndex() {
		t.Fatalf("snapshot at %d, applied %d", sn.Index(), c.leader.AppliedIndex())
	}
	// Writes after the snapshot are not in it, even while it is being written.
	ctx := context.Background()
	if err := c.leader.PutPreset(ctx, api.Preset{Name: "after"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	sn.Release()
	sn.Release()
	image := buf.Bytes()

	fresh, freshPath := openStore(t, store.Options{})
	other, otherPath := openStore(t, store.Options{})
	own := mustCreate(t, other, testJob(time.Now().UTC(), api.StatusQueued, "own", ""), nil)
	if err := other.PutNode(ctx, store.NodeRecord{Node: api.Node{ID: "own-node"}}); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*store.Store{"fresh": fresh, "with data": other} {
		if err := m.Restore(bytes.NewReader(image)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := digest(t, m); got != snapDigest || m.AppliedIndex() != sn.Index() {
			t.Fatalf("%s: restored digest %s at %d, snapshot %s at %d", name, got, m.AppliedIndex(), snapDigest, sn.Index())
		}
		// Then raft replays the entries after the snapshot: the member is the leader's twin.
		if err := m.ApplyLogs(c.log()); err != nil {
			t.Fatal(err)
		}
		sameState(t, c.leader, m)
	}
	if _, err := other.GetJob(ctx, own.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the restored store kept its own job: %v", err)
	}
	for _, p := range []string{freshPath, otherPath} {
		left, _ := filepath.Glob(p + ".restore-*")
		if len(left) > 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	}

	// A restored store reopens as it was.
	if err := fresh.Close(); err != nil {
		t.Fatal(err)
	}
	re, err := store.Open(freshPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	sameState(t, c.leader, re)
}

func TestRestoreRefusesBadSnapshots(t *testing.T) {
	c := openCluster(t, 0)
	drive(t, c.leader)
	sn, err := c.leader.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	sn.Release()
	image := buf.Bytes()

	// A database of another schema.
	newer := filepath.Join(t.TempDir(), "newer.db")
	if err := os.WriteFile(newer, image, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(newer, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(putSchema("99")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	newerImage, err := os.ReadFile(newer)
	if err != nil {
		t.Fatal(err)
	}

	m, path := openStore(t, store.Options{})
	mustCreate(t, m, testJob(time.Now().UTC(), api.StatusQueued, "own", ""), nil)
	before := digest(t, m)
	garbage := bytes.Repeat([]byte("not a database "), 1000)
	for _, tc := range []struct {
		name  string
		image []byte
		want  string
	}{
		{"truncated", image[:len(image)/2], "damaged"},
		{"cut at the header", image[:4096+100], ""},
		{"empty", nil, "not a database"},
		{"garbage", garbage, "not a database"},
		{"other schema", newerImage, "schema 99 is newer than this ffrtmp master"},
	} {
		err := m.Restore(bytes.NewReader(tc.image))
		if err == nil {
			t.Fatalf("%s: restored", tc.name)
		}
		if !strings.Contains(err.Error(), "restore snapshot") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to say %q", tc.name, err, tc.want)
		}
		if digest(t, m) != before || m.AppliedIndex() != 0 {
			t.Fatalf("%s: a refused snapshot changed the store", tc.name)
		}
	}
	if left, _ := filepath.Glob(path + ".restore-*"); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestApplyLogsRefusesMalformedWriteSets(t *testing.T) {
	c := openCluster(t, 0)
	mustCreate(t, c.leader, testJob(time.Now().UTC(), api.StatusQueued, api.QueueLow, ""), nil)
	good := c.log()[0].Data
	m, _ := openStore(t, store.Options{})
	if err := m.ApplyLogs([]store.LogEntry{{Index: 5, Data: good}}); err != nil {
		t.Fatal(err)
	}
	before := digest(t, m)
	put := func(bucket, k, v string) []byte {
		b := []byte{1, 1, byte(len(bucket))}
		b = append(b, bucket...)
		b = append(b, byte(len(k)))
		b = append(b, k...)
		b = append(b, byte(len(v)))
		return append(b, v...)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"unknown format", append([]byte{9}, good[1:]...), "format 9 unknown"},
		{"truncated", good[:len(good)-3], "truncated"},
		{"unknown op", []byte{1, 7, 4, 'j', 'o', 'b', 's'}, "unknown op 7"},
		{"no such bucket", put("nope", "k", "v"), `no bucket "nope"`},
		{"length past the end", []byte{1, 1, 4, 'j', 'o', 'b', 's', 200, 1}, "truncated"},
	} {
		// A good entry first: the bad one must take it down with it.
		err := m.ApplyLogs([]store.LogEntry{{Index: 9, Data: put("presets", "x", "{}")}, {Index: 11, Data: tc.data}})
		if err == nil {
			t.Fatalf("%s: applied", tc.name)
		}
		if !strings.Contains(err.Error(), "raft log entry 11") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to name entry 11 and say %q", tc.name, err, tc.want)
		}
		if digest(t, m) != before || m.AppliedIndex() != 5 {
			t.Fatalf("%s: a refused entry changed the store", tc.name)
		}
	}
}

// waitFor polls cond until it holds, failing t after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
