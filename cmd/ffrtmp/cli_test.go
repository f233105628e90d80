package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bin is the ffrtmp binary built once for these tests: they drive it as a user would.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ffrtmp-cli-test")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "ffrtmp")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.Stderr.WriteString("building ffrtmp failed (run through `make test`, which sets up FFmpeg)\n")
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ffrtmp runs the binary and returns stdout, stderr and the exit code.
func ffrtmp(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run ffrtmp %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

func ffprobeBin(t *testing.T) string {
	t.Helper()
	prefix := os.Getenv("FFRTMP_FFMPEG_PREFIX")
	if prefix == "" {
		prefix = "/opt/ffrtmp/ffmpeg-7.1"
	}
	p := filepath.Join(prefix, "bin", "ffprobe")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("ffprobe not found at %s: run `make deps`", p)
	}
	return p
}

// probeVideo returns "codec WxH frames" of the first video stream, as ffprobe counts it.
func probeVideo(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(ffprobeBin(t), "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0:s=x", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

func TestTranscodeFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stdout, stderr, code := ffrtmp(t, dir, "transcode", "--synthetic", "320x240@25", "--duration", "2",
		"-o", "out.mp4", "--preset", "veryfast", "--bitrate", "500k", "--size", "160x120")
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	if got, want := probeVideo(t, filepath.Join(dir, "out.mp4")), "h264x160x120x50"; got != want {
		t.Errorf("output video = %q, want %q", got, want)
	}
	if !strings.Contains(stdout, "out.mp4") || !strings.Contains(stdout, "libx264") {
		t.Errorf("summary does not name the output and its encoder:\n%s", stdout)
	}
}

func TestTranscodeLadderHLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, stderr, code := ffrtmp(t, dir, "transcode", "--synthetic", "640x360@30", "--duration", "3",
		"--ladder", "360p,240p", "--hls", "--preset", "ultrafast", "-o", "hls")
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	master, err := os.ReadFile(filepath.Join(dir, "hls", "master.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"RESOLUTION=640x360", "RESOLUTION=426x240", "360p/index.m3u8", "240p/index.m3u8", "CODECS=\"avc1."} {
		if !strings.Contains(string(master), want) {
			t.Errorf("master playlist lacks %q:\n%s", want, master)
		}
	}
	if got := probeVideo(t, filepath.Join(dir, "hls", "240p", "index.m3u8")); !strings.HasPrefix(got, "h264x426x240x") {
		t.Errorf("240p rendition = %q", got)
	}
}

func TestTranscodeJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stdout, stderr, code := ffrtmp(t, dir, "transcode", "--synthetic", "160x120", "--duration", "1", "-o", "o.mkv", "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	var last, progress map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	n := 0
	for sc.Scan() {
		last = nil
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("line %d is not JSON: %q", n+1, sc.Text())
		}
		if last["type"] == "progress" {
			progress = last
		}
		n++
	}
	if progress == nil {
		t.Fatal("no progress event")
	}
	p := progress["progress"].(map[string]any)
	if p["final"] != true || p["percent"] != 100.0 || p["outputs"].([]any)[0].(map[string]any)["frames_out"] != 30.0 {
		t.Errorf("last progress event = %v, want final, 100 %%, 30 frames out", p)
	}
	if n < 2 || last["type"] != "result" {
		t.Fatalf("want progress lines then a result, got %d lines ending with %v", n, last)
	}
	res := last["result"].(map[string]any)
	outs := res["outputs"].([]any)
	if enc := outs[0].(map[string]any)["video_encoder"]; enc != "libx264" {
		t.Errorf("result names video encoder %v, want libx264", enc)
	}
}

func TestTranscodeSpecFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := `{"input":{"synthetic":{"width":160,"height":120,"fps":"30000/1001","duration":1,"no_audio":true}},
	  "outputs":[{"target":"a.ts","video":{"bitrate":"200k","preset":"ultrafast"},"audio":{"codec":"none"}}]}`
	os.WriteFile(filepath.Join(dir, "job.json"), []byte(spec), 0o644)
	_, stderr, code := ffrtmp(t, dir, "transcode", "--spec", "job.json", "-q")
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	if got := probeVideo(t, filepath.Join(dir, "a.ts")); !strings.HasPrefix(got, "h264x160x120x") {
		t.Errorf("a.ts = %q", got)
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "unknown.json"), []byte(`{"input":{"url":"a.mp4"},"outputs":[{"target":"b.mp4","vidoe":{}}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"input":{"url":"a.mp4"},"outputs":[{"target":"b.mp4","video":{"codec":"mpeg2"}}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "random.bin"), bytes.Repeat([]byte{0x5a, 0x13, 0xc7}, 30000), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no input", []string{"transcode", "-o", "x.mp4"}, 2, "no input"},
		{"no output", []string{"transcode", "-i", "x.mp4"}, 2, "no output"},
		{"unknown flag", []string{"transcode", "--bogus"}, 2, "unknown flag: --bogus"},
		{"unknown command", []string{"bogus"}, 2, "unknown command"},
		{"bad size", []string{"transcode", "-i", "x.mp4", "-o", "y.mp4", "--size", "big"}, 2, "size \"big\""},
		{"bad bitrate", []string{"transcode", "-i", "x.mp4", "-o", "y.mp4", "--bitrate", "fast"}, 2, "--bitrate"},
		{"unknown rung", []string{"transcode", "-i", "x.mp4", "-o", "d", "--ladder", "1080p,999p"}, 2, "unknown ladder rung \"999p\""},
		{"spec plus flags", []string{"transcode", "--spec", "bad.json", "--vcodec", "libx264"}, 2, "--spec cannot be combined with --vcodec"},
		{"spec unknown field", []string{"transcode", "--spec", "unknown.json"}, 2, "unknown field \"vidoe\""},
		{"spec bad codec", []string{"transcode", "--spec", "bad.json"}, 2, "outputs[0].video.codec"},
		{"probe needs one input", []string{"probe"}, 2, "accepts 1 arg"},
		{"missing input", []string{"transcode", "-i", "nope.mp4", "-o", "y.mp4"}, 1, "open input nope.mp4: No such file or directory"},
		{"not media", []string{"transcode", "-i", "random.bin", "-o", "y.mp4"}, 1, "random.bin"},
		{"hardware required", []string{"transcode", "--synthetic", "64x64", "--duration", "1", "-o", "y.mp4", "--hw", "require", "--vcodec", "h264_nvenc"}, 1, "cuda"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := ffrtmp(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr: %s)", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "y.mp4")); err == nil {
		t.Error("a failed run left y.mp4 behind")
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, stderr, code := ffrtmp(t, dir, "transcode", "--synthetic", "160x120", "--duration", "1", "-o", "a.mp4", "-q"); code != 0 {
		t.Fatalf("transcode: %s", stderr)
	}
	stdout, stderr, code := ffrtmp(t, dir, "probe", "-o", "json", "a.mp4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Streams []struct {
			Type, Codec   string
			Width, Height int
		}
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("probe output is not JSON: %v\n%s", err, stdout)
	}
	if len(res.Streams) != 2 || res.Streams[0].Codec != "h264" || res.Streams[0].Width != 160 || res.Streams[1].Codec != "aac" {
		t.Errorf("streams = %+v", res.Streams)
	}
	table, stderr, code := ffrtmp(t, dir, "probe", "a.mp4")
	if code != 0 || !strings.Contains(table, "video") || !strings.Contains(table, "160x120 yuv420p") || !strings.Contains(table, "aac") {
		t.Errorf("probe table (exit %d): %s\n%s", code, stderr, table)
	}
}

func TestInterruptLeavesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(bin, "transcode", "--synthetic", "1280x720", "--duration", "600", "-o", "long.mp4", "--preset", "ultrafast")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("interrupted run: %v, want exit 1", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("ffrtmp did not stop after SIGINT")
	}
	if !strings.Contains(stderr.String(), "canceled") {
		t.Errorf("stderr does not say the run was canceled: %s", stderr.String())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("interrupted run left %s behind", e.Name())
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	stdout, _, code := ffrtmp(t, t.TempDir(), "version")
	if code != 0 || !strings.Contains(stdout, "ffmpeg     7.1.") || !strings.Contains(stdout, "go-astiav  v0.39.0") {
		t.Errorf("version (exit %d):\n%s", code, stdout)
	}
}

// A relative output name that looks like a libav protocol is still a plain file.
func TestOutputNameLikeAProtocol(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, stderr, code := ffrtmp(t, dir, "transcode", "--synthetic", "64x64", "--duration", "1", "-o", "concat:x.mp4", "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := probeVideo(t, filepath.Join(dir, "concat:x.mp4")); !strings.HasPrefix(got, "h264x64x64x") {
		t.Errorf("concat:x.mp4 = %q", got)
	}
}

// A named pipe as input fails at once, naming it, instead of blocking in open(2) forever.
func TestTranscodeRefusesFIFO(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "in.ts")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "transcode", "-i", fifo, "-o", "out.mp4", "-q")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatal("ffrtmp transcode of a FIFO did not end in 30 s")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want 1", err)
	}
	if msg := stderr.String(); !strings.Contains(msg, fifo) || !strings.Contains(msg, "named pipe") || !strings.Contains(msg, "not a regular file") {
		t.Errorf("stderr does not name the FIFO and say what is wrong: %s", msg)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.mp4")); err == nil {
		t.Error("an output was written")
	}
}

// SIGINT or SIGTERM stops a transcode whose input read is stuck in the kernel (stdin, a
// pipe nobody writes to, where libav's interrupt cannot reach), within a few seconds.
func TestTranscodeSignalWhileBlocked(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var fds [2]int
			if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil { // blocking, unlike os.Pipe
				t.Fatal(err)
			}
			r, w := os.NewFile(uintptr(fds[0]), "stdin"), os.NewFile(uintptr(fds[1]), "writer")
			defer w.Close() // held open and silent: the read blocks
			cmd := exec.Command(bin, "transcode", "-i", "pipe:0", "-o", "out.mp4")
			cmd.Dir, cmd.Stdin = dir, r
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			r.Close()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				t.Fatalf("ffrtmp ended before the signal: %v\n%s", err, stderr.String())
			case <-time.After(1500 * time.Millisecond):
			}
			sent := time.Now()
			cmd.Process.Signal(sig)
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 1 {
					t.Errorf("after %v: %v, want exit 1", sig, err)
				}
				if took := time.Since(sent); took > 3*time.Second {
					t.Errorf("ffrtmp took %v to stop after %v", took, sig)
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("ffrtmp did not stop 10 s after %v:\n%s", sig, stderr.String())
			}
			if msg := stderr.String(); !strings.Contains(msg, "canceled") {
				t.Errorf("stderr does not say the run was canceled: %s", msg)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				t.Errorf("left behind: %s", e.Name())
			}
		})
	}
}
