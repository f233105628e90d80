// Package dockertest checks that Dockerfile.cuda builds FFmpeg and the worker the way the
// Makefile and scripts/build-ffmpeg.sh do. It reads files only: no Docker needed.
package dockertest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const root = "../.."

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd   string // upper case: FROM, RUN, ENV, ...
	args  string
	stage int // index of the FROM it belongs to; -1 before the first
}

// dockerfile is Dockerfile.cuda parsed just enough for the checks below.
type dockerfile struct {
	ins    []instruction
	stages []string          // stage names ("" when unnamed), by index
	images []string          // FROM images, ARGs expanded
	vars   map[string]string // ARG defaults (global and per stage), all stages together
	env    []map[string]string
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	d := &dockerfile{vars: map[string]string{}}
	var lines []string
	cur := ""
	for _, l := range strings.Split(readFile(t, "Dockerfile.cuda"), "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") || (cur == "" && trimmed == "") {
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur += s + " "
			continue
		}
		lines = append(lines, cur+trimmed)
		cur = ""
	}
	stage := -1
	for _, l := range lines {
		cmd, args, _ := strings.Cut(l, " ")
		cmd = strings.ToUpper(cmd)
		args = strings.TrimSpace(args)
		switch cmd {
		case "FROM":
			stage++
			f := strings.Fields(args)
			name := ""
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				name = f[2]
			}
			d.stages = append(d.stages, name)
			d.images = append(d.images, d.expand(f[0]))
			d.env = append(d.env, map[string]string{})
		case "ARG":
			if k, v, ok := strings.Cut(args, "="); ok {
				d.vars[k] = unquote(v)
			}
		case "ENV":
			if stage < 0 {
				t.Fatalf("ENV before FROM: %s", l)
			}
			for k, v := range envPairs(t, args) {
				d.env[stage][k] = d.expand(v)
			}
		}
		d.ins = append(d.ins, instruction{cmd: cmd, args: args, stage: stage})
	}
	if len(d.stages) < 2 {
		t.Fatalf("Dockerfile.cuda has %d stages, want a build and a runtime stage", len(d.stages))
	}
	return d
}

func (d *dockerfile) expand(s string) string {
	return os.Expand(s, func(k string) string { return d.vars[k] })
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// envPairs splits `ENV A=1 B="x y"` into its pairs.
func envPairs(t *testing.T, args string) map[string]string {
	t.Helper()
	out := map[string]string{}
	re := regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)`)
	for _, m := range re.FindAllStringSubmatch(args, -1) {
		out[m[1]] = unquote(m[2])
	}
	if len(out) == 0 {
		t.Fatalf("ENV %s: want KEY=value pairs", args)
	}
	return out
}

// makeVars reads the Makefile's plain assignments (?=, :=, =) with $(VAR) expanded.
func makeVars(t *testing.T) map[string]string {
	t.Helper()
	vars := map[string]string{}
	re := regexp.MustCompile(`^(?:export\s+)?([A-Z_][A-Z0-9_]*)\s*(?:\?=|:=|=)\s*(.*)$`)
	ref := regexp.MustCompile(`\$\(([A-Z_][A-Z0-9_]*)\)`)
	for _, l := range strings.Split(readFile(t, "Makefile"), "\n") {
		m := re.FindStringSubmatch(l)
		if m == nil || strings.HasSuffix(m[2], `\`) {
			continue
		}
		vars[m[1]] = ref.ReplaceAllStringFunc(m[2], func(r string) string { return vars[r[2:len(r)-1]] })
	}
	for _, k := range []string{"FFMPEG_PREFIX", "CGO_LDFLAGS", "CGO_CFLAGS", "PKG_CONFIG_PATH"} {
		if vars[k] == "" {
			t.Fatalf("Makefile: no %s", k)
		}
	}
	return vars
}

func (d *dockerfile) final() int { return len(d.stages) - 1 }

func (d *dockerfile) runs(stage int) []string {
	var out []string
	for _, in := range d.ins {
		if in.cmd == "RUN" && (stage < 0 || in.stage == stage) {
			out = append(out, in.args)
		}
	}
	return out
}

// buildScriptStage is the stage that runs scripts/build-ffmpeg.sh, and that RUN line.
func (d *dockerfile) buildScriptStage(t *testing.T) (int, string) {
	t.Helper()
	for _, in := range d.ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "scripts/build-ffmpeg.sh") {
			return in.stage, in.args
		}
	}
	t.Fatal("Dockerfile.cuda never runs scripts/build-ffmpeg.sh: FFmpeg must come from the project's script")
	return 0, ""
}

func TestDockerfileBuildsFFmpegWithTheScript(t *testing.T) {
	d, mk := parseDockerfile(t), makeVars(t)
	stage, run := d.buildScriptStage(t)
	if stage == d.final() {
		t.Error("FFmpeg is built in the runtime stage; build it in a build stage")
	}
	for _, r := range d.runs(-1) {
		if strings.Contains(r, "configure") || strings.Contains(r, "--enable-") {
			t.Errorf("RUN %q configures FFmpeg itself; the flags must come from scripts/build-ffmpeg.sh", r)
		}
	}
	m := regexp.MustCompile(`FFMPEG_PREFIX=(\S+)`).FindStringSubmatch(run)
	if m == nil {
		t.Fatalf("RUN %q: pass FFMPEG_PREFIX to the script", run)
	}
	if got := d.expand(m[1]); got != mk["FFMPEG_PREFIX"] {
		t.Errorf("Dockerfile builds FFmpeg into %q, the Makefile's FFMPEG_PREFIX is %q", got, mk["FFMPEG_PREFIX"])
	}
	sm := regexp.MustCompile(`(?m)^FFMPEG_PREFIX=\$\{FFMPEG_PREFIX:-([^}]+)\}`).FindStringSubmatch(readFile(t, "scripts/build-ffmpeg.sh"))
	if sm == nil || sm[1] != mk["FFMPEG_PREFIX"] {
		t.Errorf("scripts/build-ffmpeg.sh's default prefix %v differs from the Makefile's %q", sm, mk["FFMPEG_PREFIX"])
	}
	if !strings.Contains(d.images[stage], "ubuntu") {
		t.Errorf("build stage image %q: the script's Ubuntu package list assumes an Ubuntu base", d.images[stage])
	}
}

func TestDockerfileBuildsWorkerWithMakefileFlags(t *testing.T) {
	d, mk := parseDockerfile(t), makeVars(t)
	stage := -1
	for _, in := range d.ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/ffrtmp-worker") {
			stage = in.stage
			if !strings.Contains(in.args, "./cmd/ffrtmp ") && !strings.HasSuffix(in.args, "./cmd/ffrtmp") {
				t.Errorf("RUN %q: build ./cmd/ffrtmp too", in.args)
			}
			if !strings.Contains(in.args, "internal/version.Version=") {
				t.Errorf("RUN %q: set the version like the Makefile's LDFLAGS", in.args)
			}
		}
	}
	if stage < 0 {
		t.Fatal("Dockerfile.cuda has no `go build ... ./cmd/ffrtmp-worker`")
	}
	for _, k := range []string{"CGO_LDFLAGS", "CGO_CFLAGS", "PKG_CONFIG_PATH"} {
		if got := d.env[stage][k]; got != mk[k] {
			t.Errorf("Dockerfile's %s = %q, the Makefile's = %q", k, got, mk[k])
		}
	}
	if !strings.Contains(d.env[stage]["CGO_LDFLAGS"], "--disable-new-dtags") {
		t.Error("CGO_LDFLAGS must write the rpath as DT_RPATH (--disable-new-dtags)")
	}
}

func TestDockerfileRuntimeStage(t *testing.T) {
	d, mk := parseDockerfile(t), makeVars(t)
	final := d.final()
	buildStage, _ := d.buildScriptStage(t)
	env := d.env[final]
	caps := strings.Split(env["NVIDIA_DRIVER_CAPABILITIES"], ",")
	for _, c := range []string{"compute", "video", "utility"} {
		if !slices.Contains(caps, c) && !slices.Contains(caps, "all") {
			t.Errorf("runtime NVIDIA_DRIVER_CAPABILITIES=%q lacks %s", env["NVIDIA_DRIVER_CAPABILITIES"], c)
		}
	}
	if env["NVIDIA_VISIBLE_DEVICES"] == "" {
		t.Error("runtime stage does not set NVIDIA_VISIBLE_DEVICES")
	}
	user, entry, exposed, prefixCopied := "", "", false, false
	for _, in := range d.ins {
		if in.stage != final {
			continue
		}
		switch in.cmd {
		case "USER":
			user = strings.Split(in.args, ":")[0]
		case "ENTRYPOINT":
			entry = in.args
		case "EXPOSE":
			exposed = exposed || slices.Contains(strings.Fields(in.args), "9091")
		case "COPY":
			f := strings.Fields(d.expand(in.args))
			from := ""
			if len(f) > 0 {
				from, _ = strings.CutPrefix(f[0], "--from=")
			}
			want := d.stages[buildStage]
			if want == "" {
				want = strconv.Itoa(buildStage)
			}
			if from == want && len(f) == 3 && f[1] == mk["FFMPEG_PREFIX"] && f[2] == mk["FFMPEG_PREFIX"] {
				prefixCopied = true
			}
		}
	}
	if user == "" || user == "root" || user == "0" {
		t.Errorf("runtime stage runs as %q; want a non-root USER", user)
	}
	if !strings.Contains(entry, "ffrtmp-worker") {
		t.Errorf("ENTRYPOINT %q does not run ffrtmp-worker", entry)
	}
	if !exposed {
		t.Error("runtime stage does not EXPOSE the worker's metrics port 9091")
	}
	if !prefixCopied {
		t.Errorf("runtime stage does not COPY --from=%s %s %[2]s (the binaries' RPATH points there)", d.stages[buildStage], mk["FFMPEG_PREFIX"])
	}
}

// enablePackages maps each --enable-X of configure_flags to the Ubuntu -dev package it needs
// ("" when none: a build option, or headers the script installs itself). A new --enable in
// the script fails the test until it is listed here and the package is in UBUNTU_PACKAGES.
var enablePackages = map[string]string{
	"shared": "", "gpl": "", "version3": "", "encoders": "", "encoder": "",
	"libx264": "libx264-dev", "libopus": "libopus-dev", "libdav1d": "libdav1d-dev",
	"gnutls": "libgnutls28-dev", "vaapi": "libva-dev", "libvpl": "libvpl-dev",
	"ffnvcodec": "", "nvenc": "", "nvdec": "", "cuvid": "", // nv-codec-headers, from upstream
	"cuda-llvm": "clang",
	"libx265":   "libx265-dev", "libsvtav1": "libsvtav1enc-dev", "libvpx": "libvpx-dev",
	"libvmaf": "meson", // built from third_party/vmaf with meson (and ninja-build, xxd)
}

func TestUbuntuPackagesCoverConfigureFlags(t *testing.T) {
	script := readFile(t, "scripts/build-ffmpeg.sh")
	pm := regexp.MustCompile(`(?s)\nUBUNTU_PACKAGES=\(\s*(.*?)\)`).FindStringSubmatch(script)
	if pm == nil {
		t.Fatal("scripts/build-ffmpeg.sh has no UBUNTU_PACKAGES=( ... )")
	}
	pkgs := strings.Fields(pm[1])
	fm := regexp.MustCompile(`(?s)\nconfigure_flags\(\) \{(.*?)\n\}`).FindStringSubmatch(script)
	if fm == nil {
		t.Fatal("scripts/build-ffmpeg.sh has no configure_flags()")
	}
	enables := regexp.MustCompile(`--enable-([a-z0-9-]+)`).FindAllStringSubmatch(fm[1], -1)
	if len(enables) < 10 {
		t.Fatalf("configure_flags: found only %d --enable flags", len(enables))
	}
	for _, e := range enables {
		need, known := enablePackages[e[1]]
		switch {
		case !known:
			t.Errorf("configure_flags enables %s: add it to enablePackages (and its -dev package to UBUNTU_PACKAGES)", e[1])
		case need != "" && !slices.Contains(pkgs, need):
			t.Errorf("configure_flags enables %s but UBUNTU_PACKAGES lacks %s", e[1], need)
		}
	}
	for _, p := range []string{"build-essential", "pkgconf", "nasm", "curl"} {
		if !slices.Contains(pkgs, p) {
			t.Errorf("UBUNTU_PACKAGES lacks %s", p)
		}
	}
}
