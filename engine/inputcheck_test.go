package engine_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// A local input that is not a regular file fails at once with an input error naming it and
// what it is, instead of blocking in open(2) (a named pipe) or failing with libav's words.
func TestRunRefusesNonRegularInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.ts")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.ts")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	folder := filepath.Join(dir, "folder.mp4")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ url, path, what string }{
		{fifo, fifo, "named pipe"},
		{"file:" + fifo, fifo, "named pipe"},
		{"file://" + fifo, fifo, "named pipe"},
		{link, link, "named pipe"},
		{"/dev/zero", "/dev/zero", "device"},
		{folder, folder, "folder"},
		{sock, sock, "socket"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := engine.Run(ctx, spec.Spec{Input: spec.Input{URL: tc.url},
				Outputs: []spec.Output{{Target: filepath.Join(out, "out.mp4"), Video: fast(64, 64)}}}, nil)
			if ctx.Err() != nil {
				t.Fatalf("Run blocked until its deadline: %v", err)
			}
			e := engineErr(t, err, engine.KindInput)
			if e.Transient() {
				t.Error("a non-regular input is reported as transient: retrying cannot help")
			}
			var nr *engine.NotRegularFileError
			if !errors.As(err, &nr) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.what) {
				t.Errorf("error %q (%T) does not name %s as a %s", err, errors.Unwrap(err), tc.path, tc.what)
			}
			assertNoOutput(t, out)
		})
	}
}

// A local input whose format the input's format_whitelist leaves out (a worker's policy)
// fails naming the format libav recognised, not with a bare "Invalid argument"; a file name
// that makes libav read an image sequence (image2) is such a format, though the file is a
// PNG.
func TestRunNamesRefusedFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	png := filepath.Join(dir, "still.png")
	runTool(t, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64", "-frames:v", "1", png)
	b, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	pattern := filepath.Join(dir, "frame%03d.png")
	if err := os.WriteFile(pattern, b, 0o644); err != nil {
		t.Fatal(err)
	}
	const images = "mov,png_pipe,jpeg_pipe"
	tests := []struct {
		name, url, whitelist, refused string
	}{
		{"png outside the list", png, "mov,matroska", "png_pipe"},
		{"png in the list", png, images, ""},
		{"image sequence name", pattern, images, "image2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res, err := engine.Run(ctx, spec.Spec{
				Input:   spec.Input{URL: tc.url, Options: map[string]string{"format_whitelist": tc.whitelist}},
				Outputs: []spec.Output{{Target: filepath.Join(out, "out.mp4"), Video: fast(0, 0), Audio: &spec.Audio{Codec: "none"}}},
			}, nil)
			if tc.refused == "" {
				if err != nil || res.Input.Format != "png_pipe" || res.Frames != 1 {
					t.Fatalf("a PNG with png_pipe allowed: %v, input %+v, %d frames", err, res.Input, res.Frames)
				}
				return
			}
			engineErr(t, err, engine.KindInput)
			var fe *engine.FormatNotAllowedError
			if !errors.As(err, &fe) || fe.Format != tc.refused {
				t.Fatalf("error %q does not name format %s as refused", err, tc.refused)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.url) || !strings.Contains(msg, "input format "+tc.refused+" is not allowed") {
				t.Errorf("message %q", msg)
			}
			assertNoOutput(t, out)
		})
	}
}

// A canceled run stuck in a read that libav's interrupt cannot reach (a blocking pipe: the
// kernel restarts the read after every signal) is abandoned about a second after the
// cancel, and its partial outputs are removed.
func TestRunAbandonsStuckRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.ts")
	run(t, spec.Spec{Input: spec.Input{Synthetic: &spec.Synthetic{Width: 64, Height: 64, Duration: 1, NoAudio: true}},
		Outputs: []spec.Output{{Target: src, Video: fast(64, 64)}}}, nil)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil { // blocking, unlike os.Pipe
		t.Fatal(err)
	}
	w := os.NewFile(uintptr(fds[1]), "pipe writer")
	// A second of stream, then silence with the writer open: the run opens the input, starts
	// its output and blocks in read(2).
	go w.Write(data)
	t.Cleanup(func() { w.Close() }) // lets the abandoned read end

	out := t.TempDir()
	err, took := runCancelled(t, spec.Spec{
		Input: spec.Input{URL: "pipe:" + strconv.Itoa(fds[0]), Format: "mpegts",
			Options: map[string]string{"probesize": "32768", "analyzeduration": "100000"}},
		Outputs: []spec.Output{
			{Name: "file", Target: filepath.Join(out, "sub", "out.mp4"), Video: fast(64, 64)},
			{Name: "hls", Container: "hls", Target: filepath.Join(out, "hls"), Video: fast(64, 64)},
		},
	}, 1500*time.Millisecond)
	engineErr(t, err, engine.KindCanceled)
	if !strings.Contains(err.Error(), "abandoned") {
		t.Errorf("error %q does not say the run was abandoned", err)
	}
	if took > 2500*time.Millisecond {
		t.Errorf("Run returned %v after the cancel, want about a second", took)
	}
	assertNoOutput(t, out)
}
