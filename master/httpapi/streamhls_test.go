package httpapi_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
	"github.com/ffrtmp/ffrtmp/worker/hls"
)

// liveHLS is a stream made live through a standalone ingest's questions, its live job leased
// by a node that serves HLS with the worker's real server on loopback, from dir (the node's
// streams/ folder), where the test writes the stream's files.
type liveHLS struct {
	stream *api.Stream
	dir    string // the stream's HLS folder on the node
	stop   func() // stops the node's HLS server
}

// startLiveHLS makes stream name live with its job on a node that serves HLS.
func startLiveHLS(t *testing.T, h *mastertest.Harness, name string) liveHLS {
	t.Helper()
	ctx := ctxT(t)
	streams := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&hls.Server{Dir: streams}).Serve(sctx, ln) }()
	stopped := false
	stopHLS := func() {
		if !stopped {
			stopped = true
			stop()
			if err := <-done; err != nil {
				t.Errorf("HLS server: %v", err)
			}
		}
	}
	t.Cleanup(stopHLS)

	sub, wk, ing := h.Client(t, auth.RoleSubmitter), h.Client(t, auth.RoleWorker), h.Client(t, auth.RoleIngest)
	st, err := sub.CreateStream(ctx, api.StreamRequest{Name: name, Preset: "abr-480p"})
	if err != nil {
		t.Fatal(err)
	}
	const relay = "rtmp://edge-hls.example:1935"
	pub, err := ing.AuthorizePublish(ctx, api.IngestPublishRequest{App: "live", Key: st.StreamKey, Relay: relay})
	if err != nil {
		t.Fatal(err)
	}
	if err := ing.IngestEvent(ctx, api.IngestEvent{Type: api.IngestPublished, StreamID: st.ID, Relay: relay, Session: pub.Session,
		Input: &api.StreamInput{VideoCodec: "h264", Width: 640, Height: 360}}); err != nil {
		t.Fatal(err)
	}
	n, err := wk.Register(ctx, api.Registration{ID: name + "-node", Name: name + "-node", Version: "test",
		HLSBaseURL:   "http://" + ln.Addr().String() + hls.Prefix,
		Capabilities: api.Capabilities{CPUs: 4, Encoders: []string{"libx264", "aac"}, Slots: 1}})
	if err != nil {
		t.Fatal(err)
	}
	live, err := sub.GetStream(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l := lease(t, wk, n.Node.ID); l.Job.ID != live.JobID {
		t.Fatalf("the node leased %s, want the stream's live job %s", l.Job.ID, live.JobID)
	}
	if live, err = sub.GetStream(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(streams, name)
	for p, data := range map[string]string{
		"master.m3u8":               "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360p/index.m3u8\n",
		"360p/index.m3u8":           "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.0,\nseg_00001.m4s\n#EXTINF:2.0,\nseg_00002.ts\n",
		"360p/init.mp4":             "init",
		"360p/seg_00001.m4s":        "fragment",
		"360p/seg_00002.ts":         "\x47segment",
		"360p/notes.txt":            "SECRET not hls",
		"360p/.seg_00003.ts.tmp.ts": "SECRET temporary",
		".hidden.m3u8":              "SECRET hidden",
		"../secret.m3u8":            "SECRET outside the stream",
		"../../secret.m3u8":         "SECRET outside the streams",
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return liveHLS{stream: live, dir: dir, stop: stopHLS}
}

// TestStreamHLSProxy: a live stream's HLS through the master (GET /v1/streams/{id}/hls/...),
// from the worker's real HLS server: the stream view's preview_url, each file with its
// type and the node's caching made private, the playlists' relative URIs resolving under the
// same path, with a key and with the console's session; odd paths, another tenant, a stream
// that is not live and a node that does not answer refused with clear errors.
func TestStreamHLSProxy(t *testing.T) {
	h := start(t)
	ctx := ctxT(t)
	sub := h.Client(t, auth.RoleSubmitter)
	subKey := roleKey[auth.RoleSubmitter]

	// Not live: no preview, and its HLS is not found.
	idle, err := sub.CreateStream(ctx, api.StreamRequest{Name: "idle-cam", Preset: "abr-480p"})
	if err != nil {
		t.Fatal(err)
	}
	if idle.PreviewURL != "" || idle.HLSURL != "" {
		t.Errorf("an idle stream: preview_url %q, hls_url %q; want neither", idle.PreviewURL, idle.HLSURL)
	}
	e := call(t, h, "GET", "/v1/streams/"+idle.ID+"/hls/master.m3u8", subKey, nil).wantError(t, http.StatusNotFound, api.CodeNotFound, "")
	if !strings.Contains(e.Message, "live HLS") || !strings.Contains(e.Message, "idle-cam") {
		t.Errorf("an idle stream's HLS: %q, want it to say the stream has no live HLS", e.Message)
	}
	call(t, h, "GET", "/v1/streams/no-such-stream/hls/master.m3u8", subKey, nil).wantError(t, http.StatusNotFound, api.CodeNotFound, "")

	lv := startLiveHLS(t, h, "cam")
	st := lv.stream
	preview := "/v1/streams/" + st.ID + "/hls/master.m3u8"
	if st.PreviewURL != preview || !strings.HasSuffix(st.HLSURL, hls.Prefix+"cam/master.m3u8") {
		t.Fatalf("the live stream: preview_url %q, hls_url %q; want %s and the node's URL", st.PreviewURL, st.HLSURL, preview)
	}
	list, err := sub.ListStreams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Streams {
		if s.ID == st.ID && s.PreviewURL != preview {
			t.Errorf("GET /v1/streams lists preview_url %q, want %s", s.PreviewURL, preview)
		}
	}

	// Each file as the node serves it, its URI resolved as a player does, with a key and
	// with a session.
	sess := login(t, h, subKey)
	get := func(path string, wantType, wantCache, wantBody string) string {
		t.Helper()
		for _, r := range []resp{call(t, h, "GET", path, subKey, nil), sess.call(t, h, "GET", path, false, nil)} {
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d: %s", path, r.Status, r.Body)
			}
			if got := r.Header.Get("Content-Type"); got != wantType {
				t.Errorf("GET %s: Content-Type %q, want %q", path, got, wantType)
			}
			if got := r.Header.Get("Cache-Control"); got != wantCache {
				t.Errorf("GET %s: Cache-Control %q, want %q", path, got, wantCache)
			}
			if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("GET %s: nosniff %q, CORS %q; want nosniff and no CORS (the node's * is not passed on)", path,
					r.Header.Get("X-Content-Type-Options"), r.Header.Get("Access-Control-Allow-Origin"))
			}
			if wantBody != "" && string(r.Body) != wantBody {
				t.Errorf("GET %s: %q, want %q", path, r.Body, wantBody)
			}
		}
		return string(call(t, h, "GET", path, subKey, nil).Body)
	}
	resolve := func(base, ref string) string {
		t.Helper()
		b, _ := url.Parse(base)
		r, err := url.Parse(ref)
		if err != nil {
			t.Fatal(err)
		}
		return b.ResolveReference(r).String()
	}
	const playlist, noCache, segCache = "application/vnd.apple.mpegurl", "private, no-cache", "private, max-age=60"
	master := get(preview, playlist, noCache, "")
	rendition := resolve(preview, "360p/index.m3u8")
	if !strings.Contains(master, "360p/index.m3u8") || rendition != "/v1/streams/"+st.ID+"/hls/360p/index.m3u8" {
		t.Fatalf("master playlist %q resolves its rendition to %s", master, rendition)
	}
	get(rendition, playlist, noCache, "")
	get(resolve(rendition, "init.mp4"), "video/mp4", segCache, "init")
	get(resolve(rendition, "seg_00001.m4s"), "video/mp4", segCache, "fragment")
	get(resolve(rendition, "seg_00002.ts"), "video/mp2t", segCache, "\x47segment")
	// A player's cache buster is not passed on, and does not matter.
	get(preview+"?_t=1", playlist, noCache, "")
	// Range goes to the node (Safari asks for segments in ranges).
	if r := call(t, h, "GET", resolve(rendition, "seg_00002.ts"), subKey, nil, "Range", "bytes=1-3"); r.Status != http.StatusPartialContent || string(r.Body) != "seg" {
		t.Errorf("a range of a segment: %d %q, want 206 \"seg\"", r.Status, r.Body)
	}

	// Odd paths: refused, never a file outside what the node serves.
	base := "/v1/streams/" + st.ID + "/hls/"
	for _, p := range []string{"notes.txt", "360p/notes.txt", "360p/.seg_00003.ts.tmp.ts", ".hidden.m3u8", "..%5Csecret.m3u8",
		"360p/..%5C..%5Csecret.m3u8", "360p/seg_00009.ts", "nothing/index.m3u8", "360p/init.mp4%00.m3u8"} {
		r := call(t, h, "GET", base+p, subKey, nil)
		r.wantError(t, http.StatusNotFound, api.CodeNotFound, "")
		if bytes.Contains(r.Body, []byte("SECRET")) {
			t.Errorf("GET %s%s leaks a file: %s", base, p, r.Body)
		}
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"../secret.m3u8", "%2e%2e/secret.m3u8", "360p/../../secret.m3u8", "360p%2F..%2F..%2Fsecret.m3u8",
		"..%2F..%2Fsecret.m3u8", "/etc/passwd.m3u8", "a/b/c.ts", "360p//seg_00002.ts"} {
		req, err := http.NewRequestWithContext(ctx, "GET", h.URL+base+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+subKey)
		r, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		r.Body.Close()
		if r.StatusCode == http.StatusOK || bytes.Contains(body.Bytes(), []byte("SECRET")) {
			t.Errorf("GET %s%s: %d %s; want it refused", base, p, r.StatusCode, body.Bytes())
		}
	}

	// Another tenant's submitter: the stream is not there. Roles that may not read streams:
	// refused.
	call(t, h, "GET", preview, mastertest.OtherTenantKey, nil).wantError(t, http.StatusNotFound, api.CodeNotFound, "")
	call(t, h, "GET", preview, roleKey[auth.RoleWorker], nil).wantError(t, http.StatusForbidden, api.CodeForbidden, "")
	call(t, h, "GET", preview, "", nil).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")

	// A file over the master's limit (a playlist of more than 1 MiB): 502, saying so.
	if err := os.WriteFile(filepath.Join(lv.dir, "360p", "big.m3u8"), bytes.Repeat([]byte("#\n"), 1<<19+1), 0o644); err != nil {
		t.Fatal(err)
	}
	e = call(t, h, "GET", base+"360p/big.m3u8", subKey, nil).wantError(t, http.StatusBadGateway, api.CodeNodeUnreachable, "")
	if !strings.Contains(e.Message, "limit") {
		t.Errorf("a playlist over the limit: %q", e.Message)
	}

	// The node stops answering: 502, saying so.
	lv.stop()
	e = call(t, h, "GET", preview, subKey, nil).wantError(t, http.StatusBadGateway, api.CodeNodeUnreachable, "")
	if !strings.Contains(e.Message, "did not answer") {
		t.Errorf("a node that does not answer: %q", e.Message)
	}
}
