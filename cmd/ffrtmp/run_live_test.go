package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// TestRunLive is a live stream through `ffrtmp run` with the real binaries: a stream created
// through the API, a realtime synthetic source published over RTMP with its key (the engine
// pushing it, as OBS would; no external program), the stream live with a job that runs on the
// farm's worker and writes a sliding-window HLS ladder while the publisher sends; when the
// publisher stops the job completes and leaves master.m3u8, each rung's playlist and segments.
func TestRunLive(t *testing.T) {
	dir := t.TempDir()
	port, rtmpPort, hlsPort, wmPort := freePort(t), freePort(t), freePort(t), freePort(t)
	f := startRun(t, dir, "--port", port, "--rtmp-port", rtmpPort, "--hls-port", hlsPort, "--live-grace", "2s",
		"--worker-metrics-addr", "127.0.0.1:"+wmPort)
	hlsBase := "http://127.0.0.1:" + hlsPort + "/hls/"
	if banner := f.stderr.String(); !strings.Contains(banner, hlsBase+"<stream name>/master.m3u8") {
		t.Errorf("banner lacks the HLS URL pattern %s<stream name>/master.m3u8:\n%s", hlsBase, banner)
	}
	ingest := "rtmp://127.0.0.1:" + rtmpPort + "/live/"
	if banner := f.stderr.String(); !strings.Contains(banner, ingest+"<stream key>") || !strings.Contains(banner, "/v1/streams") {
		t.Errorf("banner lacks the ingest URL %s<stream key> or how to create a stream:\n%s", ingest, banner)
	}
	data := filepath.Join(dir, dataDirName)
	c := farmClient(t, data, port)
	ctx := context.Background()

	// Two small rungs keep the test's CPU low on a shared machine.
	st := createLiveStream(t, c, "cam1", "360p", "240p")
	if st.StreamKey == "" || st.IngestURL != ingest {
		t.Fatalf("created stream: key %t, ingest_url %q, want a key and %s", st.StreamKey != "", st.IngestURL, ingest)
	}

	const seconds = 6
	pub := startLivePublisher(t, ingest+st.StreamKey, 640, 360, seconds)

	// While the publisher sends: the stream is live with a job, the farm's worker runs it and
	// the rungs' live playlists appear.
	var live *api.Stream
	var err error
	runWaitFor(t, 20*time.Second, "stream cam1 to be live with a job", func() bool {
		if live, err = c.GetStream(ctx, st.ID); err != nil {
			t.Fatal(err)
		}
		return live.State == api.StreamLive && live.JobID != ""
	})
	job := runWaitJob(t, c, live.JobID, api.StatusRunning, api.StatusCompleted)
	nodes, err := c.ListNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Nodes) != 1 || job.Node != nodes.Nodes[0].ID {
		t.Errorf("live job runs on node %q, want the farm's worker (nodes: %+v)", job.Node, nodes.Nodes)
	}
	if job.Queue != api.QueueLive {
		t.Errorf("live job in queue %q, want %s", job.Queue, api.QueueLive)
	}
	for _, o := range job.Spec.Outputs {
		if o.HLS == nil || o.HLS.SegmentSeconds != 2 || o.HLS.PlaylistSize != 6 {
			t.Errorf("output %s: HLS %+v, want 2 s segments in a window of 6", o.Name, o.HLS)
		}
	}
	out := filepath.Join(data, runOutDir, "streams", "cam1")
	runWaitFor(t, 30*time.Second, "the 360p live playlist while the publisher sends", func() bool {
		_, err := os.Stat(filepath.Join(out, "360p", "index.m3u8"))
		return err == nil || pub.ended()
	})
	if pub.ended() {
		t.Fatalf("the publisher ended before the live playlist was there: %v", pub.err)
	}
	// The worker exports the live job's pipeline latency per rendition while it runs.
	latency := regexp.MustCompile(`ffrtmp_live_latency_seconds_count\{job_id="` + live.JobID + `",output="360p"\} ([0-9]+)`)
	runWaitFor(t, 10*time.Second, "the worker's ffrtmp_live_latency_seconds for the 360p rung", func() bool {
		resp, err := http.Get("http://127.0.0.1:" + wmPort + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := latency.FindSubmatch(b)
		return m != nil && string(m[1]) != "0"
	})
	// While live, the stream's hls_url is the worker's HLS, and players can fetch it.
	if live, err = c.GetStream(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if want := hlsBase + "cam1/master.m3u8"; live.HLSURL != want {
		t.Errorf("live stream's hls_url %q, want %s", live.HLSURL, want)
	} else {
		assertLiveHLSOverHTTP(t, live.HLSURL, []string{"360p", "240p"})
	}

	if err := pub.wait(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	done := runWaitJob(t, c, live.JobID, api.StatusCompleted)
	if done.Node != job.Node {
		t.Errorf("job completed on %q, started on %q", done.Node, job.Node)
	}
	runWaitFor(t, 20*time.Second, "stream cam1 to be idle after the grace", func() bool {
		s, err := c.GetStream(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		return s.State == api.StreamIdle && s.JobID == "" && s.LastJobID == live.JobID
	})

	master, err := os.ReadFile(filepath.Join(out, "master.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rung := range []string{"360p", "240p"} {
		if !strings.Contains(string(master), rung+"/index.m3u8") {
			t.Errorf("master.m3u8 does not list %s:\n%s", rung, master)
		}
		segs := liveSegments(t, filepath.Join(out, rung, "index.m3u8"))
		if len(segs) < 2 || len(segs) > 6 {
			t.Errorf("%s lists %d segments, want 2..6 (about %d s in 2 s segments, a window of 6)", rung, len(segs), seconds)
		}
		for _, s := range segs {
			if fi, err := os.Stat(filepath.Join(out, rung, s)); err != nil || fi.Size() == 0 {
				t.Errorf("%s segment %s: %v", rung, s, err)
			}
		}
	}
	probe, err := exec.Command(ffprobeBin(t), "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,height",
		"-of", "csv=p=0", filepath.Join(out, "240p", "index.m3u8")).CombinedOutput()
	got, _, _ := strings.Cut(strings.TrimSpace(string(probe)), "\n") // HLS lists the stream under its program too
	if err != nil || got != "h264,240" {
		t.Errorf("ffprobe of the 240p playlist: %q (%v), want h264,240", got, err)
	}
}

// livePublisher is the engine pushing a realtime synthetic source over RTMP, as a broadcaster
// would: no external program.
type livePublisher struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the engine's run returned
	err    error         // the run's error, once done is closed; nil when it was canceled
}

// startLivePublisher publishes seconds of a realtime-paced test picture and tone (w x h at
// 30 fps, H.264 with a keyframe each 2 s, AAC) as FLV to target; the source's end ends the
// publish. The test's cleanup cancels a publish still running and waits for it.
func startLivePublisher(t *testing.T, target string, w, h int, seconds float64) *livePublisher {
	t.Helper()
	graph := fmt.Sprintf("testsrc2=size=%dx%d:rate=30:duration=%g,format=yuv420p,realtime[out0];"+
		"sine=frequency=440:sample_rate=48000:duration=%g,aformat=channel_layouts=stereo,arealtime[out1]", w, h, seconds, seconds)
	s := spec.Spec{
		Input: spec.Input{URL: graph, Format: "lavfi"},
		Outputs: []spec.Output{{Container: "flv", Target: target,
			Video: &spec.Video{Codec: "libx264", Preset: "ultrafast", GOP: 2},
			Audio: &spec.Audio{Codec: "aac"}}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &livePublisher{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		_, err := engine.Run(ctx, s, nil)
		if engine.KindOf(err) == engine.KindCanceled {
			err = nil // stopped by the test: the publish's normal end
		}
		p.err = err
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

// ended reports whether the publish is over.
func (p *livePublisher) ended() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the publish to end and returns its error; a publish still
// running then is canceled, and wait says it did not end.
func (p *livePublisher) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("publisher: %w", p.err)
		}
		return nil
	case <-time.After(timeout):
		p.cancel()
		<-p.done
		return fmt.Errorf("the publisher did not end in %v", timeout)
	}
}

// assertLiveHLSOverHTTP fetches a live master playlist, checks it lists rungs, and fetches the
// first rung's playlist and one of its segments, each with its HLS content type.
func assertLiveHLSOverHTTP(t *testing.T, masterURL string, rungs []string) {
	t.Helper()
	get := func(u, ctype string) string {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ctype ||
			resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("GET %s: %s, Content-Type %q, CORS %q; want 200, %s, *", u, resp.Status,
				resp.Header.Get("Content-Type"), resp.Header.Get("Access-Control-Allow-Origin"), ctype)
		}
		return string(body)
	}
	master := get(masterURL, "application/vnd.apple.mpegurl")
	for _, rung := range rungs {
		if !strings.Contains(master, rung+"/index.m3u8") {
			t.Errorf("master playlist over HTTP does not list %s:\n%s", rung, master)
		}
	}
	base := strings.TrimSuffix(masterURL, "master.m3u8")
	media := get(base+rungs[0]+"/index.m3u8", "application/vnd.apple.mpegurl")
	var seg string
	for _, line := range strings.Split(media, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			seg = line
			break
		}
	}
	if seg == "" {
		t.Fatalf("%s playlist over HTTP lists no segment:\n%s", rungs[0], media)
	}
	if body := get(base+rungs[0]+"/"+seg, "video/mp2t"); len(body) == 0 || body[0] != 0x47 {
		t.Errorf("segment %s over HTTP: %d bytes, not MPEG-TS", seg, len(body))
	}
}

// liveSegments lists the segments a media playlist names; it must not be a VOD playlist.
func liveSegments(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var segs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-PLAYLIST-TYPE:VOD"):
			t.Errorf("%s is a VOD playlist, want a live one", path)
		case line != "" && !strings.HasPrefix(line, "#"):
			segs = append(segs, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return segs
}

// TestRunLiveReconnect: a publisher that stops and comes back within --live-grace continues
// the same live job through `ffrtmp run`: one job for the stream, running across the gap and
// completed after the grace, whose HLS covers both publishes.
func TestRunLiveReconnect(t *testing.T) {
	dir := t.TempDir()
	port, rtmpPort, hlsPort := freePort(t), freePort(t), freePort(t)
	startRun(t, dir, "--port", port, "--rtmp-port", rtmpPort, "--hls-port", hlsPort, "--live-grace", "8s")
	data := filepath.Join(dir, dataDirName)
	c := farmClient(t, data, port)
	ctx := context.Background()
	// One small rung keeps the test's CPU low on a shared machine.
	st := createLiveStream(t, c, "cam2", "240p")
	ingest := "rtmp://127.0.0.1:" + rtmpPort + "/live/" + st.StreamKey

	const seconds = 4
	publish := func() {
		t.Helper()
		if err := startLivePublisher(t, ingest, 320, 240, seconds).wait(60 * time.Second); err != nil {
			t.Fatal(err)
		}
	}

	publish()
	live, err := c.GetStream(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if live.State != api.StreamLive || live.JobID == "" {
		t.Fatalf("after the first publish, within the grace: %+v, want live with a job", live)
	}
	jobID := live.JobID
	runWaitJob(t, c, jobID, api.StatusRunning)

	publish()
	if again, err := c.GetStream(ctx, st.ID); err != nil || again.JobID != jobID {
		t.Fatalf("after the second publish: %+v, %v; want job %s", again, err, jobID)
	}
	if j, err := c.GetJob(ctx, jobID); err != nil || j.Status != api.StatusRunning {
		t.Fatalf("the live job after the reconnect: %+v, %v; want still running", j, err)
	}
	runWaitJob(t, c, jobID, api.StatusCompleted)
	runWaitFor(t, 30*time.Second, "stream cam2 to be idle after the grace", func() bool {
		s, err := c.GetStream(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		return s.State == api.StreamIdle && s.JobID == "" && s.LastJobID == jobID
	})
	page, err := c.ListJobs(ctx, api.ListJobsOptions{Queue: api.QueueLive})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Jobs) != 1 {
		t.Errorf("%d live jobs, want the one continued across the reconnect", len(page.Jobs))
	}

	// Both publishes in the one job's HLS: more media than one publish sent (the job may miss
	// the start of each: the ingest reads 2 s of a publisher's media to find its tracks).
	playlist := filepath.Join(data, runOutDir, "streams", "cam2", "240p", "index.m3u8")
	pl, err := os.ReadFile(playlist)
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(string(pl), "\n") {
		if d, ok := strings.CutPrefix(strings.TrimSpace(line), "#EXTINF:"); ok {
			d, _, _ = strings.Cut(d, ",")
			v, err := strconv.ParseFloat(d, 64)
			if err != nil {
				t.Fatalf("playlist line %q: %v", line, err)
			}
			total += v
		}
	}
	if total <= seconds+0.5 || total > 2*seconds+1 {
		t.Errorf("the job's HLS lists %.1f s, want both %d s publishes (and their gap)\n%s", total, seconds, pl)
	}
	for _, s := range liveSegments(t, playlist) {
		if fi, err := os.Stat(filepath.Join(filepath.Dir(playlist), s)); err != nil || fi.Size() == 0 {
			t.Errorf("segment %s: %v", s, err)
		}
	}
}

// farmClient is an API client of the `ffrtmp run` on port, with the key it keeps in data.
// createLiveStream puts a live preset of rungs (libx264 ultrafast, 2 s GOP, AAC, HLS) and
// creates stream name on it.
func createLiveStream(t *testing.T, c *api.Client, name string, rungs ...string) *api.Stream {
	t.Helper()
	rs, err := spec.RungsNamed(rungs...)
	if err != nil {
		t.Fatal(err)
	}
	preset := "live-" + strings.Join(rungs, "-")
	ctx := context.Background()
	if _, err := c.PutPreset(ctx, api.Preset{Name: preset, Container: "hls", Renditions: rs,
		Video: &spec.Video{Codec: "libx264", Preset: "ultrafast", GOP: 2}, Audio: &spec.Audio{Codec: "aac"}}); err != nil {
		t.Fatal(err)
	}
	st, err := c.CreateStream(ctx, api.StreamRequest{Name: name, Preset: preset})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func farmClient(t *testing.T, data, port string) *api.Client {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, apiKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := api.NewClient("http://127.0.0.1:"+port, strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
