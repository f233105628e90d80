package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/master/store"
)

// TestMigrateBackup: a backup written by an older release passes CheckBackup, is migrated in
// place by MigrateBackup, and then restores as a snapshot with every job of the fixture; a
// raft snapshot must be of this schema already (members never migrate what they install).
func TestMigrateBackup(t *testing.T) {
	path, want := copyFixture(t, "schema2")
	if err := store.CheckBackup(path); err != nil {
		t.Fatalf("CheckBackup of a schema-2 backup: %v", err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := openStore(t, store.Options{})
	if err := m.Restore(bytes.NewReader(old)); err == nil || !strings.Contains(err.Error(), "schema is 2, this master's is 3") {
		t.Fatalf("a schema-2 image restored as a snapshot: %v", err)
	}

	var logs bytes.Buffer
	from, err := store.MigrateBackup(path, logTo(&logs))
	if err != nil || from != 2 {
		t.Fatalf("MigrateBackup: from %d, %v", from, err)
	}
	if !strings.Contains(logs.String(), "migrated database schema") {
		t.Errorf("the migration was not logged:\n%s", logs.String())
	}
	if from, err := store.MigrateBackup(path, logTo(&logs)); err != nil || from != store.SchemaVersion {
		t.Fatalf("MigrateBackup of a migrated backup: from %d, %v", from, err)
	}
	migrated, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Restore(bytes.NewReader(migrated)); err != nil {
		t.Fatalf("restore the migrated backup: %v", err)
	}
	counts, err := m.CountByStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for status, n := range want.Counts {
		if counts[status] != n {
			t.Errorf("%s jobs after the restore: %d, want %d", status, counts[status], n)
		}
	}
}

// TestCheckBackupRefusesNewerSchema: a backup of a newer release is refused by name and
// MigrateBackup leaves it as it was.
func TestCheckBackupRefusesNewerSchema(t *testing.T) {
	path, _ := copyFixture(t, "schema2")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(putSchema("99")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	var se *store.SchemaError
	if err := store.CheckBackup(path); !errors.As(err, &se) || !strings.Contains(err.Error(), "newer than this ffrtmp master") {
		t.Errorf("CheckBackup of a schema-99 backup: %v", err)
	}
	if _, err := store.MigrateBackup(path, nil); !errors.As(err, &se) {
		t.Errorf("MigrateBackup of a schema-99 backup: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("MigrateBackup changed a backup it refused")
	}
}
