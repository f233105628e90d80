package clusterbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/bench/masterbench"
)

// member is one master of a benchmark cluster: its ports and folder stay across restarts.
type member struct {
	id       string
	url      string // its API, http://127.0.0.1:port
	raftAddr string
	dir      string
	args     []string
	starts   int
	m        *masterbench.Master // the running process; nil before the first start
	client   *api.Client         // status questions, with a short timeout
}

func (mb *member) alive() bool { return mb.m != nil && !mb.m.Exited() }

// cluster is n ffrtmp-master child processes on loopback that form one cluster.
type cluster struct {
	bin     string
	members []*member
}

// startCluster starts n members (m1..mn) with their databases under dir, waits until each
// listens and one leads. timeout is --cluster-timeout; extra flags go to every member.
func startCluster(ctx context.Context, bin, dir string, n int, timeout time.Duration, extra ...string) (*cluster, error) {
	c := &cluster{bin: bin}
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	var peers []string
	for i := range n {
		apiPort, raftPort := ports[2*i], ports[2*i+1]
		mb := &member{id: fmt.Sprintf("m%d", i+1), dir: filepath.Join(dir, fmt.Sprintf("m%d", i+1)),
			url: fmt.Sprintf("http://127.0.0.1:%d", apiPort), raftAddr: fmt.Sprintf("127.0.0.1:%d", raftPort)}
		mb.client, err = api.NewClient(mb.url, masterbench.APIKey, api.WithHTTPClient(&http.Client{Timeout: 2 * time.Second}),
			api.WithUserAgent("ffrtmp-bench-cluster"))
		if err != nil {
			return nil, err
		}
		// --port after StartMaster's own --port 0: the last one counts. A member keeps its
		// port across restarts, as the others remember the leader's API URL.
		mb.args = append([]string{"--port", fmt.Sprint(apiPort), "--node-id", mb.id, "--cluster-addr", mb.raftAddr,
			"--cluster-timeout", timeout.String()}, extra...)
		peers = append(peers, mb.id+"="+mb.raftAddr)
		c.members = append(c.members, mb)
	}
	for _, mb := range c.members {
		mb.args = append(mb.args, "--cluster-peers", strings.Join(peers, ","))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, mb := range c.members {
		wg.Go(func() { errs[i] = c.start(ctx, mb) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.stop()
		return nil, err
	}
	if _, err := c.leader(ctx, 60*time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// start runs mb (again), with a log of its own per start, and waits until it listens.
func (c *cluster) start(ctx context.Context, mb *member) error {
	if err := os.MkdirAll(mb.dir, 0o755); err != nil {
		return err
	}
	mb.starts++
	log := filepath.Join(mb.dir, fmt.Sprintf("master-%d.log", mb.starts))
	m, err := masterbench.StartMaster(ctx, c.bin, filepath.Join(mb.dir, "master.db"), log, mb.args...)
	if err != nil {
		return fmt.Errorf("start member %s: %w", mb.id, err)
	}
	mb.m = m
	return nil
}

// procs are the members' processes, for CPU accounting.
func (c *cluster) procs() []*masterbench.Master {
	var ms []*masterbench.Master
	for _, mb := range c.members {
		ms = append(ms, mb.m)
	}
	return ms
}

// stop stops the running members (SIGTERM), joining their errors.
func (c *cluster) stop() error {
	errs := make([]error, len(c.members))
	var wg sync.WaitGroup
	for i, mb := range c.members {
		if !mb.alive() {
			continue
		}
		wg.Go(func() {
			if err := mb.m.Stop(); err != nil {
				errs[i] = fmt.Errorf("member %s: %w", mb.id, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// leader waits until a running member names a leader that is running too and serves the
// farm (a new leader answers 503 for a moment while its services start), and returns it.
func (c *cluster) leader(ctx context.Context, within time.Duration) (*member, error) {
	deadline := time.Now().Add(within)
	var last string
	for {
		for _, mb := range c.members {
			if !mb.alive() {
				continue
			}
			st, err := mb.client.ClusterStatus(ctx)
			switch {
			case err != nil:
				last = fmt.Sprintf("%s: %v", mb.id, err)
				continue
			case st.Leader == "":
				last = fmt.Sprintf("%s knows no leader", mb.id)
				continue
			}
			last = fmt.Sprintf("%s names %s, which is down", mb.id, st.Leader)
			for _, l := range c.members {
				if l.id != st.Leader || !l.alive() {
					continue
				}
				if _, err := l.client.ListJobs(ctx, api.ListJobsOptions{Limit: 1}); err != nil {
					last = fmt.Sprintf("leader %s does not serve yet: %v", l.id, err)
					break
				}
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no leader among the running members within %s (last: %s)", within, last)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// follower returns a running member that does not lead.
func (c *cluster) follower(ctx context.Context) (*member, error) {
	l, err := c.leader(ctx, 30*time.Second)
	if err != nil {
		return nil, err
	}
	for _, mb := range c.members {
		if mb != l && mb.alive() {
			return mb, nil
		}
	}
	return nil, errors.New("no running follower")
}

// caughtUp waits until the leader sees every member reachable at one applied index, and
// returns it.
func (c *cluster) caughtUp(ctx context.Context, within time.Duration) (uint64, error) {
	deadline := time.Now().Add(within)
	var last string
	for {
		l, err := c.leader(ctx, time.Until(deadline))
		if err != nil {
			return 0, fmt.Errorf("wait for the members to catch up: %w", err)
		}
		st, err := l.client.ClusterStatus(ctx)
		if err == nil {
			same := len(st.Members) == len(c.members)
			var idx uint64
			for i, ms := range st.Members {
				if i == 0 {
					idx = ms.AppliedIndex
				}
				same = same && ms.AppliedIndex == idx && ms.State != api.MemberUnreachable
			}
			if same && idx > 0 {
				return idx, nil
			}
			last = describe(st.Members)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the members did not reach one applied index within %s: %s", within, last)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

func describe(ms []api.ClusterMember) string {
	var parts []string
	for _, m := range ms {
		s := fmt.Sprintf("%s %s applied %d", m.ID, m.State, m.AppliedIndex)
		if m.Error != "" {
			s += " (" + m.Error + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// logs names the members' log files, for error messages.
func (c *cluster) logs() string {
	var ls []string
	for _, mb := range c.members {
		if mb.m != nil {
			ls = append(ls, mb.m.LogPath)
		}
	}
	return strings.Join(ls, " ")
}

// freePorts returns n loopback ports free now (held open together, so they differ).
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
