package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Snapshot is the store's state at one raft index, held open by a read transaction: later
// applies do not change it. Release it when done; while it is held bbolt cannot grow its
// memory map (a write that needs to waits), and Close waits for it.
type Snapshot struct {
	tx    *bolt.Tx
	index uint64
	once  sync.Once
}

// Snapshot captures the store's state now. The raft FSM calls it between applies, so it is
// exactly the state at AppliedIndex.
func (s *Store) Snapshot() (*Snapshot, error) {
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	n, err := appliedIndex(tx)
	if err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return &Snapshot{tx: tx, index: n}, nil
}

// Index is the raft index of the last entry the snapshot holds.
func (sn *Snapshot) Index() uint64 { return sn.index }

// WriteTo writes the snapshot as a complete bbolt database file (what Restore reads). It may
// run while the store goes on applying entries.
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) {
	n, err := sn.tx.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("write snapshot at raft index %d: %w", sn.index, err)
	}
	return n, nil
}

// Release ends the snapshot's read transaction; it may be called more than once.
func (sn *Snapshot) Release() { sn.once.Do(func() { sn.tx.Rollback() }) }

// Restore replaces the store's whole content with the snapshot r holds (what
// Snapshot.WriteTo wrote), in one transaction: readers see the old state or the new one,
// never a mix. The snapshot is spooled to a temporary file beside the database first; one
// that is not a complete database of this code's schema is refused and changes nothing.
func (s *Store) Restore(r io.Reader) error { return s.RestoreAt(r, 0) }

// RestoreAt is Restore for a snapshot that raft holds at index (not 0): the database then
// says it has applied index, whatever the file says. An operator's backup restored into a
// cluster (raft.Restore) was written at another index of another log, or by a single master.
func (s *Store) RestoreAt(r io.Reader, index uint64) (err error) {
	f, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".restore-*")
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore snapshot: spool to %s: %w", tmp, err)
	}
	snap, err := bolt.Open(tmp, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("restore snapshot: not a database: %w", err)
	}
	defer snap.Close()

	// A damaged file can make bbolt panic (or fault on a page past its end) while reading:
	// that is a refused snapshot, and the live transaction is rolled back by bbolt.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("restore snapshot: damaged database: %v", p)
		}
	}()
	var applied uint64
	err = snap.View(func(st *bolt.Tx) error {
		if err := checkSnapshot(st, tmp, false); err != nil {
			return err
		}
		var err error
		if applied, err = appliedIndex(st); err != nil {
			return err
		}
		if index != 0 {
			applied = index
		}
		return s.db.Update(func(tx *bolt.Tx) error {
			if err := replaceAll(tx, st); err != nil {
				return err
			}
			return tx.Bucket(bMeta).Put(metaRaftApplied, binary.BigEndian.AppendUint64(nil, applied))
		})
	})
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	s.applied.Store(applied)
	return nil
}

// checkSnapshot refuses a snapshot file shorter than its database says (cut off in
// transfer) or of another schema than this code's (older: one this code migrates, with
// older).
func checkSnapshot(st *bolt.Tx, path string, older bool) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() < st.Size() {
		return fmt.Errorf("damaged database: %d bytes, its header says %d", fi.Size(), st.Size())
	}
	if st.Bucket(bMeta) == nil {
		return errors.New("not a master database (no meta bucket)")
	}
	version, _, err := schemaOf(st)
	if err != nil {
		return err
	}
	switch {
	case older && version >= oldestSchema && version <= SchemaVersion:
	case version > SchemaVersion || (older && version < oldestSchema):
		return &SchemaError{Version: version, Known: SchemaVersion, Oldest: oldestSchema}
	case version != SchemaVersion:
		return fmt.Errorf("the snapshot's database schema is %d, this master's is %d", version, SchemaVersion)
	}
	return nil
}

// replaceAll empties tx and copies every bucket of src into it.
func replaceAll(tx, src *bolt.Tx) error {
	var names [][]byte
	err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, bytes.Clone(name))
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := tx.DeleteBucket(name); err != nil {
			return fmt.Errorf("delete bucket %q: %w", name, err)
		}
	}
	err = src.ForEach(func(name []byte, b *bolt.Bucket) error {
		dst, err := tx.CreateBucket(name)
		if err != nil {
			return fmt.Errorf("create bucket %q: %w", name, err)
		}
		dst.FillPercent = fillPercent(name)
		return copyBucket(dst, b)
	})
	if err != nil {
		return err
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// copyBucket copies src's keys, values, sequence and nested buckets into dst.
func copyBucket(dst, src *bolt.Bucket) error {
	if err := dst.SetSequence(src.Sequence()); err != nil {
		return err
	}
	return src.ForEach(func(k, v []byte) error {
		if v == nil {
			if nested := src.Bucket(k); nested != nil {
				d, err := dst.CreateBucket(k)
				if err != nil {
					return fmt.Errorf("create bucket %q: %w", k, err)
				}
				return copyBucket(d, nested)
			}
		}
		return dst.Put(k, v)
	})
}

// Digest is a hex SHA-256 of the store's content: every bucket's name and sequence and every
// key and value, in order, read in one transaction. Members that applied the same entries
// have the same digest. The meta bucket's records of the schema migrations each member ran
// at its own open are left out.
func (s *Store) Digest() (string, error) {
	h := sha256.New()
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return digestBucket(h, name, b, bytes.Equal(name, bMeta))
		})
	})
	if err != nil {
		return "", fmt.Errorf("digest: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func digestBucket(h hash.Hash, name []byte, b *bolt.Bucket, meta bool) error {
	var buf []byte
	field := func(tag byte, p []byte) {
		buf = append(buf[:0], tag)
		buf = binary.AppendUvarint(buf, uint64(len(p)))
		h.Write(buf)
		h.Write(p)
	}
	field('b', name)
	h.Write(binary.BigEndian.AppendUint64(nil, b.Sequence()))
	err := b.ForEach(func(k, v []byte) error {
		if meta && (bytes.Equal(k, metaMigrating) || bytes.HasPrefix(k, []byte("migrated/"))) {
			return nil
		}
		if v == nil {
			if nested := b.Bucket(k); nested != nil {
				return digestBucket(h, k, nested, false)
			}
		}
		field('k', k)
		field('v', v)
		return nil
	})
	if err != nil {
		return err
	}
	field('e', nil) // the bucket ends: a nested bucket's keys cannot pass for its parent's
	return nil
}

// Empty reports whether the database holds no farm state: no key in any bucket but meta
// (the schema version and such). A new cluster member must start empty: it gets the farm's
// state from the cluster.
func (s *Store) Empty() (bool, error) {
	empty := true
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if !bytes.Equal(name, bMeta) {
				if k, _ := b.Cursor().First(); k != nil {
					empty = false
				}
			}
			return nil
		})
	})
	return empty, err
}

// CheckBackup reads the whole database file at path (a backup) and says whether this
// master can take it: a master database of this schema or an older one it migrates
// (MigrateBackup, or Open), not cut off, every page readable. A cluster checks a backup with
// it before raft takes it: a snapshot that raft cannot restore stops the member.
func CheckBackup(path string) (err error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("not a database: %w", err)
	}
	defer db.Close()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("damaged database: %v", p)
		}
	}()
	return db.View(func(tx *bolt.Tx) error {
		if err := checkSnapshot(tx, path, true); err != nil {
			return err
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error { return nil })
		})
	})
}

// MigrateBackup brings the backup at path (checked by CheckBackup) to this master's schema
// in place, as Open would, and returns the schema it had. A cluster migrates a backup of an
// older release before raft hands it to every member as a snapshot: the members then
// install the same migrated state, and no member runs a migration of its own.
func MigrateBackup(path string, log *slog.Logger) (from int, err error) {
	if log == nil {
		log = slog.Default()
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, fmt.Errorf("open backup: %w", err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		from, _, err = schemaOf(tx)
		return err
	}); err != nil {
		return 0, err
	}
	if _, err := migrate(db, migrations(), migrationBatch, log); err != nil {
		return from, err
	}
	return from, db.Sync()
}

// ErrExists is returned by Replace when the database exists and the caller did not ask to
// replace it.
var ErrExists = errors.New("the database exists")

// Replaced says what Replace did.
type Replaced struct {
	Bytes int64 // copied from the backup
	// Kept is where the database that was replaced stays (path.bak-<UTC time>); "" when
	// there was none.
	Kept string
}

// Replace puts the backup at from in place of the database at path, for a master that is
// stopped: the backup is checked whole first (CheckBackup), a database a running master
// holds is refused, an existing one is replaced only with replace and kept as
// path.bak-<UTC time>, and the new file appears whole or not at all (a copy beside it,
// fsynced, renamed over it).
func Replace(from, path string, replace bool) (Replaced, error) {
	var r Replaced
	if err := CheckBackup(from); err != nil {
		return r, fmt.Errorf("backup %s: %w", from, err)
	}
	exists := false
	if _, err := os.Stat(path); err == nil {
		exists = true
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
		if errors.Is(err, bolt.ErrTimeout) {
			return r, fmt.Errorf("%s: a master is running on it: stop it first", path)
		}
		if err == nil {
			db.Close()
		}
		if !replace {
			return r, fmt.Errorf("%s: %w", path, ErrExists)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return r, err
	}
	tmp, n, err := copyBeside(from, path)
	if err != nil {
		return r, fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp)
	if exists {
		// A second name for the old file: the rename below then replaces the name, not the
		// data, and at no moment is there no database at path.
		r.Kept = path + ".bak-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Link(path, r.Kept); err != nil {
			return r, fmt.Errorf("keep the old database as %s: %w", r.Kept, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		if r.Kept != "" {
			os.Remove(r.Kept)
		}
		return Replaced{}, fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	r.Bytes = n
	return r, nil
}

// copyBeside copies from into a new temporary file beside path, fsynced, mode 0600.
func copyBeside(from, path string) (string, int64, error) {
	src, err := os.Open(from)
	if err != nil {
		return "", 0, err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".restore-*")
	if err != nil {
		return "", 0, err
	}
	n, err := io.Copy(tmp, src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", 0, err
	}
	return tmp.Name(), n, nil
}
