package main_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// member is one master of a test cluster: its ports and folder stay across restarts.
type member struct {
	id       string
	apiPort  int
	raftAddr string
	dir      string
	args     []string
	p        *proc
}

// startCluster starts n masters (m1..mn) on loopback that form one cluster, with a short
// election timeout so failovers take a second, and returns them once each listens. extra,
// when not nil, gives a member's own further flags.
func startCluster(t *testing.T, n int, extra func(*member) []string) []*member {
	t.Helper()
	ms := make([]*member, n)
	var peers []string
	for i := range ms {
		m := &member{id: fmt.Sprintf("m%d", i+1), apiPort: freePort(t), dir: t.TempDir()}
		m.raftAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		peers = append(peers, m.id+"="+m.raftAddr)
		ms[i] = m
	}
	for _, m := range ms {
		m.args = quiet(filepath.Join(m.dir, "master.db"), "--api-key", adminKey, "--port", fmt.Sprint(m.apiPort),
			"--node-id", m.id, "--cluster-addr", m.raftAddr, "--cluster-peers", strings.Join(peers, ","),
			"--cluster-timeout", "500ms", "--webhook-secret", "cluster-test-secret", "--rtmp-port", "-1")
		if extra != nil {
			m.args = append(m.args, extra(m)...)
		}
	}
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() { m.p = launch(t, m.dir, env(), m.args...) })
	}
	wg.Wait()
	for _, m := range ms {
		m.p.waitListening(t)
	}
	return ms
}

// restart starts a member again (after a kill or stop) with the same flags and folder.
func (m *member) restart(t *testing.T) {
	t.Helper()
	m.p = launch(t, m.dir, env(), m.args...)
	m.p.waitListening(t)
}

func (m *member) alive() bool {
	select {
	case <-m.p.exited:
		return false
	default:
		return true
	}
}

// status asks m for the cluster's status.
func (m *member) status(ctx context.Context, t *testing.T) (*api.ClusterStatus, error) {
	t.Helper()
	return m.p.client(t, adminKey).ClusterStatus(ctx)
}

// waitLeader waits until a running member names a leader that is running too, and returns it.
func waitLeader(t *testing.T, ms []*member) *member {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range ms {
			if !m.alive() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := m.status(ctx, t)
			cancel()
			if err != nil || st.Leader == "" {
				continue
			}
			for _, l := range ms {
				if l.id == st.Leader && l.alive() {
					return l
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no leader among the running members within 30 s")
	return nil
}

// waitCaughtUp waits until every running member has applied the same index.
func waitCaughtUp(t *testing.T, ms []*member) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		l := waitLeader(t, ms)
		st, err := l.status(context.Background(), t)
		if err == nil {
			same, idx := true, uint64(0)
			for i, mb := range st.Members {
				if i == 0 {
					idx = mb.AppliedIndex
				}
				same = same && mb.AppliedIndex == idx && mb.State != api.MemberUnreachable
			}
			if same && idx > 0 {
				return idx
			}
			last = fmt.Sprintf("%+v", st.Members)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the members did not reach the same applied index within 30 s: %s", last)
	return 0
}

func submitVia(ctx context.Context, t *testing.T, m *member, label string) (*api.Job, error) {
	t.Helper()
	return m.p.client(t, adminKey).SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Labels: map[string]string{"seq": label}}, "")
}

// getRetry reads a job through m, retrying while m answers 503 unavailable (for at most
// 20 s).
func getRetry(t *testing.T, m *member, id string) (*api.Job, error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := m.p.client(t, adminKey).GetJob(context.Background(), id)
		if !isUnavailable(err) || time.Now().After(deadline) {
			return j, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// isUnavailable: the member answered 503 unavailable (no leader yet, or it is starting).
func isUnavailable(err error) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable && ae.Code == api.CodeUnavailable
}

// submitRetry submits through m, retrying while m answers 503 unavailable (a member that
// just started learns who leads within an election timeout), for at most 20 s.
func submitRetry(t *testing.T, m *member, label string) *api.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := submitVia(context.Background(), t, m, label)
		if err == nil {
			return j
		}
		if !isUnavailable(err) || time.Now().After(deadline) {
			t.Fatalf("submit %s through %s: %v", label, m.id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterReplicatesAndFailsOver: three real masters form a cluster; a follower takes
// submits (forwarding them to the leader) and every member reads them; the leader is
// SIGKILLed and a survivor acknowledges a submit again within seconds; the killed member
// comes back and catches up; at the end the three databases are identical.
func TestClusterReplicatesAndFailsOver(t *testing.T) {
	t.Parallel()
	ms := startCluster(t, 3, nil)
	leader := waitLeader(t, ms)
	var follower *member
	for _, m := range ms {
		if m != leader {
			follower = m
			break
		}
	}
	ctx := context.Background()
	acked := map[string]string{}
	for i := range 20 {
		// Under load an election may follow the first one: the follower may lead by now, or
		// answer 503 for a moment; either way the submit lands once.
		label := fmt.Sprintf("before-%d", i)
		acked[submitRetry(t, follower, label).ID] = label
	}
	for _, m := range ms {
		for id, label := range acked {
			j, err := getRetry(t, m, id)
			if err != nil || j.Labels["seq"] != label {
				t.Fatalf("job %s through %s: %+v, %v", id, m.id, j, err)
			}
			break
		}
	}
	// The status as any member tells it: one leader, the others followers, each with its API.
	deadline := time.Now().Add(15 * time.Second)
	for {
		leader = waitLeader(t, ms)
		for _, m := range ms {
			if m != leader {
				follower = m
				break
			}
		}
		st, err := follower.status(ctx, t)
		problem := ""
		switch {
		case err != nil:
			problem = err.Error()
		case !st.Clustered || st.Leader != leader.id || st.Member != follower.id || len(st.Members) != 3:
			problem = fmt.Sprintf("cluster status from %s: %+v", follower.id, st)
		default:
			for _, mb := range st.Members {
				want := api.MemberFollower
				if mb.ID == leader.id {
					want = api.MemberLeader
				}
				if mb.State != want || mb.APIURL == "" {
					problem = fmt.Sprintf("member %s: state %q api_url %q, want %q and its URL", mb.ID, mb.State, mb.APIURL, want)
				}
			}
		}
		if problem == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(problem)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// SIGKILL the leader; the survivors elect another and take submits again.
	leader.p.signal(t, syscall.SIGKILL)
	leader.p.wait(t, 10*time.Second)
	killed := time.Now()
	var survivors []*member
	for _, m := range ms {
		if m != leader {
			survivors = append(survivors, m)
		}
	}
	var took time.Duration
	for i := 0; ; i++ {
		m := survivors[i%len(survivors)]
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		j, err := submitVia(cctx, t, m, "after-kill")
		cancel()
		if err == nil {
			acked[j.ID] = "after-kill"
			took = time.Since(killed)
			break
		}
		// 503: no leader yet; 502: the follower's forward was in flight when the leader died
		// (its outcome unknown). Anything else is wrong.
		var ae *api.Error
		if !isUnavailable(err) && !(errors.As(err, &ae) && ae.Status == http.StatusBadGateway && ae.Code == api.CodeUnavailable) {
			t.Fatalf("submit through %s during the failover: %v; want 503 (or 502) unavailable until a leader serves", m.id, err)
		}
		if time.Since(killed) > 20*time.Second {
			t.Fatalf("no submit acknowledged within 20 s of the leader's SIGKILL: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("failover: first acknowledged submit %s after the leader's SIGKILL", took.Round(time.Millisecond))
	newLeader := waitLeader(t, survivors)
	if newLeader == leader {
		t.Fatal("the killed member still leads")
	}
	for id, label := range acked {
		j, err := getRetry(t, survivors[0], id)
		if err != nil || j.Labels["seq"] != label {
			t.Errorf("acknowledged job %s after the failover: %+v, %v", id, j, err)
		}
	}

	// The killed member restarts, rejoins and catches up.
	leader.restart(t)
	for i := range 10 {
		label := fmt.Sprintf("rejoined-%d", i)
		acked[submitRetry(t, leader, label).ID] = label
	}
	waitCaughtUp(t, ms)

	// SIGKILL the whole cluster at once while 8 clients submit through every member: no
	// acknowledged submit is lost when it comes back.
	var (
		mu      sync.Mutex
		stop    = make(chan struct{})
		clients sync.WaitGroup
		during  int
	)
	for c := range 8 {
		clients.Go(func() {
			m := ms[c%len(ms)]
			cl := m.p.client(t, adminKey)
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				label := fmt.Sprintf("all-killed-%d-%d", c, n)
				j, err := cl.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Labels: map[string]string{"seq": label}}, label)
				if err != nil {
					continue // during the kill: unacknowledged, may or may not exist
				}
				mu.Lock()
				acked[j.ID] = label
				during++
				mu.Unlock()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	for _, m := range ms {
		_ = m.p.cmd.Process.Signal(syscall.SIGKILL)
	}
	for _, m := range ms {
		m.p.wait(t, 10*time.Second)
	}
	close(stop)
	clients.Wait()
	t.Logf("%d submits acknowledged in the 300 ms before the whole cluster's SIGKILL", during)
	for _, m := range ms {
		m.restart(t)
	}
	idx := waitCaughtUp(t, ms)
	t.Logf("all members at applied index %d", idx)

	stopIdentical(t, ms, func(m *member, s *store.Store) {
		for id, label := range acked {
			j, err := s.GetJob(ctx, id)
			if err != nil || j.Labels["seq"] != label {
				t.Errorf("%s's database: acknowledged job %s: %+v, %v", m.id, id, j, err)
			}
		}
	})
}

// stopIdentical stops every member with SIGTERM (each must exit 0), hands each one's
// database to check (when not nil), and fails unless all the databases have the same digest.
func stopIdentical(t *testing.T, ms []*member, check func(m *member, s *store.Store)) {
	t.Helper()
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() { m.p.signal(t, syscall.SIGTERM) })
	}
	wg.Wait()
	for _, m := range ms {
		if st := m.p.wait(t, 20*time.Second); st.ExitCode() != 0 {
			t.Fatalf("%s after SIGTERM: %v", m.id, st)
		}
	}
	digests := map[string]string{}
	for _, m := range ms {
		s, err := store.Open(filepath.Join(m.dir, "master.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.Digest()
		if err == nil && check != nil {
			check(m, s)
		}
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		digests[m.id] = d
	}
	for _, m := range ms[1:] {
		if digests[m.id] != digests[ms[0].id] {
			t.Fatalf("the members' databases differ: %v", digests)
		}
	}
}
