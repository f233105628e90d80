package access_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/worker/access"
)

// TestLibavEnforcesTheWhitelist: an input the policy lets in (an http playlist) cannot make
// libav open a protocol the policy does not allow: the playlist's segment is an https URL,
// and with only http allowed libav itself refuses it, saying so.
func TestLibavEnforcesTheWhitelist(t *testing.T) {
	srv := t.TempDir()
	_, err := engine.Run(context.Background(), spec.Spec{
		Input:   spec.Input{Synthetic: &spec.Synthetic{Width: 64, Height: 64, Duration: 1, NoAudio: true}},
		Outputs: []spec.Output{{Container: "mpegts", Target: filepath.Join(srv, "segment.ts")}},
	}, nil)
	must(t, err)
	web := httptest.NewServer(http.FileServer(http.Dir(srv)))
	defer web.Close()
	plain := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1,\n" + web.URL + "/segment.ts\n#EXT-X-ENDLIST\n"
	tls := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1,\n" + strings.Replace(web.URL, "http:", "https:", 1) + "/segment.ts\n#EXT-X-ENDLIST\n"
	must(t, os.WriteFile(filepath.Join(srv, "plain.m3u8"), []byte(plain), 0o644))
	must(t, os.WriteFile(filepath.Join(srv, "tls.m3u8"), []byte(tls), 0o644))

	var mu sync.Mutex
	var logs []string
	prev := slog.Default()
	slog.SetDefault(slog.New(recordHandler(func(msg string) { mu.Lock(); logs = append(logs, msg); mu.Unlock() })))
	defer slog.SetDefault(prev)

	p, err := access.New([]string{t.TempDir()}, []string{t.TempDir()}, []string{"http"}, "")
	must(t, err)
	run := func(playlist string) error {
		s, err := p.Spec(spec.Spec{Input: spec.Input{URL: web.URL + "/" + playlist}, Outputs: []spec.Output{{Container: "null"}}})
		must(t, err)
		_, err = engine.Run(context.Background(), s, nil)
		return err
	}
	if err := run("plain.m3u8"); err != nil {
		t.Fatalf("an http playlist of http segments does not play with http allowed: %v", err)
	}
	if err := run("tls.m3u8"); err == nil {
		t.Fatal("the https segment played although only http is allowed")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(logs, "\n"), "Protocol 'https' not on whitelist") {
		t.Fatalf("libav did not refuse https by its whitelist; it said:\n%s", strings.Join(logs, "\n"))
	}
}

// recordHandler is a slog handler that hands every message to f.
type recordHandler func(string)

func (h recordHandler) Enabled(context.Context, slog.Level) bool      { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error { h(r.Message); return nil }
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h recordHandler) WithGroup(string) slog.Handler                 { return h }

// TestLocalPlaylistCannotReachOutsideTheRoots: a playlist inside a root naming a media file
// outside it (file: is allowed) is refused by libav's format whitelist, while a local media
// file still plays.
func TestLocalPlaylistCannotReachOutsideTheRoots(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret.ts")
	_, err := engine.Run(context.Background(), spec.Spec{
		Input:   spec.Input{Synthetic: &spec.Synthetic{Width: 64, Height: 64, Duration: 1, NoAudio: true}},
		Outputs: []spec.Output{{Container: "mpegts", Target: secret}},
	}, nil)
	must(t, err)
	must(t, os.Link(secret, filepath.Join(root, "inside.ts")))
	playlist := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1,\nfile:" + secret + "\n#EXT-X-ENDLIST\n"
	must(t, os.WriteFile(filepath.Join(root, "list.m3u8"), []byte(playlist), 0o644))
	p, err := access.New([]string{root}, []string{root}, nil, "")
	must(t, err)
	run := func(in string) error {
		s, err := p.Spec(spec.Spec{Input: spec.Input{URL: in}, Outputs: []spec.Output{{Container: "null"}}})
		must(t, err)
		_, err = engine.Run(context.Background(), s, nil)
		return err
	}
	if err := run("inside.ts"); err != nil {
		t.Fatalf("a local media file does not play: %v", err)
	}
	if err := run("list.m3u8"); err == nil {
		t.Fatal("a local playlist read a file outside the roots")
	} else if !strings.Contains(err.Error(), "input format hls is not allowed") {
		t.Errorf("the refusal does not name the format: %v", err)
	}
}
