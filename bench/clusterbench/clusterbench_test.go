package clusterbench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/bench/masterbench"
)

// TestSmoke runs every case end to end, at a size that takes seconds: a real single master,
// two real three-member clusters, one leader SIGKILL, the table and the JSON.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs masters: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := Profile{Name: "smoke", Members: 3, ClusterTimeout: 500 * time.Millisecond, Clients: 8, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Queued: 200, Nodes: 10, Requesters: 4, LeaseRate: 400, Leases: 60, LeaseWarmup: 10, SatLeases: 30, Kills: 1}
	dir := t.TempDir()
	var log bytes.Buffer
	rep, err := Run(ctx, Options{Profile: p, OutDir: dir, Log: &log})
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log.String())
	}
	want := []string{"submit/single", "lease/single", "submit/leader", "submit/follower", "lease/leader", "failover/leader"}
	var got []string
	for _, c := range rep.Cases {
		got = append(got, c.Name+"/"+c.Via)
		delete(c.Errors, inFlightKey) // a follower's honest answer for a forward the SIGKILL cut
		if len(c.Errors) > 0 {
			t.Errorf("%s via %s: errors %v", c.Name, c.Via, c.Errors)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("cases %v, want %v", got, want)
	}
	for _, c := range rep.Cases {
		switch c.Name {
		case "submit":
			if l := c.Latencies["submit"]; l.Count == 0 || l.P99 <= 0 || c.MasterCPUSeconds <= 0 {
				t.Errorf("submit via %s: latencies %+v, master CPU %v", c.Via, l, c.MasterCPUSeconds)
			}
		case "lease":
			if l := c.Latencies["lease"]; l.Count != p.Leases {
				t.Errorf("lease via %s: %d leases measured, want %d", c.Via, l.Count, p.Leases)
			}
		}
	}
	if len(rep.Failovers) != p.Kills {
		t.Fatalf("%d failovers recorded, want %d", len(rep.Failovers), p.Kills)
	}
	fo := rep.Failovers[0]
	if fo.Seconds <= 0 || fo.AckedBy == "" || fo.AckedBy == fo.Killed || fo.NewLeader == fo.Killed || fo.AppliedIndex == 0 {
		t.Errorf("failover %+v: want a time, a survivor that acknowledged, a new leader and the index all reached", fo)
	}

	var table bytes.Buffer
	rep.WriteTable(&table)
	for _, want := range []string{"cluster via follower", "submit: throughput (201/s)", ">= 10000 (single), >= 5000 (leader, follower)",
		"failover: failover max", "lease: lease p99 at 400/s offered"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	path, err := rep.WriteJSON(dir)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	b, err := os.ReadFile(filepath.Join(dir, "cluster-latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil || len(back.Cases) != len(want) || back.Cases[3].Via != ViaFollower ||
		back.Cases[3].Name != "submit" || len(back.Failovers) != 1 || filepath.Dir(path) != dir {
		t.Errorf("JSON read back: %v, %+v", err, back.Cases)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "tmp-cluster-*")); len(tmp) > 0 {
		t.Errorf("temporary folders left: %v", tmp)
	}
}

// The table puts each metric's values through the three ways in side by side, groups
// differing targets by way, and names the ways that missed.
func TestWriteTable(t *testing.T) {
	pass := func(v bool) *bool { return &v }
	rep := Report{Cases: []Case{
		{Via: ViaSingle, CaseResult: masterbench.CaseResult{Name: "submit", Metrics: []masterbench.Metric{
			masterbench.AtLeast("throughput (201/s)", 12000, "/s", 10000), masterbench.Info("latency p50", 1.5, "ms")}}},
		{Via: ViaLeader, CaseResult: masterbench.CaseResult{Name: "submit", Metrics: []masterbench.Metric{
			masterbench.AtLeast("throughput (201/s)", 6000, "/s", 5000), masterbench.Info("latency p50", 4, "ms")}}},
		{Via: ViaFollower, CaseResult: masterbench.CaseResult{Name: "submit", Metrics: []masterbench.Metric{
			masterbench.AtLeast("throughput (201/s)", 4000, "/s", 5000), masterbench.Info("latency p50", 6, "ms")}}},
		{Via: ViaLeader, CaseResult: masterbench.CaseResult{Name: "failover", Metrics: []masterbench.Metric{
			{Name: "failover max", Value: 2.25, Unit: "s", Target: "<= 3", Pass: pass(true)}}}},
	}}
	var b bytes.Buffer
	rep.WriteTable(&b)
	lines := strings.Split(b.String(), "\n")
	find := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return strings.Join(strings.Fields(l), " ")
			}
		}
		t.Fatalf("no line %q in:\n%s", prefix, b.String())
		return ""
	}
	for prefix, want := range map[string]string{
		"submit: throughput": "submit: throughput (201/s) 12000 /s 6000 /s 4000 /s >= 10000 (single), >= 5000 (leader, follower) NO (follower)",
		"submit: latency":    "submit: latency p50 1.50 ms 4 ms 6 ms",
		"failover: failover": "failover: failover max - 2.25 s - <= 3 yes",
	} {
		if got := find(prefix); got != want {
			t.Errorf("line\n %q\nwant\n %q", got, want)
		}
	}
}
