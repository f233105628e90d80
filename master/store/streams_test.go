package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/store"
)

func keyHash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

func testStream(name, key string) store.StreamRecord {
	now := time.Now().UTC()
	return store.StreamRecord{
		Stream: api.Stream{ID: store.NewID(now), Name: name, Preset: "abr-720p", HLS: true, Queue: api.QueueLive,
			Destinations: []string{"rtmp://a.example/live/x"}, CreatedAt: now, UpdatedAt: now},
		KeyHash: keyHash(key),
	}
}

func TestStreamsCreateLookupRotateDelete(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t, store.Options{})
	a := testStream("cam1", "key-a")
	if err := s.CreateStream(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := testStream("cam2", "key-b")
	if err := s.CreateStream(ctx, b); err != nil {
		t.Fatal(err)
	}
	dup := testStream("cam1", "key-c")
	if err := s.CreateStream(ctx, dup); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("a second cam1: %v, want ErrNameTaken", err)
	}
	sameKey := testStream("cam3", "key-a")
	if err := s.CreateStream(ctx, sameKey); err == nil {
		t.Fatal("a second stream with cam1's key hash was stored")
	}
	if err := s.CreateStream(ctx, store.StreamRecord{Stream: api.Stream{ID: "x", Name: "y"}, KeyHash: []byte("short")}); err == nil {
		t.Fatal("a key hash of 5 bytes was stored")
	}

	got, err := s.StreamByKey(ctx, keyHash("key-b"))
	if err != nil || got.Stream.ID != b.Stream.ID || got.Stream.Name != "cam2" {
		t.Fatalf("StreamByKey(key-b) = %+v, %v; want cam2", got.Stream, err)
	}
	if _, err := s.StreamByKey(ctx, keyHash("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("StreamByKey(unknown) = %v, want ErrNotFound", err)
	}
	all, err := s.Streams(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("Streams = %d, %v; want 2", len(all), err)
	}

	// Rotate: the old key stops resolving in the same commit, the new one resolves.
	tok := keyHash("play-token")
	rot, err := s.UpdateStream(ctx, a.Stream.ID, func(r *store.StreamRecord) error {
		r.KeyHash = keyHash("key-a2")
		r.PlayTokenHash = tok
		r.Stream.JobID = "job-1"
		return nil
	})
	if err != nil || rot.Stream.JobID != "job-1" {
		t.Fatalf("UpdateStream: %+v, %v", rot.Stream, err)
	}
	if _, err := s.StreamByKey(ctx, keyHash("key-a")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the rotated-out key still resolves: %v", err)
	}
	if got, err := s.StreamByKey(ctx, keyHash("key-a2")); err != nil || got.Stream.ID != a.Stream.ID || !bytes.Equal(got.PlayTokenHash, tok) {
		t.Fatalf("the new key: %+v, %v", got, err)
	}
	// A key another stream holds cannot be taken; ID and name cannot change.
	for name, fn := range map[string]func(*store.StreamRecord) error{
		"take cam2's key": func(r *store.StreamRecord) error { r.KeyHash = keyHash("key-b"); return nil },
		"rename":          func(r *store.StreamRecord) error { r.Stream.Name = "other"; return nil },
		"bad hash":        func(r *store.StreamRecord) error { r.KeyHash = nil; return nil },
	} {
		if _, err := s.UpdateStream(ctx, a.Stream.ID, fn); err == nil {
			t.Errorf("%s: UpdateStream succeeded", name)
		}
	}
	if got, _ := s.StreamByKey(ctx, keyHash("key-b")); got.Stream.ID != b.Stream.ID {
		t.Fatalf("a refused update moved cam2's key to %s", got.Stream.ID)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateStream(ctx, a.Stream.ID, func(*store.StreamRecord) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn's error: %v", err)
	}
	if _, err := s.UpdateStream(ctx, "missing", func(*store.StreamRecord) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing stream: %v", err)
	}

	if err := s.DeleteStream(ctx, b.Stream.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, b.Stream.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.StreamByKey(ctx, keyHash("key-b")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted stream's key still resolves: %v", err)
	}
	// The name is free again.
	if err := s.CreateStream(ctx, testStream("cam2", "key-d")); err != nil {
		t.Fatalf("reuse a deleted stream's name: %v", err)
	}

	// Everything is on disk: reopen the file.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err = s2.StreamByKey(ctx, keyHash("key-a2"))
	if err != nil || got.Stream.Name != "cam1" || got.Stream.JobID != "job-1" || len(got.Stream.Destinations) != 1 {
		t.Fatalf("after reopen: %+v, %v", got.Stream, err)
	}
	if got, err := s2.GetStream(ctx, a.Stream.ID); err != nil || got.Stream.Name != "cam1" {
		t.Fatalf("GetStream after reopen: %+v, %v", got.Stream, err)
	}
}

// TestStreamSecretsNotStored: a key or view field left in the record never reaches the file.
func TestStreamSecretsNotStored(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t, store.Options{})
	r := testStream("secret", "the-key")
	const key = "SECRETKEY-4f9a1c0e7b2d"
	r.Stream.StreamKey = key
	r.Stream.State = api.StreamLive
	r.Stream.IngestURL = "rtmp://host/live/"
	if err := s.CreateStream(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateStream(ctx, r.Stream.ID, func(r *store.StreamRecord) error { r.Stream.StreamKey = key; return nil }); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetStream(ctx, r.Stream.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stream.StreamKey != "" || got.Stream.State != "" || got.Stream.IngestURL != "" {
		t.Errorf("stored view fields came back: %+v", got.Stream)
	}
	s.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(key)) {
		t.Error("the stream key is in the database file")
	}
}

// TestStreamsOnOlderFile: a database written before streams existed (same schema, no stream
// buckets) opens and takes streams.
func TestStreamsOnOlderFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	job := testJob(time.Now().UTC(), api.StatusQueued, api.QueueMedium, "")
	mustCreate(t, s, job, nil)
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{"streams", "idx_streamkey"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("open a file without stream buckets: %v", err)
	}
	defer s.Close()
	if _, err := s.GetJob(ctx, job.ID); err != nil {
		t.Fatalf("the old job: %v", err)
	}
	if err := s.CreateStream(ctx, testStream("cam", "k")); err != nil {
		t.Fatal(err)
	}
}
