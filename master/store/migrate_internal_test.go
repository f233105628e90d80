package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestMigrationRegistry: the steps go from oldestSchema to SchemaVersion one version at a
// time, each named and with a function.
func TestMigrationRegistry(t *testing.T) {
	steps := migrations()
	if len(steps) != SchemaVersion-oldestSchema {
		t.Fatalf("%d steps from schema %d to %d", len(steps), oldestSchema, SchemaVersion)
	}
	names := map[string]bool{}
	for i, m := range steps {
		if m.to != oldestSchema+1+i || m.name == "" || m.step == nil || names[m.name] {
			t.Errorf("step %d: to %d, name %q, step set %v (names must be unique)", i, m.to, m.name, m.step != nil)
		}
		names[m.name] = true
	}
}

// testDB is a bbolt file at schema version with bucket src holding n keys.
func testDB(t *testing.T, version, n int) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "m.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bMeta)
		src, _ := tx.CreateBucket([]byte("src"))
		for i := range n {
			if err := src.Put(fmt.Appendf(nil, "k%03d", i), nil); err != nil {
				return err
			}
		}
		return meta.Put(metaSchema, []byte(strconv.Itoa(version)))
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func metaOf(t *testing.T, db *bolt.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).ForEach(func(k, v []byte) error { out[string(k)] = string(v); return nil })
	})
	return out
}

// TestMigrateResumes: a batched step cut short (an error here; a crash or a kill is the same,
// since each batch is a transaction) keeps what its committed batches did and where it
// stopped; the next migrate goes on from there, so every key is handled exactly once, then
// runs the later steps, and records each step.
func TestMigrateResumes(t *testing.T) {
	db := testDB(t, 1, 10)
	var seen []string // keys the copy step was given, over all its calls
	failAt := 3       // the copy step's call that fails, once
	calls := 0
	copyStep := func(tx *bolt.Tx, cursor []byte, batch int) ([]byte, error) {
		if calls++; calls == failAt {
			return nil, errors.New("power cut")
		}
		dst, err := tx.CreateBucketIfNotExists([]byte("dst"))
		if err != nil {
			return nil, err
		}
		c := tx.Bucket([]byte("src")).Cursor()
		k, _ := c.First()
		if cursor != nil {
			k, _ = c.Seek(cursor)
		}
		for n := 0; k != nil; k, _ = c.Next() {
			if n == batch {
				return k, nil
			}
			if dst.Get(k) != nil {
				return nil, fmt.Errorf("key %s copied twice", k)
			}
			seen = append(seen, string(k))
			if err := dst.Put(k, []byte("copied")); err != nil {
				return nil, err
			}
			n++
		}
		return nil, nil
	}
	lastRan := 0
	steps := []migration{
		{to: 2, name: "copy src to dst", step: copyStep},
		{to: 3, name: "mark", step: func(tx *bolt.Tx, _ []byte, _ int) ([]byte, error) {
			lastRan++
			return nil, tx.Bucket(bMeta).Put([]byte("marked"), []byte("yes"))
		}},
	}

	_, err := migrate(db, steps, 3, quiet)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("migrate database schema to 2 (copy src to dst): power cut")) {
		t.Fatalf("first run: %v, want the copy step's failure", err)
	}
	meta := metaOf(t, db)
	var p progress
	if err := json.Unmarshal([]byte(meta["migrating"]), &p); err != nil || meta["schema"] != "1" ||
		p.To != 2 || string(p.Cursor) != "k006" || p.Batches != 2 || lastRan != 0 {
		t.Fatalf("after the failure: meta %v (%v), last step ran %d times; want schema 1, 2 batches done, cursor k006", meta, err, lastRan)
	}

	var logs bytes.Buffer
	ran, err := migrate(db, steps, 3, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 10 || seen[0] != "k000" || seen[6] != "k006" || seen[9] != "k009" {
		t.Errorf("the copy step saw %v, want k000..k009 once each", seen)
	}
	if len(ran) != 2 || ran[0].To != 2 || ran[0].Batches != 4 || ran[1].To != 3 || ran[1].Batches != 1 || lastRan != 1 {
		t.Errorf("ran %+v (last step %d times); want to 2 in 4 batches, then to 3 in 1", ran, lastRan)
	}
	meta = metaOf(t, db)
	if meta["schema"] != "3" || meta["migrating"] != "" || meta["marked"] != "yes" {
		t.Errorf("meta at the end: %v", meta)
	}
	for _, to := range []int{2, 3} {
		var m stepRecord
		if err := json.Unmarshal([]byte(meta[string(metaMigrated(to))]), &m); err != nil || m.To != to || m.Finished.Before(m.Started) {
			t.Errorf("record of step %d: %+v, %v", to, m, err)
		}
	}
	if bytes.Count(logs.Bytes(), []byte(`"msg":"migrated database schema"`)) != 2 {
		t.Errorf("log: %s", logs.String())
	}

	// Done: another run does nothing.
	calls, lastRan = 0, 0
	if ran, err := migrate(db, steps, 3, quiet); err != nil || len(ran) != 0 || calls != 0 || lastRan != 0 {
		t.Errorf("a run at the last version: ran %v, %v (steps called %d, %d times)", ran, err, calls, lastRan)
	}
}

// TestMigrateRefusesAnotherStepsProgress: progress recorded for a step other than the next
// one (a binary whose steps differ) stops the migration instead of misreading the cursor.
func TestMigrateRefusesAnotherStepsProgress(t *testing.T) {
	db := testDB(t, 1, 0)
	_ = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(metaMigrating, []byte(`{"to":7,"name":"elsewhere","cursor":"eA=="}`))
	})
	called := false
	steps := []migration{{to: 2, name: "two", step: func(*bolt.Tx, []byte, int) ([]byte, error) { called = true; return nil, nil }}}
	if _, err := migrate(db, steps, 10, quiet); err == nil || called {
		t.Errorf("migrate over another step's progress: %v (step called %v)", err, called)
	}
}

// TestIndexTenantsInBatches: schema 2 without a tenant index gets every job under the
// default tenant, across batches and across an interruption, without touching the jobs.
func TestIndexTenantsInBatches(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "master.db")
	s, err := Open(path, Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var keys [][]byte
	for i := range 7 {
		at := time.Now().UTC().Add(time.Duration(i) * time.Millisecond)
		j := api.Job{ID: NewID(at), Status: api.StatusQueued, Queue: api.QueueMedium, CreatedAt: at, UpdatedAt: at}
		if _, _, err := s.CreateJob(ctx, j, api.Event{Time: at, Type: api.EventState, To: j.Status}, nil); err != nil {
			t.Fatal(err)
		}
		k, _ := key(j.ID)
		keys = append(keys, k)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	jobsBefore := map[string]string{}
	err = db.Update(func(tx *bolt.Tx) error {
		_ = tx.Bucket(bJobs).ForEach(func(k, v []byte) error { jobsBefore[string(k)] = string(v); return nil })
		if err := tx.Bucket(bMeta).Put(metaSchema, []byte("2")); err != nil {
			return err
		}
		return tx.DeleteBucket(bByTenant)
	})
	if err != nil {
		t.Fatal(err)
	}

	steps := migrations()
	index := steps[0].step
	calls := 0
	steps[0].step = func(tx *bolt.Tx, cursor []byte, batch int) ([]byte, error) {
		if calls++; calls == 3 {
			return nil, errors.New("killed")
		}
		return index(tx, cursor, batch)
	}
	if _, err := migrate(db, steps, 2, quiet); err == nil {
		t.Fatal("the interrupted migration reported no error")
	}
	ran, err := migrate(db, steps, 2, quiet)
	if err != nil || len(ran) != 1 || ran[0].Batches != 4 {
		t.Fatalf("resumed: %+v, %v; want one step of 4 batches (7 jobs, 2 a batch)", ran, err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bByTenant)
		if n := idx.Stats().KeyN; n != len(keys) {
			t.Errorf("tenant index holds %d keys, want %d", n, len(keys))
		}
		for _, k := range keys {
			if got, _ := idx.Cursor().Seek(idxKey(api.DefaultTenant, k)); !bytes.Equal(got, idxKey(api.DefaultTenant, k)) {
				t.Errorf("job %x is not under the default tenant", k)
			}
		}
		return tx.Bucket(bJobs).ForEach(func(k, v []byte) error {
			if jobsBefore[string(k)] != string(v) {
				t.Errorf("job %x was rewritten", k)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateMillionJobs measures the migrations on a database of FFRTMP_MIGRATE_JOBS jobs
// (for example 1000000) of schema 2 without a tenant index; skipped when it is unset. It
// reports the time Open takes and the longest batch.
func TestMigrateMillionJobs(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FFRTMP_MIGRATE_JOBS"))
	if n <= 0 {
		t.Skip("set FFRTMP_MIGRATE_JOBS to the number of jobs to measure with")
	}
	path := filepath.Join(t.TempDir(), "master.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		t.Fatal(err)
	}
	// Jobs as a busy farm stores them (a resolved spec, a result), written directly: the
	// point is the size of the jobs bucket the step walks.
	base := time.Now().UTC().Add(-30 * 24 * time.Hour)
	tmpl := api.Job{Status: api.StatusCompleted, Queue: api.QueueBatch, Scenario: "720p30-h264", MaxRetries: 3, Node: "node-017",
		Result: &api.Result{Encoders: map[string]string{"main": "libx264"}, Frames: 300, Bytes: 1 << 20, Seconds: 2.5,
			Outputs: []string{"file:///srv/out/job/main.mp4"}}}
	start := time.Now()
	for i := 0; i < n; {
		err := db.Update(func(tx *bolt.Tx) error {
			jobs, err := tx.CreateBucketIfNotExists(bJobs)
			if err != nil {
				return err
			}
			jobs.FillPercent = 0.9
			for end := min(i+50_000, n); i < end; i++ {
				at := base.Add(time.Duration(i) * time.Second)
				j := tmpl
				j.ID, j.CreatedAt, j.UpdatedAt = NewID(at), at, at
				v, err := (&record{Job: j, Version: 3, EventSeq: 4}).encode()
				if err != nil {
					return err
				}
				k, _ := key(j.ID)
				if err := jobs.Put(k, v); err != nil {
					return err
				}
			}
			meta, err := tx.CreateBucketIfNotExists(bMeta)
			if err != nil {
				return err
			}
			return meta.Put(metaSchema, []byte("2"))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	fi, _ := os.Stat(path)
	t.Logf("built %d jobs (%d MiB) in %v", n, fi.Size()>>20, time.Since(start).Round(time.Millisecond))

	var logs bytes.Buffer
	start = time.Now()
	s, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Logf("Open with the migrations: %v\n%s", time.Since(start).Round(time.Millisecond), logs.String())
	got, _, err := s.ListJobsRaw(context.Background(), Filter{Tenant: api.DefaultTenant, Limit: 10})
	if err != nil || len(got) != 10 {
		t.Fatalf("list the default tenant: %d jobs, %v", len(got), err)
	}
}
