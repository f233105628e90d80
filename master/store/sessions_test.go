package store_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/master/store"
)

// TestSessionState: the signing secret is made once and survives a reopen; logouts are
// remembered until their session's expiry and then dropped; past the bound, a logout moves
// its key's epoch instead of growing the list.
func TestSessionState(t *testing.T) {
	defer store.SetMaxRevokedSessions(3)()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if secret, _, _, err := st.SessionCheck([]byte("id"), "k"); err != nil || secret != nil {
		t.Fatalf("a new store's secret: %x, %v; want none", secret, err)
	}
	if empty, err := st.Empty(); err != nil || !empty {
		t.Fatalf("Empty: %v, %v", empty, err)
	}
	first := bytes.Repeat([]byte{1}, 32)
	got, err := st.SessionSecret(ctx, first)
	if err != nil || !bytes.Equal(got, first) {
		t.Fatalf("first secret: %x, %v", got, err)
	}
	if got, _ := st.SessionSecret(ctx, bytes.Repeat([]byte{2}, 32)); !bytes.Equal(got, first) {
		t.Fatalf("the secret changed to %x", got)
	}
	if empty, _ := st.Empty(); !empty {
		t.Error("the session secret makes the store hold farm state (a new cluster member must start empty)")
	}

	now := time.Unix(1_800_000_000, 0)
	for i, id := range []string{"a", "b", "c"} {
		all, err := st.RevokeSession(ctx, []byte(id), "k", now.Add(time.Duration(i+1)*time.Hour), now)
		if err != nil || all {
			t.Fatalf("revoke %s: %v, all of key %v", id, err, all)
		}
	}
	// The bound is reached: the key's epoch moves on.
	if all, err := st.RevokeSession(ctx, []byte("d"), "k", now.Add(time.Hour), now); err != nil || !all {
		t.Fatalf("revoke past the bound: %v, all of key %v; want the key's epoch moved", err, all)
	}
	_, revoked, epoch, _ := st.SessionCheck([]byte("d"), "k")
	if revoked || epoch != 1 {
		t.Errorf("past the bound: revoked %v epoch %d, want not listed and epoch 1", revoked, epoch)
	}
	if _, _, other, _ := st.SessionCheck([]byte("x"), "other"); other != 0 {
		t.Errorf("another key's epoch moved to %d", other)
	}
	// "a" expired: it is dropped, and "e" fits in again.
	later := now.Add(90 * time.Minute)
	if all, err := st.RevokeSession(ctx, []byte("e"), "k", later.Add(time.Hour), later); err != nil || all {
		t.Fatalf("revoke after an expiry: %v, all of key %v", err, all)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for id, want := range map[string]bool{"a": false, "b": true, "c": true, "e": true, "never": false} {
		secret, revoked, _, err := st.SessionCheck([]byte(id), "k")
		if err != nil || revoked != want || !bytes.Equal(secret, first) {
			t.Errorf("after a reopen, session %s: revoked %v (want %v), secret %x, %v", id, revoked, want, secret, err)
		}
	}
}
