package main

import (
	"context"
	"regexp"
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
	c := startTestCluster(t, 3, "--rtmp-port", "0", "--rtmp-listen", "127.0.0.1", "--live-grace", "3s")
	masters := c.procs()
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
	admin := c.admin
	ctx := context.Background()
	var err error
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
