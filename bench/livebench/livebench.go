// Package livebench measures live latency through a whole farm: a realtime 720p30 source
// published over RTMP to `ffrtmp run`, transcoded by the stream's live job into a two-rung
// ladder written as live HLS and restreamed over RTMP to a sink in this process. It reports
// glass-to-glass latency RTMP in → RTMP out per frame, HLS segment availability latency, and
// the realtime ratio.
package livebench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/bench/benchio"
	"github.com/ffrtmp/ffrtmp/bench/enginebench"
	"github.com/ffrtmp/ffrtmp/internal/stats"
	"github.com/ffrtmp/ffrtmp/internal/syncbuf"
	"github.com/ffrtmp/ffrtmp/internal/table"
)

// Targets of issue 6.
const (
	TargetRTMPP95     = 1500 * time.Millisecond
	TargetHLSSegments = 3.0
	SegmentSeconds    = 2.0 // the live job's HLS segment duration
	FPS               = 30
	GOPFrames         = 60 // the source's keyframe interval
	SteadyAfter       = 5 * time.Second
)

// Options say what to run.
type Options struct {
	Ffrtmp   string        // the ffrtmp binary
	FFmpeg   string        // the ffmpeg program that encodes the source
	Duration time.Duration // how long the source publishes
	Preset   string        // libx264 preset of the ladder (default veryfast)
	Tune     string        // libx264 tune of the ladder ("" or e.g. zerolatency)
	InputDir string        // cache of the encoded source
	TempDir  string        // the farm's folder
	Log      io.Writer
}

// Latency summarises latencies in seconds.
type Latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_s"`
	P95     float64 `json:"p95_s"`
	Max     float64 `json:"max_s"`
}

func summarize(xs []time.Duration) Latency {
	var mx time.Duration
	for _, x := range xs {
		mx = max(mx, x)
	}
	s := slices.Sorted(slices.Values(xs))
	return Latency{Samples: len(xs), P50: stats.Percentile(s, 0.50).Seconds(), P95: stats.Percentile(s, 0.95).Seconds(), Max: mx.Seconds()}
}

// Report is everything one run measured, as written to JSON.
type Report struct {
	Started  time.Time           `json:"started"`
	Finished time.Time           `json:"finished"`
	Machine  enginebench.Machine `json:"machine"`
	Ffrtmp   string              `json:"ffrtmp_binary"`
	Source   string              `json:"source"`
	Ladder   string              `json:"ladder"`
	Duration float64             `json:"duration_s"`

	FramesSent     int     `json:"frames_sent"`
	FramesReceived int     `json:"frames_received"`
	FramesMatched  int     `json:"frames_matched"`
	FramesMissing  int     `json:"frames_missing"` // sent after the job joined, never received
	JoinFrame      int     `json:"join_frame"`     // the source frame the restream starts at
	StartupS       float64 `json:"startup_s"`      // first frame sent → first restreamed frame received
	RTMP           Latency `json:"rtmp_to_rtmp"`
	// RTMPSteady leaves out the job's start: the frames that arrived in the first
	// SteadyAfter of the restream, while the job caught up with the GOP it joined at.
	RTMPSteady    Latency `json:"rtmp_to_rtmp_steady"`
	RealtimeRatio float64 `json:"realtime_ratio"` // restream media seconds ÷ wall seconds
	JobSpeed      float64 `json:"job_speed,omitempty"`
	HLS           Latency `json:"hls_segment_availability"`
	// WorkerLatency is what the worker's ffrtmp_live_latency_seconds said per output at the
	// end (p50/p95 from its buckets): the pipeline part of the glass-to-glass latency.
	WorkerLatency  map[string]Latency `json:"worker_latency_metric,omitempty"`
	HLSP95Segments float64            `json:"hls_p95_segments"`

	RTMPPass bool `json:"rtmp_pass"`
	HLSPass  bool `json:"hls_pass"`
	Pass     bool `json:"pass"`
}

// WriteJSON writes the report as dir/live-<UTC time>.json and copies it to
// dir/live-latest.json. It returns the first path.
func (r Report) WriteJSON(dir string) (string, error) {
	return benchio.WriteJSON(dir, "live", r.Started, r)
}

// WriteTable prints one row per measure with its target and whether it was met.
func (r Report) WriteTable(w io.Writer) {
	t := table.New("case", "value", "target", "ok")
	t.Row("RTMP→RTMP latency (p50/p95/max)",
		fmt.Sprintf("%.3f / %.3f / %.3f s", r.RTMP.P50, r.RTMP.P95, r.RTMP.Max), fmt.Sprintf("p95 <=%.1f s", TargetRTMPP95.Seconds()), okWord(r.RTMPPass))
	t.Row(fmt.Sprintf("  steady (after the first %.0f s)", SteadyAfter.Seconds()),
		fmt.Sprintf("%.3f / %.3f / %.3f s", r.RTMPSteady.P50, r.RTMPSteady.P95, r.RTMPSteady.Max), "", "")
	t.Row("HLS segment availability (p50/p95)",
		fmt.Sprintf("%.2f / %.2f s (p95 %.2f segs)", r.HLS.P50, r.HLS.P95, r.HLSP95Segments), fmt.Sprintf("p95 <=%g segs", TargetHLSSegments), okWord(r.HLSPass))
	speed := ""
	if r.JobSpeed > 0 {
		speed = fmt.Sprintf(" (job speed %.2fx)", r.JobSpeed)
	}
	t.Row("realtime ratio", fmt.Sprintf("%.3f%s", r.RealtimeRatio, speed), ">=0.99", okWord(r.RealtimeRatio >= 0.99))
	outs := make([]string, 0, len(r.WorkerLatency))
	for o := range r.WorkerLatency {
		outs = append(outs, o)
	}
	sort.Strings(outs)
	for _, o := range outs {
		l := r.WorkerLatency[o]
		t.Row("  worker metric, "+o+" (p50/p95)", fmt.Sprintf("%.3f / %.3f s (%d packets)", l.P50, l.P95, l.Samples), "", "")
	}
	t.Row("frames sent/recv/matched/missing",
		fmt.Sprintf("%d / %d / %d / %d", r.FramesSent, r.FramesReceived, r.FramesMatched, r.FramesMissing), "", "")
	t.Row("job start (first sent → first out)", fmt.Sprintf("%.2f s, joined at frame %d", r.StartupS, r.JoinFrame), "", "")
	_ = t.Write(w)
	fmt.Fprintf(w, "source: %s, published in real time for %.0f s; ladder %s; restream carries the top rung.\n", r.Source, r.Duration, r.Ladder)
	fmt.Fprintf(w, "  RTMP latency = sink arrival − publisher send of the same frame; frames aligned by timestamp from the keyframe the job joined at.\n")
	fmt.Fprintf(w, "  HLS latency = first sight of the segment in the top rung's playlist − send of its first frame (%d HLS segments).\n", r.HLS.Samples)
}

func okWord(pass bool) string {
	if pass {
		return "yes"
	}
	return "NO"
}

// Run starts a farm, creates the preset and stream, publishes and measures.
func Run(ctx context.Context, m enginebench.Machine, opt Options) (Report, error) {
	if opt.Preset == "" {
		opt.Preset = "veryfast"
	}
	r := Report{Started: time.Now().UTC(), Machine: m, Ffrtmp: opt.Ffrtmp, Duration: opt.Duration.Seconds(),
		Ladder: "720p + 360p, libx264 " + opt.Preset + ", 2 s GOP, AAC"}
	video := &spec.Video{Codec: "libx264", Preset: opt.Preset, GOP: 2}
	if opt.Tune != "" {
		video.Options = map[string]string{"tune": opt.Tune}
		r.Ladder = strings.Replace(r.Ladder, opt.Preset, opt.Preset+" tune "+opt.Tune, 1)
	}
	secs := int(opt.Duration.Seconds() + 0.999)
	src, err := EnsureSource(ctx, opt.FFmpeg, opt.InputDir, secs, FPS, GOPFrames)
	if err != nil {
		return r, err
	}
	r.Source = fmt.Sprintf("testsrc2 1280x720 %d fps H.264 (no B-frames, keyframe every %d) + AAC 48 kHz, %d frames", FPS, GOPFrames, len(src.Video))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f, err := startFarm(ctx, opt)
	if err != nil {
		return r, err
	}
	defer f.stop(opt.Log)

	t0 := time.Now()
	sink, err := NewSink(t0, len(src.Video)*2)
	if err != nil {
		return r, err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	sinkCtx, sinkStop := context.WithCancel(ctx)
	defer sinkStop()
	wg.Go(func() { sink.Serve(sinkCtx) })

	rungs, err := spec.RungsNamed("720p", "360p")
	if err != nil {
		return r, err
	}
	if _, err := f.client.PutPreset(ctx, api.Preset{Name: "bench-live", Container: "hls", Renditions: rungs,
		Video: video, Audio: &spec.Audio{Codec: "aac"}}); err != nil {
		return r, fmt.Errorf("put the preset: %w", err)
	}
	st, err := f.client.CreateStream(ctx, api.StreamRequest{Name: "bench", Preset: "bench-live", Destinations: []string{sink.URL()}})
	if err != nil {
		return r, fmt.Errorf("create the stream: %w", err)
	}
	u, err := url.Parse(f.ingest + st.StreamKey)
	if err != nil {
		return r, errors.New("the stream's ingest URL does not parse")
	}

	sent := make([]time.Duration, len(src.Video))
	for i := range sent {
		sent[i] = -1
	}
	playlist := filepath.Join(f.dir, "ffrtmp-data", "out", "streams", "bench", "720p", "index.m3u8")
	hlsCtx, hlsStop := context.WithCancel(ctx)
	appeared, durations := map[int64]time.Duration{}, map[int64]time.Duration{}
	hlsDone := make(chan struct{})
	go func() { defer close(hlsDone); watchPlaylist(hlsCtx, playlist, t0, appeared, durations) }()

	fmt.Fprintf(opt.Log, "publishing %d s of 720p%d in real time to the farm's ingest...\n", secs, FPS)
	speed := make(chan float64, 1)
	wg.Go(func() { speed <- sampleSpeed(hlsCtx, f.client, st.ID) })
	workerLat := make(chan map[string]*dto.Histogram, 1)
	wg.Go(func() { workerLat <- scrapeLatency(hlsCtx, f.workerMetrics) })
	perr := Publish(ctx, u, src, t0, sent)
	// The tail: frames still in the pipeline when the publisher stops.
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
	hlsStop()
	<-hlsDone
	r.JobSpeed = <-speed
	for out, h := range <-workerLat {
		if r.WorkerLatency == nil {
			r.WorkerLatency = map[string]Latency{}
		}
		r.WorkerLatency[out] = Latency{Samples: int(h.GetSampleCount()), P50: histogramQuantile(h, 0.5), P95: histogramQuantile(h, 0.95)}
	}
	if perr != nil {
		return r, perr
	}
	frames, _, serr := sink.Frames()
	sinkStop()
	r.FramesSent = len(src.Video)
	r.FramesReceived = len(frames)
	if len(frames) == 0 {
		return r, fmt.Errorf("the sink received no restreamed frame (sink: %v)\nfarm log:\n%s", serr, f.logTail())
	}
	a, ok := Align(sent, frames, src.Keyframes, FPS)
	if !ok {
		return r, errors.New("could not align the restream with the source: frames arrived before every candidate source frame was sent")
	}
	r.JoinFrame = a.Offset
	r.FramesMatched = len(a.Latency)
	r.FramesMissing = max(0, len(src.Video)-a.Offset-r.FramesMatched)
	r.StartupS = (frames[0].At - sent[0]).Seconds()
	r.RTMP = summarize(a.Latency)
	r.RTMPSteady = summarize(a.Since(frames[0].At + SteadyAfter))
	if last := frames[len(frames)-1]; last.At > frames[0].At {
		r.RealtimeRatio = (last.PTS - frames[0].PTS).Seconds() / (last.At - frames[0].At).Seconds()
	}
	r.HLS = summarize(SegmentLatency(sent, appeared, durations, a.Offset, FPS))
	r.HLSP95Segments = r.HLS.P95 / SegmentSeconds
	r.RTMPPass = r.RTMP.Samples > 0 && r.RTMP.P95 <= TargetRTMPP95.Seconds()
	r.HLSPass = r.HLS.Samples > 0 && r.HLSP95Segments <= TargetHLSSegments
	r.Pass = r.RTMPPass && r.HLSPass && r.RealtimeRatio >= 0.99
	r.Finished = time.Now().UTC()
	return r, nil
}

// watchPlaylist polls a live media playlist every 20 ms and notes when each segment first
// appears and its duration. The caller reads the maps once this has returned.
func watchPlaylist(ctx context.Context, path string, t0 time.Time, appeared, durations map[int64]time.Duration) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		at := time.Since(t0)
		for _, s := range ParsePlaylist(string(b)) {
			if _, ok := appeared[s.Seq]; !ok && len(appeared) < 1<<16 {
				appeared[s.Seq], durations[s.Seq] = at, s.Duration
			}
		}
	}
}

// sampleSpeed polls the stream's job progress until ctx ends and returns the last speed.
func sampleSpeed(ctx context.Context, c *api.Client, streamID string) float64 {
	var last float64
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return last
		case <-t.C:
		}
		st, err := c.GetStream(ctx, streamID)
		if err != nil || st.JobID == "" {
			continue
		}
		if j, err := c.GetJob(ctx, st.JobID); err == nil && j.Progress != nil && j.Progress.Speed > 0 {
			last = j.Progress.Speed
		}
	}
}

// farm is an `ffrtmp run` process.
type farm struct {
	cmd    *exec.Cmd
	dir    string
	log    *syncbuf.Buffer
	done   chan error
	client *api.Client
	ingest string
	// workerMetrics is the worker's /metrics URL.
	workerMetrics string
}

func (f *farm) logTail() string {
	s := f.log.String()
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return s
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// startFarm runs `ffrtmp run` in a fresh folder under opt.TempDir with free ports and a
// 2 s live grace, and returns once its API answers.
func startFarm(ctx context.Context, opt Options) (*farm, error) {
	dir, err := os.MkdirTemp(opt.TempDir, "tmp-live-")
	if err != nil {
		return nil, err
	}
	rtmpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	hlsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	wmPort, err := freePort()
	if err != nil {
		return nil, err
	}
	f := &farm{dir: dir, log: &syncbuf.Buffer{Max: 1 << 20}, done: make(chan error, 1), ingest: "rtmp://127.0.0.1:" + rtmpPort + "/live/",
		workerMetrics: "http://127.0.0.1:" + wmPort + "/metrics"}
	f.cmd = exec.Command(opt.Ffrtmp, "run", "--port", "0", "--rtmp-port", rtmpPort, "--hls-port", hlsPort, "--live-grace", "2s",
		"--worker-metrics-addr", "127.0.0.1:"+wmPort)
	f.cmd.Dir, f.cmd.Env, f.cmd.Stderr, f.cmd.Stdout = dir, farmEnv(dir), f.log, f.log
	if err := f.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s run: %w", opt.Ffrtmp, err)
	}
	go func() { f.done <- f.cmd.Wait() }()
	data := filepath.Join(dir, "ffrtmp-data")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-f.done:
			f.done <- err
			f.stop(opt.Log)
			return nil, fmt.Errorf("ffrtmp run ended (%v):\n%s", err, f.logTail())
		case <-ctx.Done():
			f.stop(opt.Log)
			return nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			f.stop(opt.Log)
			return nil, fmt.Errorf("ffrtmp run did not start within 60 s:\n%s", f.logTail())
		}
		if !strings.Contains(f.log.String(), "Ctrl-C to stop") {
			continue
		}
		mu, err1 := os.ReadFile(filepath.Join(data, "master-url"))
		key, err2 := os.ReadFile(filepath.Join(data, "api-key"))
		if err1 != nil || err2 != nil {
			continue
		}
		if f.client, err = api.NewClient(strings.TrimSpace(string(mu)), strings.TrimSpace(string(key))); err != nil {
			f.stop(opt.Log)
			return nil, err
		}
		return f, nil
	}
}

// farmEnv is this environment without ffrtmp settings that would point the farm elsewhere,
// with HOME in the farm's folder so no user config applies.
func farmEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FFRTMP_") && k != "FFRTMP_FFMPEG_PREFIX" || k == "MASTER_API_KEY" || k == "HOME" || k == "XDG_CONFIG_HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+dir, "XDG_CONFIG_HOME="+dir)
}

// stop interrupts the farm, waits up to 40 s for it to exit (then kills it) and removes its
// folder.
func (f *farm) stop(log io.Writer) {
	defer os.RemoveAll(f.dir)
	select {
	case err := <-f.done: // already exited
		f.done <- err
		return
	default:
	}
	_ = f.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-f.done:
		f.done <- err
	case <-time.After(40 * time.Second):
		fmt.Fprintln(log, "ffrtmp run did not exit within 40 s of SIGINT; killing it")
		_ = f.cmd.Process.Kill()
		f.done <- <-f.done
	}
}
