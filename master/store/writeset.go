package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A write set is every mutation one batch of writes made, in order: what the leader hands
// to raft and what every member applies (ApplyLogs). Its encoding:
//
//	version byte (1) | op...
//	op: 1 put    | uvarint len(bucket) | bucket | uvarint len(key) | key | uvarint len(value) | value
//	    2 delete | uvarint len(bucket) | bucket | uvarint len(key) | key
//	    3 setseq | uvarint len(bucket) | bucket | uvarint sequence
//
// Buckets are the database's top-level buckets, which Open creates on every member. A
// future encoding (another op, nested buckets) gets a new version byte, and the decoder
// keeps reading version 1 for as long as raft logs or snapshots may hold it.
const writeSetVersion = 1

const (
	opPut    = 1
	opDelete = 2
	opSetSeq = 3
)

// writeSet accumulates the encoding of a batch's mutations.
type writeSet struct {
	buf []byte // empty until the first op; then the version byte and the ops
}

func (ws *writeSet) op(op byte, bucket []byte) {
	if len(ws.buf) == 0 {
		ws.buf = append(ws.buf, writeSetVersion)
	}
	ws.buf = append(ws.buf, op)
	ws.buf = appendBytes(ws.buf, bucket)
}

func (ws *writeSet) put(bucket, k, v []byte) {
	ws.op(opPut, bucket)
	ws.buf = appendBytes(appendBytes(ws.buf, k), v)
}

func (ws *writeSet) delete(bucket, k []byte) {
	ws.op(opDelete, bucket)
	ws.buf = appendBytes(ws.buf, k)
}

func (ws *writeSet) setSeq(bucket []byte, n uint64) {
	ws.op(opSetSeq, bucket)
	ws.buf = binary.AppendUvarint(ws.buf, n)
}

func appendBytes(b, p []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(p))), p...)
}

// applyWriteSet applies the encoded write set data in tx. An error (an unknown version or
// op, a truncated op, a bucket that does not exist) leaves tx to be rolled back.
func applyWriteSet(tx *bolt.Tx, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if data[0] != writeSetVersion {
		return fmt.Errorf("write set format %d unknown (this master reads %d)", data[0], writeSetVersion)
	}
	d := decoder{rest: data[1:]}
	for n := 0; len(d.rest) > 0; n++ {
		op := d.rest[0]
		d.rest = d.rest[1:]
		name := d.bytes()
		var b *bolt.Bucket
		if d.err == nil {
			if b = tx.Bucket(name); b == nil {
				return fmt.Errorf("write set op %d: no bucket %q", n, name)
			}
			b.FillPercent = fillPercent(name)
		}
		var err error
		switch op {
		case opPut:
			k, v := d.bytes(), d.bytes()
			if d.err == nil {
				err = b.Put(k, v)
			}
		case opDelete:
			k := d.bytes()
			if d.err == nil {
				err = b.Delete(k)
			}
		case opSetSeq:
			seq := d.uvarint()
			if d.err == nil {
				err = b.SetSequence(seq)
			}
		default:
			return fmt.Errorf("write set op %d: unknown op %d", n, op)
		}
		if d.err != nil {
			return fmt.Errorf("write set op %d: %w", n, d.err)
		}
		if err != nil {
			return fmt.Errorf("write set op %d on bucket %q: %w", n, name, err)
		}
	}
	return nil
}

var errTruncated = errors.New("truncated")

// decoder reads a write set's fields; the first error sticks.
type decoder struct {
	rest []byte
	err  error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	n, w := binary.Uvarint(d.rest)
	if w <= 0 {
		d.err = errTruncated
		return 0
	}
	d.rest = d.rest[w:]
	return n
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if uint64(len(d.rest)) < n {
		d.err = errTruncated
		return nil
	}
	p := d.rest[:n:n]
	d.rest = d.rest[n:]
	return p
}

// fillPercent is how full bbolt packs bucket name's pages: the jobs and events buckets
// only grow at their right edge (keys are ULIDs and sequence numbers), so their pages are
// packed fuller than bbolt's default.
func fillPercent(name []byte) float64 {
	if bytes.Equal(name, bJobs) || bytes.Equal(name, bEvents) {
		return 0.9
	}
	return bolt.DefaultFillPercent
}

// wtx is the write transaction the store's write closures get. Reads pass through to the
// bbolt transaction; every mutation is applied to it and, when the store replicates, also
// recorded in the write set (rec), which is what raft carries. Write closures never see the
// bbolt transaction itself, so no change can bypass the recording.
type wtx struct {
	tx      *bolt.Tx
	rec     *writeSet // nil: not recording
	buckets []*wbucket
}

// Bucket returns the top-level bucket name, nil when there is none.
func (t *wtx) Bucket(name []byte) *wbucket {
	b := t.tx.Bucket(name)
	if b == nil {
		return nil
	}
	for _, w := range t.buckets {
		if w.b == b {
			return w
		}
	}
	b.FillPercent = fillPercent(name)
	w := &wbucket{b: b, name: name, rec: t.rec}
	t.buckets = append(t.buckets, w)
	return w
}

// wbucket is a bucket of a wtx: see wtx.
type wbucket struct {
	b    *bolt.Bucket
	name []byte
	rec  *writeSet
}

// Get returns the value of k (nil: none); valid only in the transaction.
func (b *wbucket) Get(k []byte) []byte { return b.b.Get(k) }

// Cursor returns a cursor that reads the bucket (deletes go through the bucket's Delete).
func (b *wbucket) Cursor() wcursor { return wcursor{b.b.Cursor()} }

// ForEach calls fn for every key and value; fn must not change the bucket.
func (b *wbucket) ForEach(fn func(k, v []byte) error) error { return b.b.ForEach(fn) }

// Stats are the bucket's statistics.
func (b *wbucket) Stats() bolt.BucketStats { return b.b.Stats() }

// Sequence is the bucket's sequence.
func (b *wbucket) Sequence() uint64 { return b.b.Sequence() }

// Put sets k to v.
func (b *wbucket) Put(k, v []byte) error {
	if err := b.b.Put(k, v); err != nil {
		return err
	}
	if b.rec != nil {
		b.rec.put(b.name, k, v)
	}
	return nil
}

// Delete removes k (nothing when there is none).
func (b *wbucket) Delete(k []byte) error {
	if err := b.b.Delete(k); err != nil {
		return err
	}
	if b.rec != nil {
		b.rec.delete(b.name, k)
	}
	return nil
}

// NextSequence advances the bucket's sequence and returns it; it is recorded as the sequence
// it set, so a member applying the write set ends at the same number whatever it held.
func (b *wbucket) NextSequence() (uint64, error) {
	n, err := b.b.NextSequence()
	if err != nil {
		return 0, err
	}
	if b.rec != nil {
		b.rec.setSeq(b.name, n)
	}
	return n, nil
}

// SetSequence sets the bucket's sequence.
func (b *wbucket) SetSequence(n uint64) error {
	if err := b.b.SetSequence(n); err != nil {
		return err
	}
	if b.rec != nil {
		b.rec.setSeq(b.name, n)
	}
	return nil
}

// wcursor reads a wbucket; it has no Delete, which would bypass the recording.
type wcursor struct{ c *bolt.Cursor }

func (c wcursor) First() ([]byte, []byte)           { return c.c.First() }
func (c wcursor) Last() ([]byte, []byte)            { return c.c.Last() }
func (c wcursor) Next() ([]byte, []byte)            { return c.c.Next() }
func (c wcursor) Prev() ([]byte, []byte)            { return c.c.Prev() }
func (c wcursor) Seek(seek []byte) ([]byte, []byte) { return c.c.Seek(seek) }
