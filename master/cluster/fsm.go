package cluster

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/ffrtmp/ffrtmp/master/store"
)

// Entry types: the first byte of every command in the raft log. A new kind of entry gets a
// new byte; a member never reinterprets an old one.
//
// entryWriteSet is followed by the database schema of the member that recorded it (uvarint)
// and the store's write set. A write set names buckets and keys of that schema's layout, so
// a member of another schema (a mixed-version cluster across a schema change) stops rather
// than apply it to a layout it was not meant for.
const entryWriteSet byte = 1

// writeSetEntry is the raft command that carries a store write set.
func writeSetEntry(writeSet []byte) []byte {
	data := make([]byte, 0, 1+binary.MaxVarintLen64+len(writeSet))
	data = append(data, entryWriteSet)
	data = binary.AppendUvarint(data, store.SchemaVersion)
	return append(data, writeSet...)
}

// A follower's database may lag raft by this much: a follower gathers the entries raft has
// committed for up to followerApplyDelay (or followerApplyMax of them) and applies them in
// one transaction, instead of one transaction (and fsync) per entry raft hands it. Nothing
// is lost by the wait: the entries are in the raft log, which a restarted member replays
// from its database's index. The leader applies at once (its writers wait for it), and a
// member flushes what it gathered before it snapshots, restores, serves as the new leader
// (Barrier) and stops.
const (
	followerApplyDelay = 20 * time.Millisecond
	followerApplyMax   = 4096
)

// fsm applies the raft log to the store. Raft calls it from one goroutine; the follower's
// gathered entries are flushed from a timer too, under mu.
type fsm struct {
	st    Store
	log   *slog.Logger
	hooks Hooks
	snaps raft.SnapshotStore
	raft  atomic.Pointer[raft.Raft] // set once raft runs: leader or not

	mu      sync.Mutex
	pending []store.LogEntry // committed, not yet applied (a follower's)
	timer   *time.Timer      // flushes pending; nil when pending is empty
}

var _ raft.BatchingFSM = (*fsm)(nil)

func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies the batch's write sets: on the leader at once, in one database
// transaction (one fsync); on a follower within followerApplyDelay, with the entries that
// follow. A member that cannot apply a committed entry must not go on with a state that
// differs from the others': it stops (a restart applies the entry again, after the fix).
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.mu.Lock()
	defer f.mu.Unlock()
	added := false
	applied := f.st.AppliedIndex()
	for _, l := range logs {
		// A restarted member is handed entries its database has (raft replays from its
		// snapshot): they are skipped before they are read, so a member upgraded across a
		// schema change does not refuse the old entries it applied before the upgrade.
		if l.Type != raft.LogCommand || len(l.Data) == 0 || l.Index <= applied {
			continue
		}
		switch l.Data[0] {
		case entryWriteSet:
			schema, n := binary.Uvarint(l.Data[1:])
			if n <= 0 {
				f.fatal(fmt.Errorf("raft entry %d: a write set without its schema version", l.Index))
			}
			if schema != store.SchemaVersion {
				f.fatal(fmt.Errorf("raft entry %d was written by a master of database schema %d and this master is schema %d: "+
					"a cluster runs one schema (upgrade every member at once across a schema change: doc/cluster.md#upgrading)",
					l.Index, schema, store.SchemaVersion))
			}
			f.pending = append(f.pending, store.LogEntry{Index: l.Index, Data: l.Data[1+n:]})
			added = true
		default:
			f.fatal(fmt.Errorf("raft entry %d: unknown entry type %d (written by a newer master?)", l.Index, l.Data[0]))
		}
	}
	if !added {
		return out
	}
	if r := f.raft.Load(); (r != nil && r.State() == raft.Leader) || len(f.pending) >= followerApplyMax {
		f.flushLocked()
	} else if f.timer == nil {
		f.timer = time.AfterFunc(followerApplyDelay, f.flush)
	}
	return out
}

// flush applies the entries gathered so far.
func (f *fsm) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushLocked()
}

func (f *fsm) flushLocked() {
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	if len(f.pending) == 0 {
		return
	}
	entries := f.pending
	start := time.Now()
	if err := f.st.ApplyLogs(entries); err != nil {
		f.fatal(fmt.Errorf("apply raft entries %d..%d: %w", entries[0].Index, entries[len(entries)-1].Index, err))
	}
	if h := f.hooks.Apply; h != nil {
		h(time.Since(start), len(entries))
	}
	clear(entries) // drop the write sets for the collector
	f.pending = entries[:0]
}

func (f *fsm) fatal(err error) {
	f.log.Error("cannot apply the replicated log; stopping this master so it does not serve a state that differs from the cluster's", "err", err)
	panic(err)
}

// Snapshot captures the database at the last applied entry; Persist writes it while raft
// goes on applying.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.flush()
	s, err := f.st.Snapshot()
	if err != nil {
		return nil, err
	}
	return &snapshot{s: s, hook: f.hooks.Snapshot, log: f.log}, nil
}

// Restore replaces the database with a snapshot: the leader's, for a follower too far behind
// for the log, or an operator's backup (raft.Restore). Raft restores the newest snapshot of
// its store, so that snapshot's index is the one the database has applied from now on (a
// backup's own index belongs to another log).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	f.flush()
	var index uint64
	if metas, err := f.snaps.List(); err == nil && len(metas) > 0 {
		index = metas[0].Index
	}
	if err := f.st.RestoreAt(rc, index); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.log.Info("database restored from the leader's snapshot", "applied_index", f.st.AppliedIndex())
	if h := f.hooks.Restore; h != nil {
		h()
	}
	return nil
}

type snapshot struct {
	s    *store.Snapshot
	hook func(bytes int64)
	log  *slog.Logger
}

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	start := time.Now()
	n, err := s.s.WriteTo(sink)
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("write snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return err
	}
	s.log.Info("snapshot written; the raft log before it is trimmed", "index", s.s.Index(), "bytes", n, "took", time.Since(start).Round(time.Millisecond))
	if s.hook != nil {
		s.hook(n)
	}
	return nil
}

func (s *snapshot) Release() { s.s.Release() }
