package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// The engine's tests check its outputs with the ffprobe and ffmpeg programs of the same FFmpeg
// build it links, so a disagreement is the engine's and not a version skew.

// ffmpegBin returns the path of one of the FFmpeg build's programs (ffmpeg, ffprobe).
func ffmpegBin(t testing.TB, name string) string {
	t.Helper()
	prefix := os.Getenv("FFRTMP_FFMPEG_PREFIX")
	if prefix == "" {
		prefix = "/opt/ffrtmp/ffmpeg-7.1"
	}
	p := filepath.Join(prefix, "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found at %s (%v): run `make deps` to build FFmpeg into %s, or set FFRTMP_FFMPEG_PREFIX", name, p, err, prefix)
	}
	return p
}

// runTool runs one of the FFmpeg build's programs and returns its stdout; a failure is fatal
// and shows stderr.
func runTool(t testing.TB, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpegBin(t, name), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

// probed is what ffprobe says about a file.
type probed struct {
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
	Streams []probedStream `json:"streams"`
}

type probedStream struct {
	CodecType     string `json:"codec_type"`
	CodecName     string `json:"codec_name"`
	Width         int    `json:"width"`
	Height        int    `json:"height"`
	NbReadFrames  string `json:"nb_read_frames"`
	NbReadPackets string `json:"nb_read_packets"`
	AvgFrameRate  string `json:"avg_frame_rate"`
	SampleRate    string `json:"sample_rate"`
	Channels      int    `json:"channels"`
}

// stream returns the first stream of a media type, or nil.
func (p probed) stream(codecType string) *probedStream {
	for i := range p.Streams {
		if p.Streams[i].CodecType == codecType {
			return &p.Streams[i]
		}
	}
	return nil
}

// frames is the number of frames ffprobe decoded from the stream.
func (s *probedStream) frames(t testing.TB) int {
	t.Helper()
	n, err := strconv.Atoi(s.NbReadFrames)
	if err != nil {
		t.Fatalf("ffprobe counted no frames in the %s stream (%q)", s.CodecType, s.NbReadFrames)
	}
	return n
}

// ffprobe decodes every frame of path (so corrupt data shows) and describes it.
func ffprobe(t testing.TB, path string) probed {
	t.Helper()
	out, _ := runTool(t, "ffprobe", "-v", "error", "-count_frames", "-count_packets",
		"-show_entries", "format=format_name,duration:stream=codec_type,codec_name,width,height,nb_read_frames,nb_read_packets,avg_frame_rate,sample_rate,channels",
		"-of", "json", path)
	var p probed
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	return p
}

// videoSpan is the time from the first video frame's start to the last one's end, as ffprobe
// reads the packets of path.
func videoSpan(t testing.TB, path string) time.Duration {
	t.Helper()
	first, last := math.Inf(1), math.Inf(-1)
	for _, p := range videoPackets(t, path) {
		first = min(first, p.pts)
		last = max(last, p.pts+p.dur)
	}
	return time.Duration((last - first) * float64(time.Second))
}

type packet struct {
	pts, dur float64 // seconds
	key      bool
}

// videoPackets lists the video packets of path in file order.
func videoPackets(t testing.TB, path string) []packet {
	t.Helper()
	out, _ := runTool(t, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "packet=pts_time,duration_time,flags", "-of", "csv=p=0", path)
	var pkts []packet
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		pts, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue // no pts
		}
		dur, _ := strconv.ParseFloat(f[1], 64)
		pkts = append(pkts, packet{pts: pts, dur: dur, key: strings.Contains(f[2], "K")})
	}
	if len(pkts) == 0 {
		t.Fatalf("ffprobe found no video packets in %s:\n%s", path, out)
	}
	return pkts
}

// keyframeTimes lists the timestamps of the video keyframes of path, in seconds.
func keyframeTimes(t testing.TB, path string) []float64 {
	t.Helper()
	var keys []float64
	for _, p := range videoPackets(t, path) {
		if p.key {
			keys = append(keys, p.pts)
		}
	}
	return keys
}

// synthetic is a spec input of a generated source.
func synthetic(w, h int, seconds float64) spec.Input {
	return spec.Input{Synthetic: &spec.Synthetic{Width: w, Height: h, Duration: seconds}}
}

// fast is a quick libx264 encoding at the given size.
func fast(w, h int) *spec.Video {
	return &spec.Video{Width: w, Height: h, Preset: "ultrafast", GOP: 1}
}

// run runs spec with a deadline, failing the test on error.
func run(t testing.TB, spec spec.Spec, obs engine.Observer) engine.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := engine.Run(ctx, spec, obs)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// makeSource writes a synthetic w×h source of the given length (30 fps, h264 + aac) into
// dir/name through the engine, at a quality high enough to serve as a reference.
func makeSource(t testing.TB, dir, name string, w, h int, seconds float64) string {
	t.Helper()
	path := filepath.Join(dir, name)
	run(t, spec.Spec{
		Input: synthetic(w, h, seconds),
		Outputs: []spec.Output{{Target: path,
			Video: &spec.Video{CRF: 12, Preset: "veryfast", GOP: 1}}},
	}, nil)
	return path
}

// dirEntries lists the names in dir (recursively), for "nothing left behind" checks.
func dirEntries(t testing.TB, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// assertNoOutput fails when dir holds anything: a failed or cancelled run must leave neither
// its output, nor a temporary, nor a folder it created behind.
func assertNoOutput(t testing.TB, dir string) {
	t.Helper()
	for _, name := range dirEntries(t, dir) {
		t.Errorf("left behind in %s: %s", dir, name)
	}
}

// engineErr asserts err is an *engine.Error of kind and returns it.
func engineErr(t testing.TB, err error, kind engine.Kind) *engine.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("Run succeeded, want a %s error", kind)
	}
	if got := engine.KindOf(err); got != kind {
		t.Fatalf("error kind %q, want %q: %v", got, kind, err)
	}
	var e *engine.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not an *engine.Error: %v", err, err)
	}
	return e
}
