package tlsconf

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

// TestSelfSignedRenewal: a kept certificate is reused until it is within 30 days of expiry.
func TestSelfSignedRenewal(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name   string
		age    time.Duration // how long ago the kept certificate was made
		reused bool
	}{
		{"65 days left", 300 * 24 * time.Hour, true},
		{"25 days left", 340 * 24 * time.Hour, false},
		{"expired", 400 * 24 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			hosts := defaultHosts()
			old, err := newSelfSigned(hosts, time.Now().Add(-tt.age))
			if err != nil {
				t.Fatal(err)
			}
			if err := saveSelfSigned(old, filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey)); err != nil {
				t.Fatal(err)
			}
			got, err := selfSigned(dir, nil, log)
			if err != nil {
				t.Fatal(err)
			}
			if reused := Fingerprint(got.Leaf) == Fingerprint(old.Leaf); reused != tt.reused {
				t.Fatalf("reused = %v, want %v", reused, tt.reused)
			}
			if left := time.Until(got.Leaf.NotAfter); left < renewBefore {
				t.Fatalf("serving a certificate with %v left", left)
			}
			// What is served is what is on disk for the next start.
			again, err := selfSigned(dir, nil, log)
			if err != nil {
				t.Fatal(err)
			}
			if Fingerprint(again.Leaf) != Fingerprint(got.Leaf) {
				t.Fatal("the served certificate was not kept")
			}
		})
	}
}
