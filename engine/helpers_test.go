package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	return runProgram(t, ffmpegBin(t, name), args...)
}

// runProgram runs the program at path as runTool does.
func runProgram(t testing.TB, path string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", path, strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

// A prober is the path of an ffprobe program to read outputs back with: the build's
// (buildProbe), or Debian's (debianProbe), whose demuxers and decoders are another FFmpeg's
// (5.1, with libdav1d for AV1): a file only the build that wrote it reads is no file to ship.
type prober string

// debianFFprobe is Debian's ffprobe, package ffmpeg, which scripts/build-ffmpeg.sh installs.
const debianFFprobe = "/usr/bin/ffprobe"

func buildProbe(t testing.TB) prober {
	t.Helper()
	return prober(ffmpegBin(t, "ffprobe"))
}

// debianProbe returns Debian's ffprobe; without it the test is skipped on a developer's
// machine and fails in CI, where the setup installs it.
func debianProbe(t testing.TB) prober {
	t.Helper()
	if _, err := os.Stat(debianFFprobe); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Debian's ffprobe is missing (%v): `make deps` installs it (apt-get install --no-install-recommends ffmpeg); CI must read outputs back with it", err)
		}
		t.Skipf("Debian's ffprobe is missing at %s: `make deps` (or apt-get install --no-install-recommends ffmpeg) installs it; CI fails instead", debianFFprobe)
	}
	return prober(debianFFprobe)
}

// run runs the ffprobe with args and returns its stdout, failing the test on error.
func (p prober) run(t testing.TB, args ...string) string {
	t.Helper()
	out, _ := runProgram(t, string(p), args...)
	return out
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
	out := buildProbe(t).run(t, "-v", "error", "-count_frames", "-count_packets",
		"-show_entries", "format=format_name,duration:stream=codec_type,codec_name,width,height,nb_read_frames,nb_read_packets,avg_frame_rate,sample_rate,channels",
		"-of", "json", path)
	var p probed
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	return p
}

// videoStream is what ffprobe says of a video stream beyond probedStream.
type videoStream struct {
	CodecName    string `json:"codec_name"`
	CodecTag     string `json:"codec_tag_string"`
	Profile      string `json:"profile"`
	PixFmt       string `json:"pix_fmt"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	NbReadFrames string `json:"nb_read_frames"`
}

// videoStreams describes every video stream of path (an HLS master playlist has one per
// variant), decoding every frame: an error on the way (a corrupt or concealed frame) fails the
// test.
func (p prober) videoStreams(t testing.TB, path string) []videoStream {
	t.Helper()
	out, errs := runProgram(t, string(p), "-v", "error", "-select_streams", "v", "-count_frames",
		"-show_entries", "stream=codec_name,codec_tag_string,profile,pix_fmt,width,height,nb_read_frames", "-of", "json", path)
	if errs != "" {
		t.Errorf("%s %s: %s", p, path, errs)
	}
	var s struct {
		Streams []videoStream `json:"streams"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil || len(s.Streams) == 0 {
		t.Fatalf("%s %s: %v\n%s", p, path, err, out)
	}
	return s.Streams
}

// videoStream describes the one video stream of path.
func (p prober) videoStream(t testing.TB, path string) videoStream {
	t.Helper()
	vs := p.videoStreams(t, path)
	if len(vs) != 1 {
		t.Fatalf("%s: %d video streams, want 1: %+v", path, len(vs), vs)
	}
	return vs[0]
}

// videoSpan is the time from the first video frame's start to the last one's end, as ffprobe
// reads the packets of path.
func videoSpan(t testing.TB, path string) time.Duration {
	t.Helper()
	first, last := math.Inf(1), math.Inf(-1)
	for _, p := range buildProbe(t).videoPackets(t, path, 0) {
		first = min(first, p.pts)
		last = max(last, p.pts+p.dur)
	}
	return time.Duration((last - first) * float64(time.Second))
}

type packet struct {
	pts, dur float64 // seconds
	key      bool
}

// videoPackets lists the packets of path's video stream number stream (0: the first) in file
// order.
func (p prober) videoPackets(t testing.TB, path string, stream int) []packet {
	t.Helper()
	out := p.run(t, "-v", "error", "-select_streams", "v:"+strconv.Itoa(stream),
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

// keyframeTimes lists the timestamps of the keyframes of path's video stream number stream, in
// seconds.
func (p prober) keyframeTimes(t testing.TB, path string, stream int) []float64 {
	t.Helper()
	var keys []float64
	for _, pkt := range p.videoPackets(t, path, stream) {
		if pkt.key {
			keys = append(keys, pkt.pts)
		}
	}
	return keys
}

// keyframesOf lists the keyframe timestamps of each file's video (files by rendition name).
func (p prober) keyframesOf(t *testing.T, files map[string]string) map[string][]float64 {
	t.Helper()
	keys := map[string][]float64{}
	for name, f := range files {
		keys[name] = p.keyframeTimes(t, f, 0)
	}
	return keys
}

// assertAlignedKeyframes checks that the renditions have keyframes at the same timestamps (by
// rendition name), one a second of a source of the given length, as ABR switching needs.
func assertAlignedKeyframes(t *testing.T, renditions map[string][]float64, seconds int) {
	t.Helper()
	var first []float64
	var firstName string
	for _, name := range slices.Sorted(maps.Keys(renditions)) {
		keys := renditions[name]
		if len(keys) != seconds {
			t.Errorf("%s: keyframes at %v, want %d (one per second)", name, keys, seconds)
		}
		if first == nil {
			first, firstName = keys, name
		} else if !slices.Equal(keys, first) {
			t.Errorf("keyframes differ: %s at %v, %s at %v", name, keys, firstName, first)
		}
	}
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
