package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// clientFarm is a real master on loopback and an environment that points the ffrtmp binary at
// it, with HOME and XDG_CONFIG_HOME in a temp folder so that no user's config is read.
type clientFarm struct {
	h   *mastertest.Harness
	dir string
	env []string
}

func newClientFarm(t *testing.T) *clientFarm {
	t.Helper()
	h := mastertest.Start(t)
	dir := t.TempDir()
	return &clientFarm{h: h, dir: dir, env: isolatedEnv(dir, "FFRTMP_MASTER="+h.URL, "FFRTMP_API_KEY="+mastertest.AdminKey)}
}

// isolatedEnv is this process's environment without ffrtmp's variables, with home in dir,
// plus extra.
func isolatedEnv(dir string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FFRTMP_") && k != "FFRTMP_FFMPEG_PREFIX" || k == "MASTER_API_KEY" || k == "FFMPEG_RTMP_API_KEY" ||
			k == "HOME" || k == "XDG_CONFIG_HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, append([]string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir}, extra...)...)
}

// run runs the binary in the farm's folder with stdin and returns stdout, stderr and the exit
// code.
func (f *clientFarm) run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return runWithEnv(t, f.dir, f.env, stdin, args...)
}

func runWithEnv(t *testing.T, dir string, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("ffrtmp %v did not finish within a minute", args)
	}
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run ffrtmp %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// mustRun is run that fails the test unless the command exits 0.
func (f *clientFarm) mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	stdout, stderr, code := f.run(t, stdin, args...)
	if code != 0 {
		t.Fatalf("ffrtmp %s: exit %d, stderr: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// checkWidth fails when a line of out is wider than a table may be.
func checkWidth(t *testing.T, out string) {
	t.Helper()
	for i, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if n := utf8.RuneCountInString(l); n > tableWidth {
			t.Errorf("line %d is %d columns wide (at most %d): %q", i+1, n, tableWidth, l)
		}
	}
}

var fixtureNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fixtureNodes: a 2-GPU NVENC node under load, a CPU-only node draining, an H100 (no NVENC)
// that went offline before its first telemetry, and two nodes sharing a name.
func fixtureNodes() []api.Node {
	l4 := func(i int) api.GPU {
		return api.GPU{Index: i, UUID: "GPU-l4", Name: "NVIDIA L4", MemoryTotalMB: 23034, EncoderSessions: 8}
	}
	return []api.Node{
		{
			ID: "node-01jq3v8k2m", Name: "gpu-01", Version: "v0.5.0", Status: api.NodeOnline,
			Labels: map[string]string{"zone": "eu", "tier": "gpu"}, Address: "10.0.0.7:53122",
			Capabilities: api.Capabilities{CPUs: 32, MemoryBytes: 128 << 30, Slots: 4, PixelRate: 497_664_000,
				Encoders: []string{"libx264", "h264_nvenc", "hevc_nvenc", "av1_nvenc", "aac", "libopus"},
				Decoders: []string{"h264_cuvid", "hevc_cuvid", "av1_cuvid"}, Hardware: []string{"cuda"},
				GPUs: []api.GPU{l4(0), l4(1)}},
			Telemetry: &api.Telemetry{CPUPercent: 41.6, MemoryUsed: 18 << 30, LoadAverage: 6.25, GPUs: []api.GPUTelemetry{
				{Index: 0, Utilization: 87, EncoderUtilization: 45, DecoderUtilization: 12, MemoryUsedMB: 10240,
					PowerWatts: 62.5, TemperatureC: 71, EncoderSessions: 3, EncoderFPS: 412.4, EncoderLatencyUs: 2100},
				{Index: 1, Utilization: 12, EncoderUtilization: 0, DecoderUtilization: 3, MemoryUsedMB: 2048,
					PowerWatts: 18.2, TemperatureC: 45},
			}},
			RunningJobs:  []string{"01JQ3VA0000000000000000001", "01JQ3VA0000000000000000002"},
			RegisteredAt: fixtureNow.Add(-3 * time.Hour), LastHeartbeat: fixtureNow.Add(-4 * time.Second),
		},
		{
			ID: "node-01jq3v9x7c", Name: "cpu-01", Version: "v0.5.0", Status: api.NodeDraining,
			Capabilities: api.Capabilities{CPUs: 16, MemoryBytes: 64 << 30, Slots: 2,
				Encoders: []string{"libx264", "aac", "libopus"}},
			Telemetry:    &api.Telemetry{CPUPercent: 93.4, MemoryUsed: 9 << 30, LoadAverage: 15.1},
			RunningJobs:  []string{"01JQ3VA0000000000000000003"},
			RegisteredAt: fixtureNow.Add(-50 * time.Hour), LastHeartbeat: fixtureNow.Add(-75 * time.Second),
		},
		{
			ID: "node-01jq3vb2pq", Name: "h100-a", Status: api.NodeOffline,
			Capabilities: api.Capabilities{CPUs: 64, Slots: 0, Encoders: []string{"libx264", "aac"},
				Decoders: []string{"h264_cuvid"}, Hardware: []string{"cuda"},
				GPUs: []api.GPU{{Index: 0, Name: "NVIDIA H100 80GB HBM3", MemoryTotalMB: 81559}}},
			RunningJobs:  []string{},
			RegisteredAt: fixtureNow.Add(-6 * time.Hour), LastHeartbeat: fixtureNow.Add(-3 * time.Hour),
		},
		{ID: "node-01jq3vc000", Name: "edge", Status: api.NodeOnline, Capabilities: api.Capabilities{Slots: 1, Encoders: []string{"libx264", "h264_qsv", "h264_vaapi"}},
			RunningJobs: []string{}, LastHeartbeat: fixtureNow.Add(-9 * 24 * time.Hour)},
		{ID: "node-01jq3vc001", Name: "edge", Status: api.NodeOnline, Capabilities: api.Capabilities{Slots: 1},
			RunningJobs: []string{}},
		// A long host name: the table still fits, cutting it.
		{ID: "node-01jq3vd000", Name: "transcoder-gpu-rack12-node07.eu-west.example.internal", Status: api.NodeOnline,
			Capabilities: api.Capabilities{Slots: 8, Encoders: []string{"libx264", "h264_nvenc"},
				GPUs: []api.GPU{{Index: 0, Name: "NVIDIA L40S", MemoryTotalMB: 46068, EncoderSessions: 12}}},
			Telemetry: &api.Telemetry{CPUPercent: 100, GPUs: []api.GPUTelemetry{{Index: 0, Utilization: 100,
				EncoderUtilization: 100, DecoderUtilization: 100, MemoryUsedMB: 46068, PowerWatts: 350, TemperatureC: 88}}},
			RunningJobs: []string{"a", "b", "c", "d", "e", "f", "g", "h"}, LastHeartbeat: fixtureNow.Add(-59 * time.Minute)},
	}
}

func TestNodesListGolden(t *testing.T) {
	var b bytes.Buffer
	header, rows := nodesTable(fixtureNodes(), fixtureNow)
	writeTable(&b, header, rows)
	checkWidth(t, b.String())
	golden(t, "nodes-list.txt", b.String())
}

func TestNodesGetGolden(t *testing.T) {
	for i, name := range []string{"nodes-get-gpu.txt", "nodes-get-cpu.txt", "nodes-get-offline.txt"} {
		var b bytes.Buffer
		writeNode(&b, fixtureNodes()[i], fixtureNow)
		checkWidth(t, b.String())
		golden(t, name, b.String())
	}
}

func TestEncoderFamilies(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"aac", "libopus"}, ""},
		{[]string{"libx264", "h264_nvenc", "hevc_nvenc", "av1_nvenc"}, "x264,nvenc"},
		{[]string{"h264_qsv", "libx264", "hevc_vaapi", "hevc_qsv"}, "qsv,x264,vaapi"},
		{[]string{"mjpeg"}, "mjpeg"},
	}
	for _, tc := range tests {
		if got := encoderFamilies(tc.in); got != tc.want {
			t.Errorf("encoderFamilies(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// registerGPUNode registers a worker node with two GPUs and sends a heartbeat with their
// telemetry, as a worker would.
func registerGPUNode(t *testing.T, h *mastertest.Harness, id, name string) api.Node {
	t.Helper()
	ctx := context.Background()
	w := h.Client(t, auth.RoleWorker)
	fx := fixtureNodes()[0]
	n, err := w.Register(ctx, api.Registration{ID: id, Name: name, Version: "test", Labels: map[string]string{"zone": "eu"},
		Capabilities: fx.Capabilities})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if _, err := w.Heartbeat(ctx, n.ID, api.Heartbeat{Telemetry: *fx.Telemetry, RunningJobs: []string{}}); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	return n.Node
}

func TestNodesAgainstMaster(t *testing.T) {
	t.Parallel()
	f := newClientFarm(t)
	n := registerGPUNode(t, f.h, "node-gpu-a", "gpu-a")
	registerGPUNode(t, f.h, "node-twin-1", "twin")
	registerGPUNode(t, f.h, "node-twin-2", "twin")

	var list api.NodeList
	out := f.mustRun(t, "", "nodes", "list", "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("nodes list -o json does not parse as a NodeList: %v\n%s", err, out)
	}
	if len(list.Nodes) != 3 || list.Nodes[0].ID != n.ID || list.Nodes[0].Telemetry == nil || len(list.Nodes[0].Telemetry.GPUs) != 2 ||
		list.Nodes[0].Telemetry.GPUs[0].EncoderUtilization != 45 {
		t.Fatalf("nodes list -o json = %+v, want the 3 registered nodes with their GPU telemetry", list.Nodes)
	}

	table, stderr, code := f.run(t, "", "nodes", "list")
	if code != 0 {
		t.Fatalf("nodes list: exit %d: %s", code, stderr)
	}
	checkWidth(t, table)
	for _, want := range []string{"gpu-a", "online", "x264,nvenc", "87%", "45/12", "12.0/45.0", "71C", "81W", "twin"} {
		if !strings.Contains(table, want) {
			t.Errorf("nodes list lacks %q:\n%s", want, table)
		}
	}
	if !strings.Contains(stderr, "several nodes are named twin: name them by ID") {
		t.Errorf("nodes list does not warn that twin names two nodes; stderr: %q", stderr)
	}

	for _, arg := range []string{n.ID, "gpu-a"} {
		var got api.Node
		out := f.mustRun(t, "", "nodes", "get", arg, "-o", "json")
		if err := json.Unmarshal([]byte(out), &got); err != nil || got.ID != n.ID || got.Labels["zone"] != "eu" {
			t.Errorf("nodes get %s -o json = %v, %+v", arg, err, got)
		}
	}
	out = f.mustRun(t, "", "nodes", "get", "gpu-a", "-o", "yaml")
	var y map[string]any
	if err := yaml.Unmarshal([]byte(out), &y); err != nil || y["id"] != n.ID {
		t.Errorf("nodes get -o yaml = %v, %v:\n%s", err, y["id"], out)
	}
	detail := f.mustRun(t, "", "nodes", "get", "gpu-a")
	checkWidth(t, detail)
	for _, want := range []string{"ID:           node-gpu-a", "Status:       online", "zone=eu", "h264_nvenc", "NVIDIA L4", "3/8"} {
		if !strings.Contains(detail, want) {
			t.Errorf("nodes get lacks %q:\n%s", want, detail)
		}
	}

	_, stderr, code = f.run(t, "", "nodes", "get", "twin")
	if code != exitUsage || !strings.Contains(stderr, "node-twin-1, node-twin-2") || !strings.Contains(stderr, "by its ID") {
		t.Errorf("nodes get of a shared name: exit %d, stderr %q; want exit 2 naming both IDs", code, stderr)
	}

	out = f.mustRun(t, "", "nodes", "drain", "gpu-a")
	if !strings.Contains(out, "gpu-a (node-gpu-a) is draining") {
		t.Errorf("nodes drain printed %q", out)
	}
	got, err := f.h.Client(t, auth.RoleAdmin).GetNode(context.Background(), n.ID)
	if err != nil || got.Status != api.NodeDraining {
		t.Errorf("after drain the master says %v, %v; want draining", got, err)
	}
	out = f.mustRun(t, "", "nodes", "undrain", "gpu-a")
	if !strings.Contains(out, "gpu-a (node-gpu-a) is online: it takes jobs again") {
		t.Errorf("nodes undrain printed %q", out)
	}
	if got, err := f.h.Client(t, auth.RoleAdmin).GetNode(context.Background(), n.ID); err != nil || got.Status != api.NodeOnline {
		t.Errorf("after undrain the master says %v, %v; want online", got, err)
	}

	out = f.mustRun(t, "", "nodes", "remove", n.ID)
	if !strings.Contains(out, "node gpu-a (node-gpu-a) removed") {
		t.Errorf("nodes remove printed %q", out)
	}
	if _, err := f.h.Client(t, auth.RoleAdmin).GetNode(context.Background(), n.ID); !api.IsNotFound(err) {
		t.Errorf("after remove GetNode = %v, want not found", err)
	}

	for _, args := range [][]string{
		{"nodes", "get", n.ID}, {"nodes", "drain", "nope"}, {"nodes", "remove", "nope"}, {"nodes", "get", ".."},
	} {
		_, stderr, code := f.run(t, "", args...)
		if code != exitNotFound || !strings.Contains(stderr, "not found on the master at "+f.h.URL) {
			t.Errorf("ffrtmp %s: exit %d, stderr %q; want exit 3, not found", strings.Join(args, " "), code, stderr)
		}
	}
}

func TestNodesUsageAndAuth(t *testing.T) {
	t.Parallel()
	f := newClientFarm(t)
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr string
	}{
		{"no node", nil, []string{"nodes", "get"}, exitUsage, "accepts 1 arg"},
		{"bad format", nil, []string{"nodes", "list", "-o", "xml"}, exitUsage, `-o "xml": want table, json or yaml`},
		{"unknown subcommand", nil, []string{"nodes", "lsit"}, exitUsage, `unknown command "lsit"`},
		{"refused key", []string{"FFRTMP_API_KEY=wrong"}, []string{"nodes", "list"}, exitAuth, "refused the API key (from FFRTMP_API_KEY)"},
		{"worker key", []string{"FFRTMP_API_KEY=" + mastertest.WorkerKey}, []string{"nodes", "remove", "x"}, exitAuth, "role may not"},
		{"no master", []string{"FFRTMP_MASTER=http://127.0.0.1:1"}, []string{"nodes", "list"}, exitFailed, "no master at http://127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runWithEnv(t, f.dir, append(slices.Clone(f.env), tc.env...), "", tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
		})
	}
}
