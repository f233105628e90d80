package farm_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// TestLeaseLongPollTimes runs the farm in a synctest bubble, whose clock moves only when
// every goroutine waits: a lease long-poll ends exactly at the farm's MaxLeaseWait, and one
// waiting when a job is submitted gets it exactly then, with no real time spent.
func TestLeaseLongPollTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st, err := store.Open(filepath.Join(t.TempDir(), "master.db"), store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		f, err := farm.New(ctx, st, farm.Config{MaxLeaseWait: 30 * time.Second, Interval: time.Hour, Aging: -1,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		caps := api.Capabilities{CPUs: 2, Encoders: []string{"libx264"}, Slots: 1}
		if _, err := f.Register(ctx, api.Registration{ID: "n1", Capabilities: caps}, "test", farm.NodeCaller{Key: "test"}); err != nil {
			t.Fatal(err)
		}

		start := time.Now()
		l, err := f.Lease(ctx, "n1", time.Hour)
		if err != nil || l != nil {
			t.Fatalf("lease with nothing queued: %+v, %v", l, err)
		}
		if waited := time.Since(start); waited != 30*time.Second {
			t.Fatalf("a lease asking for an hour waited %s, want MaxLeaseWait (30s)", waited)
		}

		start = time.Now()
		go func() {
			time.Sleep(10 * time.Second)
			if _, _, err := f.Submit(ctx, farm.Admin("test"), api.JobRequest{Scenario: "720p30-h264"}, ""); err != nil {
				t.Errorf("submit: %v", err)
			}
		}()
		l, err = f.Lease(ctx, "n1", 30*time.Second)
		if err != nil || l == nil {
			t.Fatalf("lease while a job is submitted: %+v, %v", l, err)
		}
		if waited := time.Since(start); waited != 10*time.Second {
			t.Fatalf("the waiting lease got the job after %s, want at its submit, 10s in", waited)
		}
	})
}
