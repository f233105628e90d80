package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/syncbuf"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// chaosProc is a child process of the chaos test: a master or a worker.
type chaosProc struct {
	name   string
	args   []string
	dir    string
	env    []string
	cmd    *exec.Cmd
	stderr *syncbuf.Buffer
	exited chan struct{}
}

func (p *chaosProc) start(t *testing.T) {
	t.Helper()
	p.stderr, p.exited = &syncbuf.Buffer{}, make(chan struct{})
	p.cmd = exec.Command(bin, p.args...)
	p.cmd.Dir, p.cmd.Env, p.cmd.Stderr = p.dir, p.env, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	cmd, exited, stderr := p.cmd, p.exited, p.stderr
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("%s %s\nstderr (last 4 KiB):\n%s", p.name, strings.Join(p.args, " "), tail(stderr.String(), 4096))
		}
	})
}

func (p *chaosProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: signal %v: %v", p.name, sig, err)
	}
}

func (p *chaosProc) kill(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGKILL)
	<-p.exited
}

func (p *chaosProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func chaosPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The model of one job for porcupine. A job's state is the set of statuses it may be in:
// between two client operations the farm moves it on its own (a worker leases, runs and
// finishes it), so the model allows any move out of a status that is not terminal, except to
// canceled, which only a client's cancel causes.
const (
	sAbsent = 1 << iota
	sQueued
	sAssigned
	sRunning
	sRetrying
	sCompleted
	sFailed
	sCanceled
)

var statusBit = map[api.Status]int{api.StatusQueued: sQueued, api.StatusAssigned: sAssigned, api.StatusRunning: sRunning,
	api.StatusRetrying: sRetrying, api.StatusCompleted: sCompleted, api.StatusFailed: sFailed, api.StatusCanceled: sCanceled}

const (
	terminal   = sCompleted | sFailed | sCanceled
	cancelable = sQueued | sAssigned | sRunning | sRetrying
)

// reach is every status a job in one of s may be in later without a client's doing.
func reach(s int) int {
	if s&cancelable != 0 {
		s |= cancelable | sCompleted | sFailed
	}
	return s
}

type opKind int

const (
	opSubmit opKind = iota
	opGet
	opCancel
)

type chaosIn struct {
	kind  opKind
	label string // the job's partition: its label and idempotency key
}

type chaosOut struct {
	unknown  bool       // the request may or may not have happened
	notFound bool       // get: 404
	conflict bool       // cancel: 409, the job had ended
	status   api.Status // get or cancel: the job's status in the answer
}

var jobModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, op := range history {
			l := op.Input.(chaosIn).label
			by[l] = append(by[l], op)
		}
		out := make([][]porcupine.Operation, 0, len(by))
		for _, ops := range by {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return sAbsent },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(int), input.(chaosIn), output.(chaosOut)
		switch in.kind {
		case opSubmit:
			if s&sAbsent != 0 {
				if out.unknown {
					return true, s | sQueued
				}
				return true, sQueued
			}
			return false, s
		case opGet:
			if out.notFound {
				return s&sAbsent != 0, sAbsent
			}
			b := statusBit[out.status]
			return reach(s)&b != 0, b
		case opCancel:
			r := reach(s)
			switch {
			case out.unknown:
				if r&cancelable != 0 {
					return true, r | sCanceled
				}
				return true, r
			case out.conflict:
				return r&terminal != 0, r & terminal
			case out.status == api.StatusCanceled:
				return r&cancelable != 0, sCanceled
			}
			return false, s
		}
		return false, s
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(chaosIn), output.(chaosOut)
		return fmt.Sprintf("%v %s → %+v", in.kind, in.label, out)
	},
}

// history records operations as clients see them.
type history struct {
	mu  sync.Mutex
	ops []porcupine.Operation
}

func (h *history) add(client int, in chaosIn, call, ret int64, out chaosOut) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

// never is the return time of an operation whose outcome is unknown: it may take effect at
// any point after its call.
const never = int64(1) << 62

// TestClusterChaos: three real masters, two real workers running short synthetic jobs and 16
// clients submitting, reading and canceling, while the leader is SIGKILLed (twice), a
// follower is SIGKILLed and a member is SIGSTOPped for longer than the election timeout;
// everything killed comes back. At the end every acknowledged job exists and ended exactly
// once, its history has no gap and no running job was started over, the clients' history is
// linearizable (porcupine) and the three databases are identical.
func TestClusterChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos test runs for about a minute")
	}
	t.Parallel()
	dir := t.TempDir()
	const adminKey, workerKey = clusterAdminKey, "chaos-worker-key"
	keys := filepath.Join(dir, "keys.yaml")
	if err := os.WriteFile(keys, fmt.Appendf(nil, "keys:\n  - {name: workers, role: worker, sha256: %q}\n", auth.HashKey(workerKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := isolatedEnv(dir)
	c := startTestCluster(t, 3, "--keys-file", keys, "--heartbeat-timeout", "30s")
	masters := c.procs()
	all := c.urls()
	quiet := api.WithLogger(slog.New(slog.DiscardHandler)) // moves between masters are the test's point
	admin, err := api.NewClient(all, adminKey, api.WithTimeout(10*time.Second), quiet)
	if err != nil {
		t.Fatal(err)
	}
	leaderOf := func() *chaosProc {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := admin.ClusterStatus(ctx)
			cancel()
			if err == nil {
				for _, m := range masters {
					if m.name == st.Leader && m.alive() {
						return m
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("no leader within 30 s")
		return nil
	}
	leaderOf()

	out := filepath.Join(dir, "out")
	var workers []*chaosProc
	for i := range 2 {
		wdir := filepath.Join(dir, fmt.Sprintf("w%d", i+1))
		workers = append(workers, &chaosProc{name: fmt.Sprintf("worker %d", i+1), dir: dir, env: env, args: []string{"worker", "--master", all,
			"--api-key", workerKey, "--data-dir", wdir, "--output-roots", out, "--max-concurrent-jobs", "2", "--metrics-port", "0",
			"--name", fmt.Sprintf("w%d", i+1)}})
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, w := range workers {
		w.start(t)
	}

	var (
		h       history
		mu      sync.Mutex
		acked   = map[string]string{} // label → job ID
		labels  []string
		stop    = make(chan struct{})
		clients sync.WaitGroup
	)
	for c := range 16 {
		cl, err := api.NewClient(all, adminKey, api.WithTimeout(5*time.Second), quiet)
		if err != nil {
			t.Fatal(err)
		}
		clients.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(80+rng.IntN(80)) * time.Millisecond):
				}
				mu.Lock()
				known := len(labels)
				var label, id string
				if known > 0 {
					label = labels[rng.IntN(known)]
					id = acked[label]
				}
				mu.Unlock()
				ctx := context.Background()
				switch p := rng.IntN(100); {
				case p < 15 || known == 0:
					label := fmt.Sprintf("c%d-%d", c, n)
					in := chaosIn{kind: opSubmit, label: label}
					call := time.Now().UnixNano()
					j, err := cl.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Labels: map[string]string{"chaos": label},
						Parameters: &api.Parameters{Duration: 0.2, EncoderPreset: "ultrafast"}, Output: filepath.Join(out, label+".mp4")}, label)
					if err != nil {
						h.add(c, in, call, never, chaosOut{unknown: true})
						continue
					}
					h.add(c, in, call, time.Now().UnixNano(), chaosOut{})
					mu.Lock()
					acked[label] = j.ID
					labels = append(labels, label)
					mu.Unlock()
				case p < 85:
					call := time.Now().UnixNano()
					j, err := cl.GetJob(ctx, id)
					ret := time.Now().UnixNano()
					var ae *api.Error
					switch {
					case err == nil:
						h.add(c, chaosIn{kind: opGet, label: label}, call, ret, chaosOut{status: j.Status})
					case errors.As(err, &ae) && ae.Status == 404:
						h.add(c, chaosIn{kind: opGet, label: label}, call, ret, chaosOut{notFound: true})
					}
				default:
					call := time.Now().UnixNano()
					j, err := cl.CancelJob(ctx, id)
					ret := time.Now().UnixNano()
					var ae *api.Error
					switch {
					case err == nil:
						h.add(c, chaosIn{kind: opCancel, label: label}, call, ret, chaosOut{status: j.Status})
					case errors.As(err, &ae) && ae.Status == 409:
						h.add(c, chaosIn{kind: opCancel, label: label}, call, ret, chaosOut{conflict: true})
					default:
						h.add(c, chaosIn{kind: opCancel, label: label}, call, never, chaosOut{unknown: true})
					}
				}
			}
		})
	}

	// The chaos: each step waits for a leader first, so every failure hits a working cluster.
	pause := func(d time.Duration) { time.Sleep(d) }
	pause(3 * time.Second)
	for round := range 2 {
		l := leaderOf()
		t.Logf("round %d: SIGKILL leader %s", round, l.name)
		l.kill(t)
		pause(2 * time.Second)
		l.start(t)
		pause(3 * time.Second)
	}
	l := leaderOf()
	var f *chaosProc
	for _, m := range masters {
		if m != l {
			f = m
			break
		}
	}
	t.Logf("SIGKILL follower %s", f.name)
	f.kill(t)
	pause(2 * time.Second)
	f.start(t)
	pause(3 * time.Second)
	l = leaderOf()
	t.Logf("SIGSTOP leader %s for 2 s", l.name)
	l.signal(t, syscall.SIGSTOP)
	pause(2 * time.Second)
	l.signal(t, syscall.SIGCONT)
	pause(4 * time.Second)
	close(stop)
	clients.Wait()

	// Cancel what is still running (recorded like any cancel), then wait for every job to end.
	mu.Lock()
	final := map[string]string{}
	for label, id := range acked {
		final[label] = id
	}
	mu.Unlock()
	ctx := context.Background()
	for label, id := range final {
		call := time.Now().UnixNano()
		j, err := admin.GetJob(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged job %s (%s): %v", id, label, err)
		}
		h.add(99, chaosIn{kind: opGet, label: label}, call, time.Now().UnixNano(), chaosOut{status: j.Status})
		if !j.Status.Terminal() {
			call := time.Now().UnixNano()
			j, err := admin.CancelJob(ctx, id)
			var ae *api.Error
			switch {
			case err == nil:
				h.add(99, chaosIn{kind: opCancel, label: label}, call, time.Now().UnixNano(), chaosOut{status: j.Status})
			case errors.As(err, &ae) && ae.Status == 409:
				h.add(99, chaosIn{kind: opCancel, label: label}, call, time.Now().UnixNano(), chaosOut{conflict: true})
			default:
				t.Fatalf("cancel %s at the end: %v", id, err)
			}
		}
	}
	t.Logf("%d operations, %d jobs acknowledged", len(h.ops), len(final))

	res, info := porcupine.CheckOperationsVerbose(jobModel, h.ops, time.Minute)
	if res != porcupine.Ok {
		path := filepath.Join(t.TempDir(), "history.html")
		if f, err := os.Create(path); err == nil {
			_ = porcupine.Visualize(jobModel, info, f)
			f.Close()
		}
		t.Fatalf("the clients' history is %s, not linearizable (visualised in %s)", res, path)
	}

	runs := 0
	for label, id := range final {
		ev, err := admin.JobEvents(ctx, id, 0, 0)
		if err != nil {
			t.Fatalf("events of %s: %v", id, err)
		}
		var prev api.Status
		var seq int64
		ends := 0
		for i, e := range ev.Events {
			if i > 0 && e.Seq != seq+1 {
				t.Errorf("job %s (%s): event %d follows %d: a gap or a duplicate", id, label, e.Seq, seq)
			}
			seq = e.Seq
			if e.Type != api.EventState {
				continue
			}
			if e.From != prev {
				t.Errorf("job %s (%s): transition %s→%s follows %s", id, label, e.From, e.To, prev)
			}
			if prev == api.StatusRunning && !e.To.Terminal() {
				t.Errorf("job %s (%s): running, then %s: a running job was started over", id, label, e.To)
			}
			if e.To == api.StatusRunning {
				runs++
			}
			if e.To.Terminal() {
				ends++
			}
			prev = e.To
		}
		if ends != 1 || !prev.Terminal() {
			t.Errorf("job %s (%s): %d terminal transitions, last status %s; want exactly one end", id, label, ends, prev)
		}
	}
	if runs == 0 {
		t.Error("no job ran on a worker: the test did not exercise the workers")
	}
	t.Logf("%d jobs ran on the workers", runs)

	// Stop the workers, let the members catch up, stop them all at once, compare databases.
	for _, w := range workers {
		w.signal(t, syscall.SIGTERM)
	}
	for _, w := range workers {
		select {
		case <-w.exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not stop within 30 s of SIGTERM", w.name)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := admin.ClusterStatus(ctx)
		if err == nil && len(st.Members) == 3 && st.Members[0].AppliedIndex > 0 &&
			st.Members[0].AppliedIndex == st.Members[1].AppliedIndex && st.Members[1].AppliedIndex == st.Members[2].AppliedIndex {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("members not caught up 30 s after the load: %+v, %v", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, m := range masters {
		m.signal(t, syscall.SIGTERM)
	}
	digests := map[string]string{}
	for _, m := range masters {
		select {
		case <-m.exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not stop within 30 s of SIGTERM", m.name)
		}
		s, err := store.Open(filepath.Join(m.dir, "master.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		digests[m.name], err = s.Digest()
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if digests["m1"] != digests["m2"] || digests["m2"] != digests["m3"] {
		t.Fatalf("the members' databases differ: %v", digests)
	}
}
