package engine_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// rungSize is the size a ladder rung's rendition must have from a given source.
type rungSize struct {
	name          string
	width, height int
}

// testLadder is the ladder the tests run, with the sizes its renditions must have from an
// 854x480 source: small rungs keep the suite fast; what matters is that they differ.
const testLadder = "480p,360p,240p"

var testRungs = []rungSize{
	{"480p", 854, 480},
	{"360p", 640, 360},
	{"240p", 428, 240}, // 854×240÷480 = 427, rounded to even by scale=-2
}

// ladder expands testLadder for container into target with a 1 s GOP.
func ladder(t *testing.T, container, target string) []spec.Output {
	t.Helper()
	outs, err := spec.LadderOutputs(testLadder, spec.Output{Container: container, Target: target,
		Video: &spec.Video{Preset: "ultrafast", GOP: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

func TestLadderMP4KeyframesAligned(t *testing.T) {
	t.Parallel()
	const seconds = 4
	dir := t.TempDir()
	run(t, spec.Spec{Input: synthetic(854, 480, seconds), Outputs: ladder(t, "mp4", dir)}, nil)
	files := map[string]string{}
	for _, r := range testRungs {
		files[r.name] = filepath.Join(dir, r.name+".mp4")
		v := ffprobe(t, files[r.name]).stream("video")
		if v == nil || v.Width != r.width || v.Height != r.height {
			t.Errorf("%s: video %+v, want %dx%d", r.name, v, r.width, r.height)
		}
	}
	assertAlignedKeyframes(t, buildProbe(t).keyframesOf(t, files), seconds)
}

func TestLadderHLS(t *testing.T) {
	t.Parallel()
	const seconds = 4
	dir := t.TempDir()
	res := run(t, spec.Spec{Input: synthetic(854, 480, seconds), Outputs: ladder(t, "hls", dir)}, nil)

	master := filepath.Join(dir, "master.m3u8")
	if !slices.Equal(res.MasterPlaylists, []string{master}) {
		t.Errorf("result master playlists %v, want [%s]", res.MasterPlaylists, master)
	}
	variants := readMaster(t, master)
	if len(variants) != len(testRungs) {
		t.Fatalf("master playlist lists %d variants, want %d: %+v", len(variants), len(testRungs), variants)
	}
	files := map[string]string{}
	for _, r := range testRungs {
		uri := r.name + "/index.m3u8"
		i := slices.IndexFunc(variants, func(v hlsVariant) bool { return v.uri == uri })
		if i < 0 {
			t.Errorf("master playlist does not list %s", uri)
			continue
		}
		v := variants[i]
		if bw, err := strconv.Atoi(v.attrs["BANDWIDTH"]); err != nil || bw <= 0 {
			t.Errorf("%s: BANDWIDTH %q", r.name, v.attrs["BANDWIDTH"])
		}
		if want := strconv.Itoa(r.width) + "x" + strconv.Itoa(r.height); v.attrs["RESOLUTION"] != want {
			t.Errorf("%s: RESOLUTION %q, want %s", r.name, v.attrs["RESOLUTION"], want)
		}
		if !regexp.MustCompile(`^avc1\.[0-9a-f]{6},mp4a\.40\.2$`).MatchString(v.attrs["CODECS"]) {
			t.Errorf("%s: CODECS %q, want avc1.xxxxxx,mp4a.40.2", r.name, v.attrs["CODECS"])
		}

		playlist := filepath.Join(dir, filepath.FromSlash(uri))
		files[r.name] = playlist
		p := ffprobe(t, playlist)
		vs, as := p.stream("video"), p.stream("audio")
		if vs == nil || as == nil || vs.Width != r.width || vs.Height != r.height {
			t.Errorf("%s: playlist streams %+v, want %dx%d video and audio", r.name, p.Streams, r.width, r.height)
		} else if n := vs.frames(t); n < seconds*30-1 || n > seconds*30+1 {
			t.Errorf("%s: %d frames through the playlist, want %d±1", r.name, n, seconds*30)
		}
		segs := segments(t, playlist)
		if len(segs) < 2 {
			t.Errorf("%s: %d segments, want one per GOP", r.name, len(segs))
		}
		for _, seg := range segs {
			if s := ffprobe(t, seg); s.stream("video") == nil {
				t.Errorf("%s: segment %s has no video", r.name, seg)
			}
		}
	}
	assertAlignedKeyframes(t, buildProbe(t).keyframesOf(t, files), seconds)
	for _, name := range dirEntries(t, dir) {
		if strings.Contains(name, ".partial-") {
			t.Errorf("left behind %s", name)
		}
	}
}

type hlsVariant struct {
	uri   string
	attrs map[string]string
}

var attrRE = regexp.MustCompile(`([A-Z0-9-]+)=("[^"]*"|[^,]*)`)

// readMaster parses the variants of an HLS master playlist.
func readMaster(t *testing.T, path string) []hlsVariant {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("master playlist: %v", err)
	}
	defer f.Close()
	var vs []hlsVariant
	var pending map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "#EXT-X-STREAM-INF:"); ok {
			pending = map[string]string{}
			for _, m := range attrRE.FindAllStringSubmatch(rest, -1) {
				pending[m[1]] = strings.Trim(m[2], `"`)
			}
			continue
		}
		if line != "" && !strings.HasPrefix(line, "#") && pending != nil {
			vs = append(vs, hlsVariant{uri: line, attrs: pending})
			pending = nil
		}
	}
	return vs
}

// segments lists the segment files of a media playlist.
func segments(t *testing.T, playlist string) []string {
	t.Helper()
	b, err := os.ReadFile(playlist)
	if err != nil {
		t.Fatalf("media playlist: %v", err)
	}
	var segs []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			segs = append(segs, filepath.Join(filepath.Dir(playlist), line))
		}
	}
	return segs
}
