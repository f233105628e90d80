package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
)

// ErrNameTaken: another stream has the name.
var ErrNameTaken = errors.New("name taken")

// StreamRecord is a live stream as stored: the API view's durable part and the hashes of its
// secrets. The stream key and the play token themselves are never stored.
type StreamRecord struct {
	Stream api.Stream `json:"stream"`
	// KeyHash is sha256(stream key); the key index maps it to the stream's ID.
	KeyHash []byte `json:"key_hash"`
	// PlayTokenHash is sha256(play token) of the current live job; empty when none.
	PlayTokenHash []byte `json:"play_token_hash,omitempty"`
	// Ingest is the name of the API key of the standalone ingest the last session came
	// through ("" the master's own): after a restart, only its news resumes the session.
	Ingest string `json:"ingest,omitempty"`
}

// encode stores r without the view's computed and secret fields, whatever the caller left
// in them.
func (r *StreamRecord) encode() ([]byte, error) {
	c := *r
	c.Stream.StreamKey, c.Stream.State, c.Stream.IngestURL, c.Stream.UptimeSeconds = "", "", "", 0
	v, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode stream %s: %w", r.Stream.ID, err)
	}
	return v, nil
}

func decodeStream(k, v []byte) (StreamRecord, error) {
	var r StreamRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("decode stream %s: %w", k, err)
	}
	return r, nil
}

// getStream reads stream id from the streams bucket.
func getStream(streams getter, id string) (StreamRecord, error) {
	v := streams.Get([]byte(id))
	if v == nil {
		return StreamRecord{}, ErrNotFound
	}
	return decodeStream([]byte(id), v)
}

func checkKeyHash(h []byte) error {
	if len(h) != sha256.Size {
		return fmt.Errorf("stream key hash of %d bytes, want %d", len(h), sha256.Size)
	}
	return nil
}

// CreateStream stores a new stream and indexes its key hash. It fails with ErrNameTaken when
// another stream has the name.
func (s *Store) CreateStream(ctx context.Context, r StreamRecord) error {
	if r.Stream.ID == "" || r.Stream.Name == "" {
		return errors.New("create stream: no ID or name")
	}
	if err := checkKeyHash(r.KeyHash); err != nil {
		return fmt.Errorf("create stream: %w", err)
	}
	v, err := r.encode()
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *wtx) error {
		b := tx.Bucket(bStreams)
		if b.Get([]byte(r.Stream.ID)) != nil {
			return fmt.Errorf("create stream: ID %s exists", r.Stream.ID)
		}
		if tx.Bucket(bStreamKey).Get(r.KeyHash) != nil {
			return errors.New("create stream: the key hash is taken") // 2^-256: a broken RNG
		}
		// Streams are few (one per camera or channel): a scan for the name is cheaper to
		// keep right than a second index.
		err := b.ForEach(func(k, v []byte) error {
			o, err := decodeStream(k, v)
			if err != nil {
				return err
			}
			if o.Stream.Name == r.Stream.Name {
				return ErrNameTaken
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := b.Put([]byte(r.Stream.ID), v); err != nil {
			return err
		}
		return tx.Bucket(bStreamKey).Put(r.KeyHash, []byte(r.Stream.ID))
	})
}

// GetStream returns stream id; ErrNotFound when there is none.
func (s *Store) GetStream(ctx context.Context, id string) (StreamRecord, error) {
	var r StreamRecord
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		r, err = getStream(tx.Bucket(bStreams), id)
		return err
	})
	return r, err
}

// StreamByKey returns the stream whose key hashes to keyHash, through the key index (one
// lookup however many streams there are); ErrNotFound when no stream has that key.
func (s *Store) StreamByKey(ctx context.Context, keyHash []byte) (StreamRecord, error) {
	var r StreamRecord
	err := s.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bStreamKey).Get(keyHash)
		if id == nil {
			return ErrNotFound
		}
		var err error
		r, err = getStream(tx.Bucket(bStreams), string(id))
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("key index names stream %s, which is gone", id)
		}
		return err
	})
	return r, err
}

// Streams returns every stored stream in ID order.
func (s *Store) Streams(ctx context.Context) ([]StreamRecord, error) {
	var out []StreamRecord
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bStreams).ForEach(func(k, v []byte) error {
			r, err := decodeStream(k, v)
			if err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// UpdateStream changes stream id with fn inside one write transaction and returns the stream
// as written. A changed KeyHash moves the key index entry, so the old key stops resolving in
// the same commit. fn may run more than once (see update): it must change only the record it
// is given. ID and name cannot change; ErrNotFound when there is no such stream.
func (s *Store) UpdateStream(ctx context.Context, id string, fn func(*StreamRecord) error) (StreamRecord, error) {
	var out StreamRecord
	err := s.update(ctx, func(tx *wtx) error {
		old, err := getStream(tx.Bucket(bStreams), id)
		if err != nil {
			return err
		}
		r := old
		r.Stream.Destinations = append([]string(nil), old.Stream.Destinations...)
		if err := fn(&r); err != nil {
			return err
		}
		if r.Stream.ID != old.Stream.ID || r.Stream.Name != old.Stream.Name {
			return fmt.Errorf("update stream %s: ID and name cannot change", id)
		}
		if err := checkKeyHash(r.KeyHash); err != nil {
			return fmt.Errorf("update stream %s: %w", id, err)
		}
		idx := tx.Bucket(bStreamKey)
		if !bytes.Equal(r.KeyHash, old.KeyHash) {
			if idx.Get(r.KeyHash) != nil {
				return fmt.Errorf("update stream %s: the key hash is taken", id)
			}
			if err := idx.Delete(old.KeyHash); err != nil {
				return err
			}
			if err := idx.Put(r.KeyHash, []byte(id)); err != nil {
				return err
			}
		}
		v, err := r.encode()
		if err != nil {
			return err
		}
		out = r
		return tx.Bucket(bStreams).Put([]byte(id), v)
	})
	return out, err
}

// DeleteStream removes stream id and its key index entry; ErrNotFound when there is none.
func (s *Store) DeleteStream(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *wtx) error {
		r, err := getStream(tx.Bucket(bStreams), id)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bStreamKey).Delete(r.KeyHash); err != nil {
			return err
		}
		return tx.Bucket(bStreams).Delete([]byte(id))
	})
}
