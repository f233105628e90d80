package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

var rtmpAddrRe = regexp.MustCompile(`msg="master listening" .*rtmp=(\S+)`)

// TestClusterLiveStreamFailover: every master of a cluster runs an RTMP ingest; a publisher
// pushes to a follower's, the stream goes live through the leader; the leader is SIGKILLed,
// and the stream stays live with the same job well past the grace period (the follower's
// ingest keeps reporting it and the new leader resumes the session); when the publisher
// stops, the new leader ends the session.
func TestClusterLiveStreamFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes for about 20 s")
	}
	t.Parallel()
	dir := t.TempDir()
	const adminKey = "live-cluster-admin-key"
	env := isolatedEnv(dir)
	var masters []*chaosProc
	var peers, urls []string
	for i := range 3 {
		id := fmt.Sprintf("m%d", i+1)
		raft := fmt.Sprintf("127.0.0.1:%d", chaosPort(t))
		peers = append(peers, id+"="+raft)
		urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d", chaosPort(t)))
		mdir := filepath.Join(dir, id)
		if err := os.MkdirAll(mdir, 0o700); err != nil {
			t.Fatal(err)
		}
		masters = append(masters, &chaosProc{name: id, dir: mdir, env: env, args: []string{"master", "--db", filepath.Join(mdir, "master.db"),
			"--listen", "127.0.0.1", "--port", strings.TrimPrefix(urls[i], "http://127.0.0.1:"), "--metrics-addr", "", "--rate-limit", "0",
			"--api-key", adminKey, "--node-id", id, "--cluster-addr", raft, "--cluster-timeout", "500ms",
			"--webhook-secret", "live", "--rtmp-port", "0", "--live-grace", "3s"}})
	}
	for _, m := range masters {
		m.args = append(m.args, "--cluster-peers", strings.Join(peers, ","))
		m.start(t)
	}
	rtmpOf := map[string]string{}
	for _, m := range masters {
		runWaitFor(t, 30*time.Second, m.name+"'s RTMP address", func() bool {
			if mm := rtmpAddrRe.FindStringSubmatch(m.stderr.String()); mm != nil {
				rtmpOf[m.name] = mm[1]
				return true
			}
			return false
		})
	}
	admin, err := api.NewClient(strings.Join(urls, ","), adminKey, api.WithTimeout(10*time.Second), api.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var leader string
	runWaitFor(t, 30*time.Second, "a leader", func() bool {
		st, err := admin.ClusterStatus(ctx)
		leader = ""
		if err == nil {
			leader = st.Leader
		}
		return leader != ""
	})
	var stream *api.Stream
	runWaitFor(t, 30*time.Second, "the stream created", func() bool {
		stream, err = admin.CreateStream(ctx, api.StreamRequest{Name: "cam1", Preset: "abr-480p"})
		return err == nil
	})
	var follower *chaosProc
	for _, m := range masters {
		if m.name != leader {
			follower = m
			break
		}
	}
	pub := startLivePublisher(t, "rtmp://"+rtmpOf[follower.name]+"/live/"+stream.StreamKey, 320, 240, 120)
	var live *api.Stream
	runWaitFor(t, 30*time.Second, "the stream live through "+follower.name+"'s ingest", func() bool {
		live, err = admin.GetStream(ctx, stream.ID)
		return err == nil && live.State == api.StreamLive && live.JobID != ""
	})

	for _, m := range masters {
		if m.name == leader {
			t.Logf("SIGKILL leader %s; the publisher is on %s", leader, follower.name)
			m.kill(t)
		}
	}
	// Well past the 3 s grace: the session went on under the new leader.
	time.Sleep(8 * time.Second)
	if pub.ended() {
		t.Fatalf("the publisher on %s was cut off by the leader's failover: %v", follower.name, pub.err)
	}
	var after *api.Stream
	runWaitFor(t, 20*time.Second, "the stream read after the failover", func() bool {
		after, err = admin.GetStream(ctx, stream.ID)
		return err == nil
	})
	if after.State != api.StreamLive || after.JobID != live.JobID {
		t.Fatalf("after the failover the stream is %s with job %q; want live with its job %s", after.State, after.JobID, live.JobID)
	}
	j, err := admin.GetJob(ctx, live.JobID)
	if err != nil || j.Status.Terminal() {
		t.Fatalf("the live job after the failover: %+v, %v; want it going", j, err)
	}

	// The publisher leaves: the new leader hears it from the follower's ingest and, after the
	// grace, ends the session.
	pub.cancel()
	<-pub.done
	runWaitFor(t, 30*time.Second, "the stream idle after its publisher left", func() bool {
		s, err := admin.GetStream(ctx, stream.ID)
		return err == nil && s.State == api.StreamIdle
	})
	for _, m := range masters {
		if m.alive() {
			m.signal(t, syscall.SIGTERM)
		}
	}
}
