package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// replicatedStore opens a store whose writes go through an fsm the way a one-member
// cluster's do (raft's commit left out): recorded, wrapped in a raft entry, applied by the fsm.
func replicatedStore(t *testing.T, wrap func([]byte) []byte) (*store.Store, *fsm) {
	t.Helper()
	f := &fsm{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var index uint64
	st, err := store.Open(filepath.Join(t.TempDir(), "master.db"), store.Options{
		NoSync: true,
		Replicate: func(_ context.Context, ws []byte) (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("%v", p)
				}
			}()
			index++
			f.ApplyBatch([]*raft.Log{{Index: index, Type: raft.LogCommand, Data: wrap(ws)}})
			f.flush()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st
	return st, f
}

func TestFSMAppliesWriteSets(t *testing.T) {
	st, _ := replicatedStore(t, writeSetEntry)
	ctx := context.Background()
	for i := range 3 {
		if err := st.PutPreset(ctx, api.Preset{Name: fmt.Sprintf("p%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := st.Presets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		if !p.BuiltIn {
			names = append(names, p.Name)
		}
	}
	if strings.Join(names, ",") != "p0,p1,p2" {
		t.Errorf("presets after three replicated writes: %v", names)
	}
	if got := st.AppliedIndex(); got != 3 {
		t.Errorf("applied index %d, want 3", got)
	}
}

// A write set recorded by a master of another schema stops this one before it touches the
// database: applying it to a layout it was not meant for would fork the state.
func TestFSMStopsOnAnotherSchema(t *testing.T) {
	for name, wrap := range map[string]func([]byte) []byte{
		"newer schema": func(ws []byte) []byte {
			return append([]byte{entryWriteSet, store.SchemaVersion + 1}, ws...)
		},
		"no schema": func([]byte) []byte { return []byte{entryWriteSet} },
		"unknown entry type": func(ws []byte) []byte {
			return append([]byte{99}, ws...)
		},
	} {
		t.Run(name, func(t *testing.T) {
			st, _ := replicatedStore(t, wrap)
			err := st.PutPreset(context.Background(), api.Preset{Name: "x"})
			if err == nil {
				t.Fatal("write applied")
			}
			want := map[string]string{
				"newer schema":       fmt.Sprintf("written by a master of database schema %d and this master is schema %d", store.SchemaVersion+1, store.SchemaVersion),
				"no schema":          "without its schema version",
				"unknown entry type": "unknown entry type 99",
			}[name]
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if got := st.AppliedIndex(); got != 0 {
				t.Errorf("applied index %d after a refused entry", got)
			}
			ps, _ := st.Presets(context.Background())
			for _, p := range ps {
				if p.Name == "x" {
					t.Error("the refused write is in the database")
				}
			}
		})
	}
}

// Entries the database has applied are skipped unread: raft replays them to a restarted
// member, which may since run a release of another schema.
func TestFSMSkipsAppliedEntries(t *testing.T) {
	st, f := replicatedStore(t, writeSetEntry)
	if err := st.PutPreset(context.Background(), api.Preset{Name: "p"}); err != nil {
		t.Fatal(err)
	}
	old := append([]byte{entryWriteSet, store.SchemaVersion - 1}, 0xff)
	f.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: old}}) // would panic if read
	f.flush()
	if got := st.AppliedIndex(); got != 1 {
		t.Errorf("applied index %d, want 1", got)
	}
}
