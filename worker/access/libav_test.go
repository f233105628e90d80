package access_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/engine/spec"
	"github.com/ffrtmp/ffrtmp/worker/access"
)

// TestLibavEnforcesTheWhitelist: a file the policy lets in (a playlist under the root) cannot
// make libav open a protocol the policy does not allow. The same playlist, pointing at a
// segment served over http on loopback, plays when http is allowed and fails when only file
// is: the whitelist goes with the input and libav refuses the nested URL itself.
func TestLibavEnforcesTheWhitelist(t *testing.T) {
	srv := t.TempDir()
	_, err := engine.Run(context.Background(), spec.Spec{
		Input:   spec.Input{Synthetic: &spec.Synthetic{Width: 64, Height: 64, Duration: 1, NoAudio: true}},
		Outputs: []spec.Output{{Container: "mpegts", Target: filepath.Join(srv, "segment.ts")}},
	}, nil)
	must(t, err)
	web := httptest.NewServer(http.FileServer(http.Dir(srv)))
	defer web.Close()

	root := t.TempDir()
	playlist := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1,\n" + web.URL + "/segment.ts\n#EXT-X-ENDLIST\n"
	must(t, os.WriteFile(filepath.Join(root, "list.m3u8"), []byte(playlist), 0o644))
	run := func(protocols ...string) error {
		p, err := access.New([]string{root}, []string{root}, protocols, "")
		must(t, err)
		s, err := p.Spec(spec.Spec{Input: spec.Input{URL: "list.m3u8"}, Outputs: []spec.Output{{Container: "null"}}})
		must(t, err)
		_, err = engine.Run(context.Background(), s, nil)
		return err
	}
	if err := run("file", "http"); err != nil {
		t.Fatalf("with http allowed the playlist does not play: %v", err)
	}
	if err := run("file"); err == nil {
		t.Fatal("with only file allowed, libav still fetched the http segment")
	}
}
