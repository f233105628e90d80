package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// metaRaftApplied is the meta key of the last raft index applied (8 bytes, big endian). It is
// written in the transaction that applies the entry, so a member restarted after a crash
// neither loses an entry nor applies one twice.
var metaRaftApplied = []byte("raft_applied")

// LogEntry is a committed raft log entry carrying a write set (the bytes Replicate was
// given on the leader).
type LogEntry struct {
	Index uint64
	Data  []byte
}

// Replicated says whether the store's writes go through Options.Replicate.
func (s *Store) Replicated() bool { return s.opts.Replicate != nil }

// AppliedIndex is the raft index of the last entry applied to this store (0: none).
func (s *Store) AppliedIndex() uint64 { return s.applied.Load() }

// ApplyLogs applies the write sets of entries, in order, in one transaction (one fsync),
// and records the last index applied in it. Entries at or below AppliedIndex are skipped:
// raft hands a restarted member entries it may have applied already. An entry with no data
// changes nothing but its index. A malformed write set fails the call with an error naming
// its index, and nothing of the call is applied.
//
// It is the raft FSM's apply, on every member including the leader, whose Replicate waits
// for it; it takes bbolt's write lock directly, not through the committer (which may be
// waiting on Replicate).
func (s *Store) ApplyLogs(entries []LogEntry) error {
	var last uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if last, err = appliedIndex(tx); err != nil {
			return err
		}
		from := last
		for _, e := range entries {
			if e.Index <= last {
				continue
			}
			if err := applyWriteSet(tx, e.Data); err != nil {
				return fmt.Errorf("apply raft log entry %d: %w", e.Index, err)
			}
			last = e.Index
		}
		if last == from {
			return nil
		}
		return tx.Bucket(bMeta).Put(metaRaftApplied, binary.BigEndian.AppendUint64(nil, last))
	})
	if err != nil {
		return err
	}
	s.applied.Store(last)
	return nil
}

// appliedIndex reads the last raft index applied from tx.
func appliedIndex(tx *bolt.Tx) (uint64, error) {
	v := tx.Bucket(bMeta).Get(metaRaftApplied)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("meta %s holds %d bytes, want 8", metaRaftApplied, len(v))
}

// loadApplied caches the applied index the database holds.
func (s *Store) loadApplied() error {
	return s.db.View(func(tx *bolt.Tx) error {
		n, err := appliedIndex(tx)
		s.applied.Store(n)
		return err
	})
}
