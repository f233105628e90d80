package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// testCluster is real masters on loopback, started as the chaos test starts them.
type testCluster struct {
	t       *testing.T
	dir     string
	env     []string // FFRTMP_API_KEY and FFRTMP_MASTER (every master of the cluster)
	masters map[string]*testMember
	admin   *api.Client
}

type testMember struct {
	proc      *chaosProc
	url, raft string
}

const clusterAdminKey = "cluster-admin-key"

// startTestCluster starts n masters m1..mn that bootstrap one cluster; extra are further
// flags of every member.
func startTestCluster(t *testing.T, n int, extra ...string) *testCluster {
	t.Helper()
	dir := t.TempDir()
	c := &testCluster{t: t, dir: dir, masters: map[string]*testMember{}}
	var peers, urls []string
	for i := range n {
		id := fmt.Sprintf("m%d", i+1)
		m := c.newMember(id)
		peers = append(peers, id+"="+m.raft)
		urls = append(urls, m.url)
	}
	for i := range n {
		m := c.masters[fmt.Sprintf("m%d", i+1)]
		m.proc.args = append(append(m.proc.args, "--cluster-peers", strings.Join(peers, ",")), extra...)
		m.proc.start(t)
	}
	c.env = isolatedEnv(dir, "FFRTMP_API_KEY="+clusterAdminKey, "FFRTMP_MASTER="+strings.Join(urls, ","))
	var err error
	c.admin, err = api.NewClient(strings.Join(urls, ","), clusterAdminKey, api.WithTimeout(5*time.Second),
		api.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newMember prepares (does not start) master id with ports of its own and no peers.
func (c *testCluster) newMember(id string) *testMember {
	c.t.Helper()
	mdir := filepath.Join(c.dir, id)
	if err := os.MkdirAll(mdir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	port := chaosPort(c.t)
	m := &testMember{url: fmt.Sprintf("http://127.0.0.1:%d", port), raft: fmt.Sprintf("127.0.0.1:%d", chaosPort(c.t))}
	m.proc = &chaosProc{name: id, dir: mdir, env: isolatedEnv(mdir), args: []string{"master", "--db", filepath.Join(mdir, "master.db"),
		"--listen", "127.0.0.1", "--port", fmt.Sprint(port), "--metrics-addr", "", "--rate-limit", "0", "--api-key", clusterAdminKey,
		"--node-id", id, "--cluster-addr", m.raft, "--cluster-timeout", "500ms", "--webhook-secret", "cluster-test", "--rtmp-port", "-1"}}
	c.masters[id] = m
	return m
}

// run runs the binary against the cluster with extra arguments.
// procs are the members' processes, m1 first.
func (c *testCluster) procs() []*chaosProc {
	out := make([]*chaosProc, 0, len(c.masters))
	for i := 1; ; i++ {
		m, ok := c.masters[fmt.Sprintf("m%d", i)]
		if !ok {
			return out
		}
		out = append(out, m.proc)
	}
}

// urls is every member's API URL, comma-separated, m1 first.
func (c *testCluster) urls() string {
	var out []string
	for i := 1; ; i++ {
		m, ok := c.masters[fmt.Sprintf("m%d", i)]
		if !ok {
			return strings.Join(out, ",")
		}
		out = append(out, m.url)
	}
}

func (c *testCluster) run(args ...string) (string, string, int) {
	c.t.Helper()
	return runWithEnv(c.t, c.dir, c.env, "", args...)
}

func (c *testCluster) mustRun(args ...string) string {
	c.t.Helper()
	stdout, stderr, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("ffrtmp %s: exit %d, stderr: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// waitFor polls the cluster's status until ok holds, for up to 15 s.
func (c *testCluster) waitFor(what string, ok func(*api.ClusterStatus) bool) *api.ClusterStatus {
	c.t.Helper()
	var st *api.ClusterStatus
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err = c.admin.ClusterStatus(ctx)
		cancel()
		if err == nil && ok(st) && c.leaderServes(st.Leader) {
			return st
		}
	}
	c.t.Fatalf("cluster: no %s within 15 s; last status %+v, %v", what, st, err)
	return nil
}

// leaderServes reports whether the leader named id (none: true) answers /readyz: elected is
// not yet serving, while it loads the farm, and until then every member answers 503.
func (c *testCluster) leaderServes(id string) bool {
	m := c.masters[id]
	if m == nil {
		return true
	}
	req, err := http.NewRequest(http.MethodGet, m.url+"/readyz", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+clusterAdminKey)
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// member finds id among st's members.
func member(st *api.ClusterStatus, id string) (api.ClusterMember, bool) {
	i := slices.IndexFunc(st.Members, func(m api.ClusterMember) bool { return m.ID == id })
	if i < 0 {
		return api.ClusterMember{}, false
	}
	return st.Members[i], true
}

// settled: a leader, and every member of ids answering with the leader's applied index.
func settled(ids ...string) func(*api.ClusterStatus) bool {
	return func(st *api.ClusterStatus) bool {
		l, ok := member(st, st.Leader)
		if st.Leader == "" || !ok || len(st.Members) != len(ids) {
			return false
		}
		for _, id := range ids {
			m, ok := member(st, id)
			if !ok || m.State == api.MemberUnreachable || m.AppliedIndex != l.AppliedIndex {
				return false
			}
		}
		return true
	}
}

// tableRows parses a `cluster status` table into rows by ID (the first column), with the
// header line and the table's header checked.
func tableRows(t *testing.T, out string) map[string][]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "ID ") })
	if i < 1 || !strings.Contains(lines[i], "ADDRESS") || !strings.Contains(lines[i], "LAST CONTACT") || !strings.Contains(lines[i], "API URL") {
		t.Fatalf("no members' table under a header line:\n%s", out)
	}
	rows := map[string][]string{}
	for _, l := range lines[i+1:] {
		f := strings.Fields(l)
		if len(f) == 0 || strings.Contains(l, ": ") {
			break // the unreachable members' errors
		}
		if strings.Contains(l, "LAST CONTACT") {
			continue
		}
		// LAST CONTACT is one word ("-", "42ms", "3s").
		rows[f[0]] = f
	}
	return rows
}

// TestClusterCommands drives `ffrtmp cluster status|add|remove` against three real masters
// forming a cluster, a fourth that joins and leaves, and a cluster that lost its majority.
func TestClusterCommands(t *testing.T) {
	t.Parallel()
	c := startTestCluster(t, 3)
	c.waitFor("a leader with three members", settled("m1", "m2", "m3"))
	// Writes, so that the applied index a new member must catch up to is not 0.
	for i := range 3 {
		if _, err := c.admin.SubmitJob(context.Background(), api.JobRequest{Scenario: "720p30-h264",
			Output: filepath.Join(c.dir, fmt.Sprintf("j%d.mp4", i))}, fmt.Sprintf("cluster-test-%d", i)); err != nil {
			t.Fatalf("submit: %v", err)
		}
	}
	st := c.waitFor("three members in step", settled("m1", "m2", "m3"))
	if l, _ := member(st, st.Leader); l.AppliedIndex == 0 {
		t.Fatalf("the leader's applied index is 0 after three submits: %+v", st)
	}

	out := c.mustRun("cluster", "status")
	checkWidth(t, out)
	first := strings.SplitN(out, "\n", 2)[0]
	if want := fmt.Sprintf("leader %s, term ", st.Leader); !strings.HasPrefix(first, want) || !strings.Contains(first, ", answered by m") {
		t.Errorf("status header line = %q, want %q..., answered by ...", first, want)
	}
	rows := tableRows(t, out)
	leaders := 0
	for _, id := range []string{"m1", "m2", "m3"} {
		r, ok := rows[id]
		if !ok {
			t.Fatalf("status has no row for %s:\n%s", id, out)
		}
		// ID ADDRESS STATE VOTER APPLIED BEHIND LAST-CONTACT API-URL
		m := c.masters[id]
		if len(r) != 8 || r[1] != m.raft || r[3] != "yes" || r[7] != m.url {
			t.Errorf("row of %s = %q, want its raft address %s, voter yes, API URL %s", id, r, m.raft, m.url)
		}
		switch r[2] {
		case "leader":
			leaders++
			if r[6] != "-" || id != st.Leader {
				t.Errorf("leader row %q: want %s, LAST CONTACT -", r, st.Leader)
			}
		case "follower":
			if !strings.HasSuffix(r[6], "ms") && !strings.HasSuffix(r[6], "s") || r[6] == "-" {
				t.Errorf("follower row %q: LAST CONTACT is no age", r)
			}
		default:
			t.Errorf("row of %s has state %q", id, r[2])
		}
		// In step a moment ago; the leader may have written since (its maintenance).
		applied, err1 := strconv.ParseUint(r[4], 10, 64)
		behind, err2 := strconv.ParseUint(r[5], 10, 64)
		if l, _ := member(st, st.Leader); err1 != nil || err2 != nil || applied < l.AppliedIndex || behind > 3 || r[2] == "leader" && behind != 0 {
			t.Errorf("row of %s: APPLIED %q, BEHIND %q; want at least %d, and about 0 in a cluster in step", id, r[4], r[5], l.AppliedIndex)
		}
	}
	if leaders != 1 {
		t.Errorf("%d leaders in the table, want 1:\n%s", leaders, out)
	}
	var js api.ClusterStatus
	if err := json.Unmarshal([]byte(c.mustRun("cluster", "status", "-o", "json")), &js); err != nil || !js.Clustered || js.Leader != st.Leader || len(js.Members) != 3 {
		t.Errorf("status -o json = %+v, %v; want clustered, leader %s, 3 members", js, err, st.Leader)
	}

	// A backup of the cluster, taken now, restores into it; a file that is no database does not.
	var backup bytes.Buffer
	if _, err := c.admin.Backup(context.Background(), &backup); err != nil {
		t.Fatal(err)
	}
	bf := filepath.Join(c.dir, "backup.db")
	if err := os.WriteFile(bf, backup.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.mustRun("cluster", "restore", bf); !strings.HasPrefix(out, fmt.Sprintf("restored %s (%d bytes) into the cluster", bf, backup.Len())) {
		t.Errorf("cluster restore printed %q", out)
	}
	bad := filepath.Join(c.dir, "bad.db")
	if err := os.WriteFile(bad, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := c.run("cluster", "restore", bad); code != exitFailed || !strings.Contains(stderr, "refused the backup: not a backup this master can restore") {
		t.Errorf("cluster restore of a file that is no database: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := c.run("cluster", "restore", filepath.Join(c.dir, "missing.db")); code != exitUsage || !strings.Contains(stderr, "backup: ") {
		t.Errorf("cluster restore of a missing file: exit %d, stderr %q", code, stderr)
	}
	c.waitFor("three members in step after the restore", settled("m1", "m2", "m3"))

	// A fourth master, started without peers, waits to be added; added, it catches up.
	m4 := c.newMember("m4")
	m4.proc.start(t)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(m4.proc.stderr.String(), "cluster member waiting to be added"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("m4 did not say it waits to be added:\n%s", m4.proc.stderr.String())
		}
	}
	out = c.mustRun("cluster", "add", "m4", m4.raft)
	if !strings.HasPrefix(out, "m4 at "+m4.raft+" is a member of the cluster") {
		t.Errorf("cluster add printed %q", out)
	}
	if r := tableRows(t, out)["m4"]; len(r) < 4 || r[1] != m4.raft || r[3] != "yes" {
		t.Errorf("cluster add's table has m4 as %q:\n%s", r, out)
	}
	c.waitFor("m4 in step with the leader", settled("m1", "m2", "m3", "m4"))
	out = c.mustRun("cluster", "status")
	if r := tableRows(t, out)["m4"]; len(r) != 8 || r[2] != "follower" || r[7] != m4.url {
		t.Errorf("status after m4 caught up has m4 as %q:\n%s", r, out)
	}
	// Adding it again changes nothing.
	c.mustRun("cluster", "add", "m4", m4.raft)

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"bad id", []string{"cluster", "add", "bad id!", "127.0.0.1:1"}, exitUsage, "the master refused the request: id: "},
		{"bad address", []string{"cluster", "add", "m5", "nowhere"}, exitUsage, `address: "nowhere" is not host:port`},
		{"address taken", []string{"cluster", "add", "m5", c.masters["m1"].raft}, exitFailed, "cluster add m5: the master at http://127.0.0.1:"},
		{"id taken", []string{"cluster", "add", "m1", "127.0.0.1:1"}, exitFailed, "member m1 at " + c.masters["m1"].raft + " is in the cluster already: remove it first"},
		{"unknown member", []string{"cluster", "remove", "m9"}, exitNotFound, `cluster remove m9: no member "m9" in the cluster`},
		{"dot dot", []string{"cluster", "remove", ".."}, exitUsage, `member ID "..": not a member ID`},
		{"no address", []string{"cluster", "add", "m5"}, exitUsage, "accepts 2 arg(s)"},
		{"bad format", []string{"cluster", "status", "-o", "xml"}, exitUsage, `-o "xml": want table, json or yaml`},
		{"refused key", []string{"cluster", "status", "--api-key", "wrong"}, exitAuth, "refused the API key (from --api-key)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := c.run(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) || stdout != "" {
				t.Errorf("ffrtmp %s: exit %d, stderr %q, stdout %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, stdout, tc.code, tc.stderr)
			}
		})
	}

	// Removing the member the CLI talks to: m4 forwards the removal to the leader.
	toM4 := "--master=" + m4.url + "," + c.masters["m1"].url + "," + c.masters["m2"].url + "," + c.masters["m3"].url
	out = c.mustRun("cluster", "remove", "m4", toM4)
	if !strings.HasPrefix(out, "m4 removed from the cluster: stop its master") {
		t.Errorf("cluster remove printed %q", out)
	}
	if rows := tableRows(t, out); len(rows) != 3 || rows["m4"] != nil {
		t.Errorf("cluster remove's table still has m4 or lacks a member:\n%s", out)
	}
	st = c.waitFor("m4 gone", settled("m1", "m2", "m3"))
	// m4, still running, answers from what it knew: the leader replicates the entry that
	// removes it to it (best effort), so it sees itself out, or else soon has no leader.
	out = c.mustRun("cluster", "status", "--master="+m4.url)
	if !strings.Contains(out, "m4, which answered, is not a member: it was removed or is not added yet; ask another master") &&
		!strings.Contains(out, "no leader: ") {
		t.Errorf("status from the removed m4 does not say it is no member:\n%s", out)
	}
	m4.proc.kill(t)
	out = c.mustRun("cluster", "status", toM4)
	if rows := tableRows(t, out); len(rows) != 3 || strings.Contains(out, "answered by m4") {
		t.Errorf("status through a stopped m4 first:\n%s", out)
	}

	// Two of three masters down: no majority, no leader.
	var alive *testMember
	for _, id := range []string{"m1", "m2", "m3"} {
		if id == st.Leader || alive != nil {
			c.masters[id].proc.kill(t)
		} else {
			alive = c.masters[id]
		}
	}
	only := "--master=" + alive.url
	// The survivor misses the leader after its heartbeat timeout (500 ms to 1 s, more on a
	// loaded machine).
	survivor, err := api.NewClient(alive.url, clusterAdminKey, api.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	(&testCluster{t: t, admin: survivor}).waitFor("survivor without a leader", func(st *api.ClusterStatus) bool { return st.Leader == "" })
	stdout, stderr, code := c.run("cluster", "add", "m5", "127.0.0.1:1", only, "--timeout", "5s")
	if want := "ffrtmp: cluster add m5: the master at " + alive.url + ": the cluster has no leader"; code != exitFailed || !strings.HasPrefix(stderr, want) ||
		!strings.Contains(stderr, "retry in a few seconds") {
		t.Errorf("add without a majority: exit %d, stderr %q, stdout %q; want exit 1, no leader, retry", code, stderr, stdout)
	}
	out = c.mustRun("cluster", "status", only)
	if !strings.HasPrefix(out, "no leader, term ") || !strings.Contains(out, "no leader: an election is under way, or "+alive.proc.name+" is cut off") {
		t.Errorf("status without a majority does not say there is no leader:\n%s", out)
	}
	rows = tableRows(t, out)
	if r := rows[st.Leader]; len(r) != 8 || r[2] != "unreachable" || r[4] != "-" || r[5] != "-" {
		t.Errorf("the killed leader's row = %q, want unreachable with no applied index", r)
	}
	if !strings.Contains(out, st.Leader+" unreachable: ") {
		t.Errorf("status does not show why %s is unreachable:\n%s", st.Leader, out)
	}
	t.Logf("status without a majority:\n%s", out)
}

// TestClusterSingleMaster: a master without --cluster-* flags is no cluster.
func TestClusterSingleMaster(t *testing.T) {
	t.Parallel()
	f := newClientFarm(t)
	out := f.mustRun(t, "", "cluster", "status")
	if want := "the master at " + f.h.URL + " is not clustered: it is a single master"; !strings.HasPrefix(out, want) {
		t.Errorf("cluster status = %q, want %q...", out, want)
	}
	var st api.ClusterStatus
	if err := json.Unmarshal([]byte(f.mustRun(t, "", "cluster", "status", "-o", "json")), &st); err != nil || st.Clustered || len(st.Members) != 0 {
		t.Errorf("cluster status -o json = %+v, %v; want clustered false, no members", st, err)
	}
	for _, args := range [][]string{{"cluster", "add", "m2", "127.0.0.1:7946"}, {"cluster", "remove", "m2"}} {
		stdout, stderr, code := f.run(t, "", args...)
		if code != exitFailed || !strings.Contains(stderr, "refused: this master is not part of a cluster (start it with --node-id") || stdout != "" {
			t.Errorf("ffrtmp %s: exit %d, stderr %q, stdout %q; want exit 1, not part of a cluster", strings.Join(args, " "), code, stderr, stdout)
		}
	}
}

// TestClusterStatusGolden: the table as an operator reads it, with a follower behind, one
// unreachable and one that never heard from a leader.
func TestClusterStatusGolden(t *testing.T) {
	at := func(d time.Duration) *time.Time { ts := fixtureNow.Add(-d); return &ts }
	st := api.ClusterStatus{Clustered: true, Leader: "m2", Member: "m1", Term: 7, Members: []api.ClusterMember{
		{ID: "m1", Address: "10.0.0.1:7946", Voter: true, State: "follower", APIURL: "https://m1:8080", AppliedIndex: 1234, CommitIndex: 1234, LastContact: at(42 * time.Millisecond)},
		{ID: "m2", Address: "10.0.0.2:7946", Voter: true, State: "leader", APIURL: "https://m2:8080", AppliedIndex: 1240, CommitIndex: 1240},
		{ID: "m3", Address: "10.0.0.3:7946", Voter: true, State: "unreachable", Error: "dial tcp 10.0.0.3:7946: connect: connection refused"},
		{ID: "m4", Address: "10.0.0.4:7946", Voter: false, State: "follower", APIURL: "https://m4:8080", AppliedIndex: 17, CommitIndex: 17, LastContact: at(3 * time.Minute)},
		{ID: "m5", Address: "10.0.0.5:7946", Voter: true, State: "follower"},
	}}
	var b bytes.Buffer
	writeCluster(&b, st, "https://m1:8080", fixtureNow)
	st.Leader, st.Members[1].State = "", "candidate"
	writeCluster(&b, st, "https://m1:8080", fixtureNow)
	writeCluster(&b, api.ClusterStatus{Clustered: true, Member: "m6", Term: 7, Members: st.Members[:2]}, "https://m6:8080", fixtureNow)
	writeCluster(&b, api.ClusterStatus{Members: []api.ClusterMember{}}, "http://127.0.0.1:8080", fixtureNow)
	checkWidth(t, b.String())
	golden(t, "cluster-status.txt", b.String())
}
