package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Console sessions (package auth) are tokens the master signs, so any member of a cluster can
// verify one without asking another: what they need to share is kept here and replicated
// like everything else. It lives in the meta bucket, under keys of its own, rather than in a
// new bucket: a write set naming a bucket that an older member of the same schema lacks would
// stop that member, and these few keys are not farm state a backup restore or a new member
// must care about beyond carrying them along.
var (
	metaSessionSecret  = []byte("session/secret")   // 32 random bytes, created at the first login
	metaSessionRevoked = []byte("session/revoked/") // + session ID → its expiry (8 bytes, BE unix seconds)
	metaSessionEpoch   = []byte("session/epoch/")   // + API key name → the key's session epoch (8 bytes, BE)
)

// MaxRevokedSessions bounds the logged-out sessions remembered until they expire. Past it, a
// logout ends every session of its API key instead (the key's epoch moves on), so a client
// that logs in and out in a loop cannot grow the list.
const MaxRevokedSessions = 10_000

// maxRevoked is MaxRevokedSessions; tests lower it.
var maxRevoked = MaxRevokedSessions

// SessionSecret returns the key that signs console sessions, storing fresh (32 random bytes
// the caller made) as that key when there is none yet. Every member of a cluster gets the
// same one.
func (s *Store) SessionSecret(ctx context.Context, fresh []byte) ([]byte, error) {
	var secret []byte
	err := s.view(func(tx *bolt.Tx) error {
		secret = bytes.Clone(tx.Bucket(bMeta).Get(metaSessionSecret))
		return nil
	})
	if err != nil || secret != nil {
		return secret, err
	}
	if len(fresh) < 32 {
		return nil, errors.New("session secret: want at least 32 bytes")
	}
	err = s.update(ctx, func(tx *wtx) error {
		meta := tx.Bucket(bMeta)
		if cur := meta.Get(metaSessionSecret); cur != nil {
			secret = bytes.Clone(cur)
			return nil
		}
		secret = fresh
		return meta.Put(metaSessionSecret, fresh)
	})
	return secret, err
}

// SessionCheck reads, in one transaction, what verifying a session needs: the signing
// secret (nil before the first login), whether session id was logged out, and the session
// epoch of API key name.
func (s *Store) SessionCheck(id []byte, name string) (secret []byte, revoked bool, epoch uint64, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		secret = bytes.Clone(meta.Get(metaSessionSecret))
		revoked = meta.Get(append(bytes.Clone(metaSessionRevoked), id...)) != nil
		if v := meta.Get(append(bytes.Clone(metaSessionEpoch), name...)); len(v) == 8 {
			epoch = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return secret, revoked, epoch, err
}

// RevokeSession remembers that session id of API key name was logged out, until its expiry;
// entries expired at now are dropped on the way. When MaxRevokedSessions are remembered
// already, it ends every session of the key instead (its epoch moves on) and says so.
func (s *Store) RevokeSession(ctx context.Context, id []byte, name string, until, now time.Time) (allOfKey bool, err error) {
	err = s.update(ctx, func(tx *wtx) error {
		allOfKey = false
		meta := tx.Bucket(bMeta)
		var expired [][]byte
		live := 0
		c := meta.Cursor()
		for k, v := c.Seek(metaSessionRevoked); k != nil && bytes.HasPrefix(k, metaSessionRevoked); k, v = c.Next() {
			if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < now.Unix() {
				expired = append(expired, bytes.Clone(k))
				continue
			}
			live++
		}
		for _, k := range expired {
			if err := meta.Delete(k); err != nil {
				return err
			}
		}
		if live < maxRevoked {
			return meta.Put(append(bytes.Clone(metaSessionRevoked), id...), binary.BigEndian.AppendUint64(nil, uint64(until.Unix())))
		}
		allOfKey = true
		ek := append(bytes.Clone(metaSessionEpoch), name...)
		var epoch uint64
		if v := meta.Get(ek); len(v) == 8 {
			epoch = binary.BigEndian.Uint64(v)
		}
		return meta.Put(ek, binary.BigEndian.AppendUint64(nil, epoch+1))
	})
	return allOfKey, err
}
