package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// TestClusterEventsThroughFollower: an event stream opened on a follower passes through its
// proxy to the leader unbuffered (a job submitted shows at once); when the leader goes, the
// stream ends, and resuming through the follower from the old leader's ID gets a reset from
// the new leader.
func TestClusterEventsThroughFollower(t *testing.T) {
	t.Parallel()
	c := startTestCluster(t, 3)
	st := c.waitFor("a leader with three members", settled("m1", "m2", "m3"))
	var follower string
	for _, id := range []string{"m1", "m2", "m3"} {
		if id != st.Leader {
			follower = id
			break
		}
	}
	fc, err := api.NewClient(c.masters[follower].url, clusterAdminKey, api.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	es, err := fc.Events(ctx, api.EventsOptions{Types: []string{api.ServerEventJob}})
	if err != nil {
		t.Fatalf("events through follower %s: %v", follower, err)
	}
	defer es.Close()
	evs := make(chan api.ServerEvent, 16)
	ended := make(chan error, 1)
	go func() {
		for {
			ev, err := es.Next()
			if err != nil {
				ended <- err
				return
			}
			evs <- ev
		}
	}()
	submitted := time.Now()
	job, err := c.admin.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Output: filepath.Join(c.dir, "events.mp4")}, "cluster-events")
	if err != nil {
		t.Fatal(err)
	}
	var last api.ServerEvent
	select {
	case ev := <-evs:
		if ev.Job == nil || ev.Job.ID != job.ID || ev.Job.Status != api.StatusQueued {
			t.Fatalf("first event through the follower: %s %s", ev.Type, ev.Data)
		}
		last = ev
		// A proxy that buffered would hold it until its buffer filled or the stream ended.
		t.Logf("the job's event came through follower %s %s after the submit", follower, time.Since(submitted).Round(time.Millisecond))
	case err := <-ended:
		t.Fatalf("the stream ended: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the job's event did not come through the follower within 5 s: the proxy buffers it")
	}

	// The leader goes: the stream through the follower ends.
	c.masters[st.Leader].proc.kill(t)
	select {
	case err := <-ended:
		if !errors.Is(err, io.EOF) {
			t.Logf("the stream ended with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the stream through the follower outlived its leader by 20 s")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		es2, err := fc.Events(ctx, api.EventsOptions{LastEventID: last.ID})
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("no event stream after the failover: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		ev, err := es2.Next()
		es2.Close()
		before, _ := strconv.ParseUint(last.ID, 10, 64)
		after, _ := strconv.ParseUint(ev.ID, 10, 64)
		if err != nil || ev.Type != api.ServerEventReset || after <= before {
			t.Fatalf("resume through the follower after the failover from %s: %s %s %v, want a reset with a higher ID", last.ID, ev.ID, ev.Type, err)
		}
		break
	}
}
