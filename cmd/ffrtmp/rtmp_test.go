package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/internal/testport"
)

// The RTMP peer in these tests is the same FFmpeg build's ffmpeg program in listen mode,
// on loopback: a real RTMP server, until ffrtmp has its own ingest.

func ffmpegProgram(t *testing.T) string {
	t.Helper()
	return filepath.Join(filepath.Dir(ffprobeBin(t)), "ffmpeg")
}

func freePort(t *testing.T) string {
	t.Helper()
	return strconv.Itoa(testport.Free(t))
}

// waitListening waits until a socket listens on 127.0.0.1:port. A probe connection would be
// taken as the server's one RTMP client, so it reads the kernel's socket table instead.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	_, port, _ := strings.Cut(addr, ":")
	p, _ := strconv.Atoi(port)
	// /proc/net/tcp: local_address 0100007F:PORT (hex), st 0A = LISTEN
	want := fmt.Sprintf("0100007F:%04X 00000000:0000 0A", p)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile("/proc/net/tcp")
		if strings.Contains(string(b), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

func TestRTMPPush(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := "127.0.0.1:" + freePort(t)
	received := filepath.Join(dir, "received.flv")
	server := exec.Command(ffmpegProgram(t), "-hide_banner", "-loglevel", "error", "-listen", "1", "-timeout", "20",
		"-i", "rtmp://"+addr+"/live/test", "-c", "copy", "-y", received)
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Process.Kill(); server.Wait() })
	waitListening(t, addr)

	_, stderr, code := ffrtmp(t, dir, "transcode", "--synthetic", "320x240@30", "--duration", "2",
		"--preset", "ultrafast", "--bitrate", "400k", "-o", "rtmp://"+addr+"/live/test", "-q")
	if code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
	server.Wait()
	if got := probeVideo(t, received); got != "h264x320x240x60" {
		t.Errorf("the RTMP server received %q, want 60 H.264 frames at 320x240", got)
	}
}

func TestRTMPPull(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := "127.0.0.1:" + freePort(t)
	// A live publisher: paced at realtime, serving one player, then closing the connection.
	server := exec.Command(ffmpegProgram(t), "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=2", "-f", "lavfi", "-i", "sine=duration=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac",
		"-f", "flv", "-listen", "1", "rtmp://"+addr+"/live/x")
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Process.Kill(); server.Wait() })
	waitListening(t, addr)

	_, stderr, code := ffrtmp(t, dir, "transcode", "-i", "rtmp://"+addr+"/live/x", "--preset", "ultrafast", "-o", "pulled.mp4", "-q")
	if code != 0 {
		t.Fatalf("pull: exit %d: %s", code, stderr)
	}
	got := probeVideo(t, filepath.Join(dir, "pulled.mp4"))
	// The stream's end is the server hanging up; every frame it sent must be in the output.
	if got != "h264x320x240x60" {
		t.Errorf("pulled %q, want 60 frames at 320x240", got)
	}
}
