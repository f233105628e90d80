package hls_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/worker/hls"
)

// hlsFixture lays out a streams/ folder with one live stream, a secret next to it, and
// links that point out of streams/.
func hlsFixture(t *testing.T) (streams string) {
	t.Helper()
	base := t.TempDir()
	streams = filepath.Join(base, "streams")
	write := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(base, "secret.m3u8"), "SECRET")
	write(filepath.Join(base, "outside", "index.m3u8"), "SECRET")
	write(filepath.Join(streams, "cam", "master.m3u8"), "#EXTM3U\n720p/index.m3u8\n")
	write(filepath.Join(streams, "cam", "720p", "index.m3u8"), "#EXTM3U\nseg_00001.ts\n")
	write(filepath.Join(streams, "cam", "720p", "seg_00001.ts"), "\x47segment")
	write(filepath.Join(streams, "cam", "720p", "init.mp4"), "init")
	write(filepath.Join(streams, "cam", "720p", "seg_00001.m4s"), "frag")
	write(filepath.Join(streams, "cam", "notes.txt"), "not hls")
	write(filepath.Join(streams, "cam", "master.m3u8.partial-1234"), "temp")
	write(filepath.Join(streams, "cam", ".720p.partial-99", "index.m3u8"), "temp")
	for link, target := range map[string]string{
		filepath.Join(streams, "cam", "leak.m3u8"): filepath.Join(base, "secret.m3u8"),
		filepath.Join(streams, "cam", "rel.m3u8"):  "../../secret.m3u8",
		filepath.Join(streams, "out"):              filepath.Join(base, "outside"),
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	return streams
}

// serveHLS runs a Server on a loopback port and returns its base URL.
func serveHLS(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&hls.Server{Dir: dir}).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestHLSServerServesFiles(t *testing.T) {
	t.Parallel()
	base := serveHLS(t, hlsFixture(t))
	for _, tc := range []struct {
		path, ctype, cache, body string
	}{
		{"/hls/cam/master.m3u8", "application/vnd.apple.mpegurl", "no-cache", "#EXTM3U\n720p/index.m3u8\n"},
		{"/hls/cam/720p/index.m3u8", "application/vnd.apple.mpegurl", "no-cache", "#EXTM3U\nseg_00001.ts\n"},
		{"/hls/cam/720p/seg_00001.ts", "video/mp2t", "max-age=60", "\x47segment"},
		{"/hls/cam/720p/seg_00001.m4s", "video/mp4", "max-age=60", "frag"},
		{"/hls/cam/720p/init.mp4", "video/mp4", "max-age=60", "init"},
	} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != tc.body {
			t.Errorf("GET %s: %s %q, want 200 %q", tc.path, resp.Status, body, tc.body)
			continue
		}
		h := resp.Header
		if h.Get("Content-Type") != tc.ctype || h.Get("Cache-Control") != tc.cache || h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s: Content-Type %q Cache-Control %q CORS %q, want %q %q *", tc.path,
				h.Get("Content-Type"), h.Get("Cache-Control"), h.Get("Access-Control-Allow-Origin"), tc.ctype, tc.cache)
		}
	}
}

// rawGet sends path as it is (no client-side cleaning) and returns the status line's code
// and the body.
func rawGet(t *testing.T, base, method, path string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", method, path)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestHLSServerRefuses(t *testing.T) {
	t.Parallel()
	base := serveHLS(t, hlsFixture(t))
	for _, path := range []string{
		"/hls/",                                // no listing
		"/hls/cam",                             // folder
		"/hls/cam/",                            // folder
		"/hls/cam/720p/",                       // folder
		"/hls/../secret.m3u8",                  // escape
		"/hls/cam/../../secret.m3u8",           // escape
		"/hls/%2e%2e/secret.m3u8",              // escape, encoded
		"/hls/cam/%2e%2e/%2e%2e/secret.m3u8",   // escape, encoded
		"/hls/cam%2f..%2f..%2fsecret.m3u8",     // escape, encoded slashes
		"/hls/..%5csecret.m3u8",                // backslash
		"/hls/cam/leak.m3u8",                   // absolute link out
		"/hls/cam/rel.m3u8",                    // relative link out
		"/hls/out/index.m3u8",                  // linked folder out
		"/hls/cam/notes.txt",                   // not HLS
		"/hls/cam/master.m3u8.partial-1234",    // engine temporary
		"/hls/cam/.720p.partial-99/index.m3u8", // hidden folder
		"/hls/cam/none.m3u8",                   // missing
		"/secret.m3u8",                         // outside the prefix
	} {
		code, body := rawGet(t, base, http.MethodGet, path)
		if code == http.StatusOK || strings.Contains(body, "SECRET") || strings.Contains(body, "temp") {
			t.Errorf("GET %s: %d %q, want it refused", path, code, body)
		}
	}
	if code, _ := rawGet(t, base, http.MethodPut, "/hls/cam/master.m3u8"); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d, want 405", code)
	}
	if code, _ := rawGet(t, base, http.MethodOptions, "/hls/cam/master.m3u8"); code != http.StatusNoContent {
		t.Errorf("OPTIONS: %d, want 204", code)
	}
}

// TestHLSServerFolderAppearsLater: a worker starts before its first live job creates
// streams/.
func TestHLSServerFolderAppearsLater(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "streams")
	base := serveHLS(t, dir)
	if code, _ := rawGet(t, base, http.MethodGet, "/hls/cam/master.m3u8"); code != http.StatusNotFound {
		t.Fatalf("before the folder exists: %d, want 404", code)
	}
	if err := os.MkdirAll(filepath.Join(dir, "cam"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cam", "master.m3u8"), []byte("#EXTM3U\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := rawGet(t, base, http.MethodGet, "/hls/cam/master.m3u8"); code != http.StatusOK || body != "#EXTM3U\n" {
		t.Fatalf("after: %d %q, want 200", code, body)
	}
}
