package store_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/store"
	"github.com/ffrtmp/ffrtmp/master/webhook"
)

// fixture is testdata/schema2/manifest.json: what the code that wrote testdata/schema2/master.db
// (genfixture at b5588e6, schema 2) read back from it.
type fixture struct {
	Schema string                 `json:"schema"`
	Counts map[api.Status]int     `json:"counts"`
	Jobs   []json.RawMessage      `json:"jobs"`
	Events map[string][]api.Event `json:"events"`
	Pages  []struct {
		Filter store.Filter `json:"filter"`
		Pages  []struct {
			IDs  []string `json:"ids"`
			Next string   `json:"next"`
		} `json:"pages"`
	} `json:"pages"`
	Nodes   []store.NodeRecord   `json:"nodes"`
	Streams []store.StreamRecord `json:"streams"`
	Keys    map[string]string    `json:"stream_keys"`
	Presets []api.Preset         `json:"presets"`
	Outbox  int                  `json:"outbox"`
	Idem    []struct {
		Key      []byte `json:"key"`
		BodyHash []byte `json:"body_hash"`
		JobID    string `json:"job_id"`
	} `json:"idempotency"`
	Tenants []string `json:"tenants"`
}

// copyFixture copies testdata/<name>/master.db into a temp dir (opening a database writes to
// it) and reads its manifest.
func copyFixture(t *testing.T, name string) (string, fixture) {
	t.Helper()
	db, err := os.ReadFile(filepath.Join("testdata", name, "master.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "master.db")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	var f fixture
	js, err := os.ReadFile(filepath.Join("testdata", name, "manifest.json"))
	if err == nil {
		err = json.Unmarshal(js, &f)
	}
	if err != nil {
		t.Fatalf("manifest of %s: %v", name, err)
	}
	return path, f
}

// logTo returns a logger writing JSON lines into buf.
func logTo(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// logLines decodes buf's JSON log lines with message msg.
func logLines(t *testing.T, buf *bytes.Buffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// readMeta returns the meta bucket of the (closed) database at path.
func readMeta(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]string{}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).ForEach(func(k, v []byte) error { out[string(k)] = string(v); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func compact(t *testing.T, js []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, js); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}

// TestOpenSchema2Database: a database written by the code of schema 2 opens with this code,
// is migrated to SchemaVersion (each step logged with its duration and recorded in the file),
// and reads and lists exactly as that code read it: the same JSON per job, the same pages for
// every filter, counts, events, nodes, streams, presets, outbox and idempotency keys. A
// second open runs nothing.
func TestOpenSchema2Database(t *testing.T) {
	ctx := context.Background()
	path, want := copyFixture(t, "schema2")
	if want.Schema != "2" || len(want.Jobs) == 0 {
		t.Fatalf("fixture manifest: schema %q, %d jobs", want.Schema, len(want.Jobs))
	}

	var logs bytes.Buffer
	s, err := store.Open(path, store.Options{Logger: logTo(&logs)})
	if err != nil {
		t.Fatalf("open the schema-2 fixture: %v", err)
	}
	steps := logLines(t, &logs, "migrated database schema")
	if len(steps) != store.SchemaVersion-2 {
		t.Fatalf("logged %d migration steps, want %d: %s", len(steps), store.SchemaVersion-2, logs.String())
	}
	for i, l := range steps {
		if l["to"] != float64(3+i) || l["step"] == "" || l["duration"] == nil || l["db"] != path {
			t.Errorf("step log %v: want to=%d with step, duration and db", l, 3+i)
		}
	}
	if got := logLines(t, &logs, "migrating database schema"); len(got) != 1 || got[0]["from"] != 2.0 || got[0]["to"] != float64(store.SchemaVersion) {
		t.Errorf("migration start logged as %v, want one line from 2 to %d", got, store.SchemaVersion)
	}
	checkFixture(ctx, t, s, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	meta := readMeta(t, path)
	if meta["schema"] != fmt.Sprint(store.SchemaVersion) || meta["migrating"] != "" || meta["migrated/003"] == "" {
		t.Fatalf("meta after the migration: %v; want schema %d, migrated/003 recorded, none under way", meta, store.SchemaVersion)
	}

	// A second open: nothing to migrate, nothing logged, the record of the first kept.
	logs.Reset()
	s, err = store.Open(path, store.Options{Logger: logTo(&logs)})
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	defer s.Close()
	if logs.Len() != 0 {
		t.Errorf("second open logged %s", logs.String())
	}
	checkFixture(ctx, t, s, want)

	// And the migrated database takes writes as usual.
	var queued api.Job
	for _, js := range want.Jobs {
		var j api.Job
		if err := json.Unmarshal(js, &j); err == nil && j.Status == api.StatusQueued && j.Tenant == "" {
			queued = j
		}
	}
	if _, _, err := s.UpdateJob(ctx, queued.ID, func(j *api.Job) store.Change {
		j.Status = api.StatusCanceled
		return store.Change{Events: []api.Event{stateEvent(time.Now(), api.StatusQueued, api.StatusCanceled)}}
	}); err != nil {
		t.Fatalf("cancel a fixture job: %v", err)
	}
	got := ids(listAll(t, s, store.Filter{Tenant: api.DefaultTenant, Statuses: []api.Status{api.StatusCanceled}, Limit: 50}))
	if !slices.Contains(got, queued.ID) {
		t.Errorf("canceled default-tenant jobs %v lack %s", got, queued.ID)
	}
}

// checkFixture compares what s reads with what the fixture's code read.
func checkFixture(ctx context.Context, t *testing.T, s *store.Store, want fixture) {
	t.Helper()
	counts, err := s.CountByStatus(ctx)
	if err != nil || marshal(t, counts) != marshal(t, want.Counts) {
		t.Errorf("counts %v, %v; want %v", counts, err, want.Counts)
	}
	raw, next, err := s.ListJobsRaw(ctx, store.Filter{Limit: 1000})
	if err != nil || next != "" || len(raw) != len(want.Jobs) {
		t.Fatalf("list everything: %d jobs, next %q, %v; want %d", len(raw), next, err, len(want.Jobs))
	}
	for i, r := range raw {
		if string(r.JSON) != compact(t, want.Jobs[i]) {
			t.Errorf("job %d listed as\n%s\nwant\n%s", i, r.JSON, compact(t, want.Jobs[i]))
		}
		j, err := s.GetJob(ctx, r.ID)
		if err != nil || marshal(t, j) != string(r.JSON) {
			t.Errorf("GetJob %s = %s, %v; want %s", r.ID, marshal(t, j), err, r.JSON)
		}
		evs, _, err := s.Events(ctx, r.ID, 0, 1000)
		if err != nil || marshal(t, evs) != marshal(t, want.Events[r.ID]) {
			t.Errorf("events of %s: %s, %v; want %s", r.ID, marshal(t, evs), err, marshal(t, want.Events[r.ID]))
		}
	}
	for _, p := range want.Pages {
		f := p.Filter
		for i, wp := range p.Pages {
			jobs, next, err := s.ListJobs(ctx, f)
			if err != nil || !slices.Equal(ids(jobs), wp.IDs) || next != wp.Next {
				t.Errorf("filter %+v page %d: %v next %q (%v); want %v next %q", f, i, ids(jobs), next, err, wp.IDs, wp.Next)
				break
			}
			f.Cursor = next
		}
	}
	nodes, err := s.Nodes(ctx)
	if err != nil || marshal(t, nodes) != marshal(t, want.Nodes) {
		t.Errorf("nodes %s, %v;\nwant %s", marshal(t, nodes), err, marshal(t, want.Nodes))
	}
	if !slices.ContainsFunc(nodes, func(n store.NodeRecord) bool { return n.SecretHash == nil }) ||
		!slices.ContainsFunc(nodes, func(n store.NodeRecord) bool { return n.SecretHash != nil }) {
		t.Error("the fixture lacks a node with or without a secret hash")
	}
	streams, err := s.Streams(ctx)
	if err != nil || marshal(t, streams) != marshal(t, want.Streams) {
		t.Errorf("streams %s, %v;\nwant %s", marshal(t, streams), err, marshal(t, want.Streams))
	}
	for h, id := range want.Keys {
		kh, _ := hex.DecodeString(h)
		if r, err := s.StreamByKey(ctx, kh); err != nil || r.Stream.ID != id {
			t.Errorf("stream of key hash %s: %s, %v; want %s", h, r.Stream.ID, err, id)
		}
	}
	presets, err := s.Presets(ctx)
	if err != nil || marshal(t, presets) != marshal(t, want.Presets) {
		t.Errorf("presets %s, %v;\nwant %s", marshal(t, presets), err, marshal(t, want.Presets))
	}
	if n := s.OutboxLen(); n != want.Outbox || n == 0 {
		t.Errorf("outbox holds %d deliveries, want %d", n, want.Outbox)
	}
	due, err := s.Outbox().Due(ctx, time.Now(), 1000)
	if err != nil || len(due) != want.Outbox || !slices.ContainsFunc(due, func(d webhook.Delivery) bool { return d.Attempts == 1 }) {
		t.Errorf("due deliveries: %d, %v; want %d, one tried once", len(due), err, want.Outbox)
	}
	tenants, err := s.Tenants(ctx)
	if err != nil || !slices.Equal(tenants, want.Tenants) {
		t.Errorf("tenants %v, %v; want %v", tenants, err, want.Tenants)
	}
	if len(want.Idem) == 0 {
		t.Fatal("the fixture has no idempotency keys")
	}
	for _, ik := range want.Idem {
		j := testJob(time.Now().UTC(), api.StatusQueued, api.QueueMedium, "")
		got, replay, err := s.CreateJob(ctx, j, stateEvent(j.CreatedAt, "", j.Status), &store.Idempotency{Key: ik.Key, BodyHash: ik.BodyHash})
		if err != nil || !replay || got.ID != ik.JobID {
			t.Errorf("replay of idempotency key %q: job %s replay %v, %v; want job %s", ik.Key, got.ID, replay, err, ik.JobID)
		}
		_, _, err = s.CreateJob(ctx, j, stateEvent(j.CreatedAt, "", j.Status), &store.Idempotency{Key: ik.Key, BodyHash: []byte("another body")})
		if !errors.Is(err, store.ErrIdempotencyReused) {
			t.Errorf("key %q with another body: %v, want ErrIdempotencyReused", ik.Key, err)
		}
	}
}

// TestOpenUnknownSchema: a database of a version this code cannot open is refused with a
// message naming both versions, and left as it was.
func TestOpenUnknownSchema(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(tx *bolt.Tx) error
		want    string
		schema  *store.SchemaError
	}{
		{"newer", putSchema(fmt.Sprint(store.SchemaVersion + 2)),
			fmt.Sprintf("database schema %d is newer than this ffrtmp master (knows %d): upgrade the binary", store.SchemaVersion+2, store.SchemaVersion),
			&store.SchemaError{Version: store.SchemaVersion + 2, Known: store.SchemaVersion, Oldest: 2}},
		{"older than migrations go", putSchema("1"),
			"database schema 1 is older than this ffrtmp master can migrate (2 and later)",
			&store.SchemaError{Version: 1, Known: store.SchemaVersion, Oldest: 2}},
		{"not a number", putSchema("two"), `database schema "two" is not a version number`, nil},
		{"jobs without a version", func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("meta")) },
			"jobs but no schema version: not a master database", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.db")
			s, err := store.Open(path, store.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			mustCreate(t, s, testJob(time.Now().UTC(), api.StatusQueued, api.QueueMedium, ""), nil)
			s.Close()
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(tc.prepare)
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)

			s, err = store.Open(path, store.Options{NoSync: true})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), path) || !strings.HasSuffix(err.Error(), tc.want) {
				t.Errorf("error %q, want it to name %s and end in %q", err, path, tc.want)
			}
			var se *store.SchemaError
			if tc.schema != nil && (!errors.As(err, &se) || *se != *tc.schema) {
				t.Errorf("error %#v, want %#v", err, tc.schema)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("the refused database was written to")
			}
		})
	}
}

func putSchema(v string) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte(v)) }
}

// TestOpenNewDatabase: a new database starts at SchemaVersion without migrating.
func TestOpenNewDatabase(t *testing.T) {
	var logs bytes.Buffer
	path := filepath.Join(t.TempDir(), "master.db")
	s, err := store.Open(path, store.Options{NoSync: true, Logger: logTo(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if logs.Len() != 0 {
		t.Errorf("a new database logged %s", logs.String())
	}
	if meta := readMeta(t, path); len(meta) != 1 || meta["schema"] != fmt.Sprint(store.SchemaVersion) {
		t.Errorf("meta of a new database: %v, want schema %d only", meta, store.SchemaVersion)
	}
}
