package main_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/testpki"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
)

// TestClusterMutualTLS: masters given --cluster-ca talk only with certificates it signed. A
// cluster of three forms and replicates over TLS; a client with a certificate of another CA,
// or none, or without TLS, gets nothing from the cluster port; each member exports its
// replication metrics.
func TestClusterMutualTLS(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	ms := startCluster(t, 3, func(m *member) []string {
		cert, key := pki.Peer(t, m.id)
		return []string{"--cluster-ca", pki.CAFile, "--cluster-cert", cert, "--cluster-key", key, "--metrics-addr", "127.0.0.1:0"}
	})
	leader := waitLeader(t, ms)
	var follower *member
	for _, m := range ms {
		if m != leader {
			follower = m
		}
	}
	for i := range 5 {
		submitRetry(t, follower, fmt.Sprintf("tls-%d", i))
	}
	waitCaughtUp(t, ms)

	// The status call over the cluster port answers a member's certificate only.
	ask := func(cfg *tls.Config) (string, error) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", leader.raftAddr, cfg)
		if err != nil {
			return "", err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte{'S'}); err != nil {
			return "", err
		}
		b, err := io.ReadAll(c)
		return string(b), err
	}
	cert, key := pki.Peer(t, "m9")
	good, err := tlsconf.Client(pki.CAFile, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ask(good); err != nil || !strings.Contains(out, `"id":"`+leader.id+`"`) {
		t.Fatalf("a member's certificate: %q, %v; want the leader's status", out, err)
	}
	other := testpki.New(t)
	ocert, okey := other.Peer(t, "m1")
	rogue, err := tlsconf.Client(pki.CAFile, ocert, okey)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ask(rogue); err == nil && out != "" {
		t.Errorf("a certificate of another CA got an answer: %q", out)
	}
	anon, err := tlsconf.Client(pki.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ask(anon); err == nil && out != "" {
		t.Errorf("a client without a certificate got an answer: %q", out)
	}
	plain, err := net.DialTimeout("tcp", leader.raftAddr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = plain.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = plain.Write([]byte{'S'})
	if b, _ := io.ReadAll(plain); strings.Contains(string(b), `"id"`) {
		t.Errorf("plain TCP got a status: %q", b)
	}
	plain.Close()

	// The leader's metrics (asked again: an election may have moved it meanwhile).
	var missing []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		leader = waitLeader(t, ms)
		resp, err := http.Get("http://" + leader.p.MetricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = nil
		for _, want := range []string{"ffrtmp_master_raft_leader 1", "ffrtmp_master_raft_applied_index ", "ffrtmp_master_raft_commit_seconds_count ",
			"ffrtmp_master_raft_member_lag_entries{member="} {
			if !strings.Contains(string(body), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(missing) > 0 {
		t.Errorf("the leader's metrics lack %q", missing)
	}
}

// TestClusterMembership: a fourth master started without --cluster-peers waits; `POST
// /v1/cluster/members` through a follower adds it and it catches up; removing a member
// leaves three; a member cut off from the majority is not ready.
func TestClusterMembership(t *testing.T) {
	t.Parallel()
	ms := startCluster(t, 3, nil)
	leader := waitLeader(t, ms)
	for i := range 5 {
		submitRetry(t, leader, fmt.Sprintf("before-add-%d", i))
	}
	m4 := &member{id: "m4", apiPort: freePort(t), dir: t.TempDir()}
	m4.raftAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	m4.args = quiet(filepath.Join(m4.dir, "master.db"), "--api-key", adminKey, "--port", fmt.Sprint(m4.apiPort),
		"--node-id", m4.id, "--cluster-addr", m4.raftAddr, "--cluster-timeout", "500ms",
		"--webhook-secret", "cluster-test-secret", "--rtmp-port", "-1")
	m4.restart(t)
	m4.p.waitLog(t, "cluster member waiting to be added", 1)
	if err := m4.p.client(t, adminKey).Ready(context.Background()); !isUnavailable(err) {
		t.Errorf("a master waiting to be added is ready: %v", err)
	}

	var follower *member
	for _, m := range ms {
		if m != leader {
			follower = m
		}
	}
	ctx := context.Background()
	admin := follower.p.client(t, adminKey)
	if _, err := retried(func() (*api.ClusterStatus, error) { return admin.AddClusterMember(ctx, "m4", "not-an-address") }); !isStatus(err, 400) {
		t.Errorf("add with a bad address: %v; want 400", err)
	}
	if _, err := retried(func() (*api.ClusterStatus, error) { return admin.AddClusterMember(ctx, "m1", m4.raftAddr) }); !isStatus(err, 409) {
		t.Errorf("add under an ID in use at another address: %v; want 409", err)
	}
	st, err := retried(func() (*api.ClusterStatus, error) { return admin.AddClusterMember(ctx, m4.id, m4.raftAddr) })
	if err != nil {
		t.Fatalf("add m4: %v", err)
	}
	if len(st.Members) != 4 {
		t.Fatalf("after the add: %+v", st)
	}
	all := append(append([]*member{}, ms...), m4)
	waitCaughtUp(t, all)
	submitRetry(t, m4, "through-m4")

	if _, err := retried(func() (*api.ClusterStatus, error) { return admin.RemoveClusterMember(ctx, "m9") }); !isStatus(err, 404) {
		t.Errorf("remove an unknown member: %v; want 404", err)
	}
	gone := ms[0]
	if gone == leader {
		gone = ms[1]
	}
	st, err = retried(func() (*api.ClusterStatus, error) {
		return leader.p.client(t, adminKey).RemoveClusterMember(ctx, gone.id)
	})
	if err != nil || len(st.Members) != 3 {
		t.Fatalf("remove %s: %+v, %v", gone.id, st, err)
	}
	gone.p.stop(t)

	// Of the three members left, stop two: the last one has no majority and says so.
	var rest []*member
	for _, m := range all {
		if m != gone {
			rest = append(rest, m)
		}
	}
	if err := rest[0].p.client(t, adminKey).Ready(ctx); err != nil {
		t.Fatalf("a member of a healthy cluster is not ready: %v", err)
	}
	rest[1].p.signal(t, syscall.SIGKILL)
	rest[2].p.signal(t, syscall.SIGKILL)
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := rest[0].p.client(t, adminKey).Ready(ctx)
		if isUnavailable(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a member without a majority is still ready 20 s later: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := submitVia(ctx, t, rest[0], "no-quorum"); !isUnavailable(err) {
		t.Fatalf("submit without a majority: %v; want 503 unavailable", err)
	}
}

// retried calls f until it answers something other than 503 unavailable (an election under
// way, a leader starting its services), for at most 20 s.
func retried[T any](f func() (T, error)) (T, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := f()
		if !isUnavailable(err) || time.Now().After(deadline) {
			return v, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isStatus(err error, status int) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Status == status
}

// TestClusterFlagsRefused: a cluster set up in a way that would not work, or not safely, is
// refused at start with a message that says what to change.
func TestClusterFlagsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "m.db")
	base := []string{"--api-key", adminKey, "--webhook-secret", "s", "--rtmp-port", "-1"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"id without address", []string{"--node-id", "m1"}, "needs both --node-id and --cluster-addr"},
		{"bad id", []string{"--node-id", "m 1", "--cluster-addr", "127.0.0.1:7946"}, "--node-id"},
		{"peers without membership", []string{"--cluster-peers", "m1=127.0.0.1:7946"}, "need --node-id and --cluster-addr"},
		{"bad peers", []string{"--node-id", "m1", "--cluster-addr", "127.0.0.1:7946", "--cluster-peers", "m1=127.0.0.1:7946,m2"}, `"m2" is not ID=HOST:PORT`},
		{"peers without self", []string{"--node-id", "m3", "--cluster-addr", "127.0.0.1:7946", "--cluster-peers", "m1=127.0.0.1:7947,m2=127.0.0.1:7948"},
			"does not name this member"},
		{"wildcard address", []string{"--node-id", "m1", "--cluster-addr", "0.0.0.0:0"}, "not a wildcard"},
		{"plain beyond loopback", []string{"--node-id", "m1", "--cluster-addr", "192.0.2.7:7946"}, "needs mutual TLS"},
		{"ca without cert", []string{"--node-id", "m1", "--cluster-addr", "127.0.0.1:0", "--cluster-ca", "ca.pem"}, "--cluster-ca needs this master's certificate"},
	} {
		_, stderr, code := run(t, dir, env(), "", append(append(quiet(db), base...), tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error saying %q", tc.name, code, stderr, tc.want)
		}
	}
	_, stderr, code := run(t, dir, env(), "", append(quiet(db), "--api-key", adminKey, "--rtmp-port", "-1", "--node-id", "m1", "--cluster-addr", "127.0.0.1:0")...)
	if code == 0 || !strings.Contains(stderr, "a cluster needs --webhook-secret") {
		t.Errorf("no webhook secret: exit %d, stderr %q", code, stderr)
	}
}

// TestClusterRestore: a single master's backup restores into a running cluster through a
// follower: every member then serves the backup's jobs and none of the cluster's own, takes
// new work, and ends identical; a damaged backup is refused and changes nothing.
func TestClusterRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	single := startMaster(t, t.TempDir(), env(), quiet(filepath.Join(t.TempDir(), "single.db"), "--api-key", adminKey)...)
	sc := single.client(t, adminKey)
	backed := map[string]string{}
	for i := range 10 {
		label := fmt.Sprintf("backed-%d", i)
		j, err := sc.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Labels: map[string]string{"seq": label}}, "")
		if err != nil {
			t.Fatal(err)
		}
		backed[j.ID] = label
	}
	var backup bytes.Buffer
	if _, err := sc.Backup(ctx, &backup); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.RestoreCluster(ctx, backup.Bytes()); !isStatus(err, 409) {
		t.Errorf("restore into a single master: %v; want 409", err)
	}

	ms := startCluster(t, 3, nil)
	leader := waitLeader(t, ms)
	var follower *member
	for _, m := range ms {
		if m != leader {
			follower = m
		}
	}
	old := submitRetry(t, leader, "before-restore")
	admin := follower.p.client(t, adminKey)
	if _, err := retried(func() (*api.ClusterStatus, error) { return admin.RestoreCluster(ctx, backup.Bytes()[:backup.Len()/2]) }); !isStatus(err, 400) {
		t.Fatalf("a truncated backup: %v; want 400", err)
	}
	if _, err := retried(func() (*api.ClusterStatus, error) { return admin.RestoreCluster(ctx, []byte("not a database")) }); !isStatus(err, 400) {
		t.Fatalf("a file that is no database: %v; want 400", err)
	}
	if _, err := admin.GetJob(ctx, old.ID); err != nil {
		t.Fatalf("a refused restore changed the state: %v", err)
	}
	if _, err := retried(func() (*api.ClusterStatus, error) { return admin.RestoreCluster(ctx, backup.Bytes()) }); err != nil {
		t.Fatalf("restore: %v", err)
	}
	for _, m := range ms {
		c := m.p.client(t, adminKey)
		for id, label := range backed {
			var j *api.Job
			var err error
			for range 100 { // the leader's services restart over the restored state
				if j, err = c.GetJob(ctx, id); !isUnavailable(err) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil || j.Labels["seq"] != label {
				t.Fatalf("%s after the restore: job %s: %+v, %v", m.id, id, j, err)
			}
		}
		if _, err := c.GetJob(ctx, old.ID); !isStatus(err, 404) {
			t.Errorf("%s after the restore still has the replaced job: %v", m.id, err)
		}
	}
	submitRetry(t, follower, "after-restore")
	waitCaughtUp(t, ms)
	stopIdentical(t, ms, nil)
}

// TestClusterRestoreOlderRelease: a backup taken by an older release (the store's schema-2
// fixture) is migrated once, by the leader, and every member installs the migrated state:
// the way a cluster moves across a schema change (doc/cluster.md#upgrading).
func TestClusterRestoreOlderRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	backup, err := os.ReadFile(filepath.Join("..", "..", "master", "store", "testdata", "schema2", "master.db"))
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's jobs finished in November 2026: keep them.
	ms := startCluster(t, 3, func(*member) []string { return []string{"--retention", "0"} })
	leader := waitLeader(t, ms)
	if _, err := retried(func() (*api.ClusterStatus, error) { return leader.p.client(t, adminKey).RestoreCluster(ctx, backup) }); err != nil {
		t.Fatalf("restore a schema-2 backup: %v", err)
	}
	leader.p.waitLog(t, "the backup was migrated before the restore", 1)
	waitCaughtUp(t, ms)
	for _, m := range ms {
		c := m.p.client(t, adminKey)
		for tenant, want := range map[string]int{api.DefaultTenant: 14, "team-a": 7} {
			var list *api.JobList
			for range 100 { // the leader's services restart over the restored state
				if list, err = c.ListJobs(ctx, api.ListJobsOptions{Tenant: tenant, Limit: 100}); !isUnavailable(err) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil || len(list.Jobs) != want {
				t.Errorf("%s: jobs of tenant %s after the restore: %v; want %d", m.id, tenant, err, want)
			}
		}
		if m != leader && strings.Contains(m.p.stderr.String(), "migrating database schema") {
			t.Errorf("%s migrated its own database; the leader migrates the backup once", m.id)
		}
	}
	// The leader's services act on the restored farm (its nodes are gone, their jobs go back
	// to the queue): the members are compared once the writes have stopped.
	waitQuiet(t, ms)
	stopIdentical(t, ms, nil)
}

// waitQuiet waits until the members are caught up and the applied index stays put for a
// second: no write is under way that a member stopped now would miss.
func waitQuiet(t *testing.T, ms []*member) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	idx := waitCaughtUp(t, ms)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		next := waitCaughtUp(t, ms)
		if next == idx {
			return
		}
		idx = next
	}
	t.Fatal("the cluster kept writing for 30 s")
}

// TestClusterNewMemberMustBeEmpty: a master whose database holds a farm's state cannot
// start a cluster (it would diverge from the others at once); the message says how to
// bring that state in.
func TestClusterNewMemberMustBeEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "m.db")
	p := startMaster(t, dir, env(), quiet(db, "--api-key", adminKey)...)
	if _, err := p.client(t, adminKey).SubmitJob(context.Background(), api.JobRequest{Scenario: "720p30-h264"}, ""); err != nil {
		t.Fatal(err)
	}
	p.stop(t)
	_, stderr, code := run(t, dir, env(), "", append(quiet(db), "--api-key", adminKey, "--rtmp-port", "-1", "--webhook-secret", "s",
		"--node-id", "m1", "--cluster-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)))...)
	if code == 0 || !strings.Contains(stderr, "must start with an empty database") || !strings.Contains(stderr, "ffrtmp cluster restore") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestClusterCatchUpBySnapshot: with small snapshots, a follower that was down while the
// leader trimmed its log catches up from the leader's snapshot, one SIGSTOPped meanwhile
// catches up too, and every member keeps at most two snapshots on disk.
func TestClusterCatchUpBySnapshot(t *testing.T) {
	t.Parallel()
	ms := startCluster(t, 3, func(*member) []string {
		return []string{"--cluster-snapshot-threshold", "32", "--cluster-snapshot-interval", "100ms"}
	})
	leader := waitLeader(t, ms)
	var down, stopped *member
	for _, m := range ms {
		switch {
		case m == leader:
		case down == nil:
			down = m
		default:
			stopped = m
		}
	}
	down.p.signal(t, syscall.SIGKILL)
	down.p.wait(t, 10*time.Second)
	// Two snapshots of 32 entries each trim the log past everything the down member has.
	submitUntilLog(t, leader, "while-down", "snapshot written", 2)
	down.restart(t)
	down.p.waitLog(t, "database restored from the leader's snapshot", 1)
	waitCaughtUp(t, ms)

	// A member paused for several election timeouts catches up once it runs again.
	stopped.p.signal(t, syscall.SIGSTOP)
	submitUntilLog(t, leader, "while-stopped", "snapshot written", 4)
	stopped.p.signal(t, syscall.SIGCONT)
	waitCaughtUp(t, ms)
	for _, m := range ms {
		snaps, err := filepath.Glob(filepath.Join(m.dir, "raft", "snapshots", "*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(snaps) > 2 {
			t.Errorf("%s keeps %d snapshots: %v", m.id, len(snaps), snaps)
		}
	}
	submitRetry(t, down, "after-catch-up")
	waitCaughtUp(t, ms)
}

// submitUntilLog submits jobs through m until its log says want n times: how many entries
// make a snapshot happen is raft's business (a timer with jitter), not the test's.
func submitUntilLog(t *testing.T, m *member, label, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; strings.Count(m.p.stderr.String(), want) < n; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("%s does not say %q %d times after %d submits in 60 s:\n%s", m.id, want, n, i, m.p.stderr.String())
		}
		submitRetry(t, m, fmt.Sprintf("%s-%d", label, i))
		if i >= 120 {
			time.Sleep(20 * time.Millisecond) // enough entries; give the snapshot timer its turn
		}
	}
}

// TestClusterRecoverFromLostMajority: two of three members are gone for good; the survivor,
// given peers.json naming itself, recovers the cluster alone with every acknowledged job and
// takes new work; the file is renamed once applied.
func TestClusterRecoverFromLostMajority(t *testing.T) {
	t.Parallel()
	ms := startCluster(t, 3, nil)
	leader := waitLeader(t, ms)
	ctx := context.Background()
	var jobs []string
	for i := range 5 {
		jobs = append(jobs, submitRetry(t, leader, fmt.Sprintf("before-loss-%d", i)).ID)
	}
	waitCaughtUp(t, ms)
	survivor := ms[0]
	for _, m := range ms[1:] {
		m.p.signal(t, syscall.SIGKILL)
		m.p.wait(t, 10*time.Second)
	}
	survivor.p.signal(t, syscall.SIGKILL)
	survivor.p.wait(t, 10*time.Second)

	peers := filepath.Join(survivor.dir, "raft", "peers.json")
	writeFile(t, peers, fmt.Sprintf(`[{"id": %q, "address": %q}]`, survivor.id, survivor.raftAddr))
	survivor.restart(t)
	survivor.p.waitLog(t, "recovered the cluster with a forced membership", 1)
	for _, id := range jobs {
		var err error
		for range 200 {
			if _, err = survivor.p.client(t, adminKey).GetJob(ctx, id); !isUnavailable(err) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("job %s after the recovery: %v", id, err)
		}
	}
	submitRetry(t, survivor, "after-recovery")
	st, err := survivor.status(ctx, t)
	if err != nil || st.Leader != survivor.id || len(st.Members) != 1 {
		t.Fatalf("status after the recovery: %+v, %v", st, err)
	}
	if _, err := os.Stat(peers + ".applied"); err != nil {
		t.Errorf("peers.json not renamed once applied: %v", err)
	}
}

// TestRestoreCommand: `ffrtmp-master restore` puts a checked backup in place of a stopped
// single master's database; it refuses a damaged backup, a database a master holds, an
// existing one without --force, and a cluster member's.
func TestRestoreCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	src := startMaster(t, dir, env(), quiet(filepath.Join(dir, "src.db"), "--api-key", adminKey)...)
	job, err := src.client(t, adminKey).SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Labels: map[string]string{"seq": "backed"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var backup bytes.Buffer
	if _, err := src.client(t, adminKey).Backup(ctx, &backup); err != nil {
		t.Fatal(err)
	}
	bf := filepath.Join(dir, "backup.db")
	writeFile(t, bf, backup.String())
	bad := filepath.Join(dir, "bad.db")
	writeFile(t, bad, backup.String()[:backup.Len()/3])
	existing := filepath.Join(dir, "existing.db")
	writeFile(t, existing, backup.String())

	target := filepath.Join(dir, "target", "master.db")
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no backup", []string{"restore", "--db", target}, "restore needs --from BACKUP and --db FILE"},
		{"damaged backup", []string{"restore", "--from", bad, "--db", target}, "backup " + bad + " refused, " + target + " not touched: "},
		{"held by a master", []string{"restore", "--from", bf, "--db", filepath.Join(dir, "src.db"), "--force"}, "a master is running on it: stop it first"},
		{"exists", []string{"restore", "--from", bf, "--db", existing}, "the database exists: add --force"},
	} {
		_, stderr, code := run(t, dir, env(), "", tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want %q", tc.name, code, stderr, tc.want)
		}
	}
	stdout, stderr, code := run(t, dir, env(), "", "restore", "--from", bf, "--db", target)
	if code != 0 || !strings.Contains(stdout, "restored "+bf) {
		t.Fatalf("restore: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	p := startMaster(t, filepath.Dir(target), env(), quiet(target, "--api-key", adminKey)...)
	if j, err := p.client(t, adminKey).GetJob(ctx, job.ID); err != nil || j.Labels["seq"] != "backed" {
		t.Fatalf("the restored master's job: %+v, %v", j, err)
	}

	member := filepath.Join(dir, "member", "master.db")
	if err := os.MkdirAll(filepath.Join(filepath.Dir(member), "raft"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(t, dir, env(), "", "restore", "--from", bf, "--db", member); code == 0 || !strings.Contains(stderr, "ffrtmp cluster restore") {
		t.Errorf("restore into a cluster member's database: exit %d, stderr %q", code, stderr)
	}
}
