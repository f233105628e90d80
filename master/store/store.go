// Package store keeps the master's state in a bbolt file: jobs with their events and
// indexes, nodes, presets, live streams, idempotency keys and the webhook outbox.
//
// Every write goes through one committer goroutine that folds the writes waiting at that
// moment into a single transaction (group commit): a returned write is on disk (fsync), and
// concurrent submitters share the fsync instead of queueing for one each.
//
// # Replication
//
// Replicated masters (hashicorp/raft) need every member to make the same state changes. Two
// designs were open: log commands (submit, lease, complete...) that every member's FSM
// executes, or log the leader's recorded write set. The store logs write sets. The write
// closures stay the single implementation of every change, executed once, on the leader,
// against the state every member holds; what they read (the clock, the job's version, the
// idempotency keys) is settled there, so nothing in the apply path can decide differently on
// another member, and no write needs a "clustered" copy or a command type of its own.
//
// A write closure gets a *wtx, never a *bolt.Tx: reads pass through, and every mutation
// (Put, Delete, NextSequence recorded as the sequence it set, SetSequence) is applied and,
// with Options.Replicate set, appended to the batch's write set (writeset.go gives the
// encoding). The committer then rolls the transaction back and hands the write set to
// Replicate, which returns once raft has committed it and this store has applied it. Every
// member, the leader included, changes state only through ApplyLogs, which applies a run of
// committed entries in one transaction (one fsync) and stores the last raft index applied
// (meta "raft_applied") in that same transaction: a member restarted after a crash skips the
// entries it has and applies the rest. Snapshot and Restore move the whole database for raft
// snapshots; Digest lets members (and tests) compare their state. Migrations stay local:
// every member runs them at Open, as a single master does. Without Replicate the committer
// commits its transaction itself, exactly as a single master always has.
//
// # Schema versions and migrations
//
// A job is stored as its API JSON behind a small binary header (record.go), so a listing
// copies the JSON out without decoding it. The price is that the stored bytes are the wire
// format: when the API's job changes shape (a field renamed), or a record gains something
// the API does not show, the records already on disk must follow. The database therefore
// has one version, SchemaVersion, kept under "schema" in the meta bucket (ASCII decimal, as
// schema 2 wrote it, so older binaries still read it and refuse a newer file). It says what
// every record and index looks like; records carry no version of their own beyond the job
// header's format byte, which makes a record of an unknown format an error rather than
// garbage. A per-record version would let old and new records live side by side, but then
// every reader (the raw listing above all) would have to convert on the fly forever; one
// version for the file keeps the readers simple, and migrations are what pay for it.
//
// Open brings an older database to SchemaVersion before anything else reads it, running the
// steps of migrations() in order. A step runs in batches, one transaction each, with its
// cursor saved in the same transaction: a step cut short by a crash resumes at its last
// committed batch on the next open, and a batch redone does no harm. The step's end, the new
// version and a record of the step (meta "migrated/NNN") commit together. Each step is logged
// with its duration. A database newer than the code is refused without being touched
// (*SchemaError names both versions); so is one older than oldestSchema.
//
// Rules for a new layout: add a step named for what it does, bump SchemaVersion, never
// change a released step, and keep steps cheap at open. A step that walks only keys or
// indexes handles a million jobs in seconds (indexTenants: about 4.5 s with fsync per batch
// of 100,000 on a 1M-job, 500 MiB file); a step that rewrites every job costs a decode and
// an encode per job: measure it on a 1M-job database (TestMigrateMillionJobs) and size its
// batches so the startup it adds is acceptable. Buckets that only hold what is written
// from now on need no step: Open creates them. The same discipline serves the replicated
// log later: an entry type that changes shape gets a new version, and the apply path keeps
// reading the old one for as long as logs or snapshots may hold it.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Errors callers switch on.
var (
	ErrNotFound = errors.New("not found")
	ErrClosed   = errors.New("store closed")
)

var (
	bJobs      = []byte("jobs")       // id16 → record JSON
	bByStatus  = []byte("idx_status") // status \0 id16 → nil
	bByQueue   = []byte("idx_queue")  // queue \0 id16 → nil
	bByNode    = []byte("idx_node")   // node \0 id16 → nil
	bByTenant  = []byte("idx_tenant") // tenant \0 id16 → nil (jobs without a tenant: "default")
	bEvents    = []byte("events")     // id16 seq8 → event JSON
	bIdem      = []byte("idempotency")
	bNodes     = []byte("nodes")
	bPresets   = []byte("presets")
	bOutbox    = []byte("outbox") // seq8 → delivery JSON
	bMeta      = []byte("meta")
	bStreams   = []byte("streams")       // stream ID → StreamRecord JSON
	bStreamKey = []byte("idx_streamkey") // sha256(stream key) → stream ID
	allBuckets = [][]byte{bJobs, bByStatus, bByQueue, bByNode, bByTenant, bEvents, bIdem, bNodes, bPresets, bOutbox, bMeta, bStreams, bStreamKey}
)

// Options tune Open.
type Options struct {
	// NoSync skips fsync. Only for tests and benchmarks of something else: a crash loses
	// acknowledged writes.
	NoSync bool
	// OnCommit is told how long each write transaction took and how many writes it carried
	// (with Replicate: until the batch's write set was replicated and applied).
	OnCommit func(d time.Duration, writes int)
	// MaxBatch caps the writes folded into one transaction (default 512).
	MaxBatch int
	// Logger is told of the schema migrations Open runs (default slog.Default()).
	Logger *slog.Logger
	// Replicate, when set, makes the store a member of a replicated cluster: a batch of
	// writes is run to record its write set, rolled back, and the write set's encoding is
	// handed to Replicate, which returns once raft has committed it and it has been applied
	// to this store through ApplyLogs (or with why not: the writers get that error). It is
	// called from the committer with no transaction open, one batch at a time, with a
	// context no writer can cancel: it must bound its own wait. Nil: writes commit locally,
	// as a single master does.
	Replicate func(ctx context.Context, writeSet []byte) error
}

// Store is the master's database. Its methods are safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	opts Options

	writes chan *write
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	applied atomic.Uint64 // the last raft index applied (meta "raft_applied")
}

type write struct {
	fn   func(tx *wtx) error
	done chan error
}

// Open opens (or creates) the database at path. A second master on the same file waits up
// to 5 s for the lock, then fails saying so.
func Open(path string, opts Options) (*Store, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         5 * time.Second,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 1 << 30, // address space only: growing past the map blocks every reader
		NoSync:          opts.NoSync,
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open database %s: another process holds it (is a master already running?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if _, err := migrate(db, migrations(), migrationBatch, log.With("db", path)); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// Buckets that hold only what is written from now on (such as the streams, once) are
	// created here and need no schema version.
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s := &Store{db: db, path: path, opts: opts, writes: make(chan *write, 4096),
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.loadApplied(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	go s.commitLoop()
	return s, nil
}

// Close finishes pending writes and closes the file.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		err = s.db.Close()
	})
	return err
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Size is the database file's size in bytes.
func (s *Store) Size() int64 {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// update runs fn in a write transaction shared with the other writes waiting now, and
// returns when that transaction is on disk. fn may run more than once (when another write of
// the same batch fails, the rest are retried) so it must depend only on tx, and record
// results in variables it resets itself. When the store replicates, fn runs on the leader
// only, and what it wrote (not fn) goes to every member.
func (s *Store) update(ctx context.Context, fn func(tx *wtx) error) error {
	w := &write{fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- w:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the write happens: wait for it even if ctx ends, so the caller never
	// reports failure for a write that landed. The one exception is a write queued while
	// Close stops the committer (the select above may pick the send even after stop is
	// closed): when the committer is gone without answering, the write never ran.
	select {
	case err := <-w.done:
		return err
	case <-s.done:
		select {
		case err := <-w.done:
			return err
		default:
			return ErrClosed
		}
	}
}

func (s *Store) commitLoop() {
	defer close(s.done)
	batch := make([]*write, 0, s.opts.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case w := <-s.writes:
			batch = append(batch, w)
		case <-s.stop:
			// Drain what was queued before Close.
			for {
				select {
				case w := <-s.writes:
					s.commit([]*write{w})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case w := <-s.writes:
				batch = append(batch, w)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// commit runs batch in one transaction. When a write fails, the transaction is rolled back,
// that write is answered with its error, and the others are committed without it.
func (s *Store) commit(batch []*write) {
	for len(batch) > 0 {
		start := time.Now()
		failed, ferr, err := s.runBatch(batch)
		if s.opts.OnCommit != nil {
			s.opts.OnCommit(time.Since(start), len(batch))
		}
		if failed < 0 {
			for _, w := range batch {
				w.done <- err // nil, or the commit's (or replication's) own error for all
			}
			return
		}
		batch[failed].done <- ferr
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

// runBatch runs batch's writes in one transaction and commits it; when the store replicates,
// it records the writes, rolls the transaction back and replicates the write set instead
// (Replicate has this store apply it through ApplyLogs, so the bolt write lock must be free
// by then). failed is the index of the write that failed (ferr), -1 when none did; err is
// the commit's or the replication's.
func (s *Store) runBatch(batch []*write) (failed int, ferr, err error) {
	failed = -1
	var rec *writeSet
	if s.opts.Replicate != nil {
		// A fresh one per attempt: Replicate's raft may hold on to the bytes it was given.
		rec = &writeSet{}
	}
	run := func(tx *bolt.Tx) error {
		t := &wtx{tx: tx, rec: rec}
		for i, w := range batch {
			if err := w.fn(t); err != nil {
				failed, ferr = i, err
				return err
			}
		}
		return nil
	}
	if rec == nil {
		err = s.db.Update(run)
		return failed, ferr, err
	}
	tx, err := s.db.Begin(true)
	if err != nil {
		return failed, ferr, err
	}
	err = func() error {
		defer tx.Rollback() // the write set, not this transaction, is what gets written
		return run(tx)
	}()
	if err != nil || len(rec.buf) == 0 {
		return failed, ferr, nil // a write failed, or nothing to write (a delete of nothing)
	}
	return failed, ferr, s.opts.Replicate(context.Background(), rec.buf)
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

// Backup writes a consistent copy of the database to w while the master keeps running.
// size, when not nil, is told the copy's length before the first byte is written.
func (s *Store) Backup(w io.Writer, size func(int64)) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
