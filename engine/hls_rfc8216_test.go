package engine_test

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// checkRFC8216 checks an HLS master playlist and every media playlist it names against the
// rules of RFC 8216 that players enforce: #EXTM3U first; one EXT-X-VERSION no lower than the
// features used need (EXT-X-MAP: 6, fractional EXTINF: 3); every EXT-X-STREAM-INF with a
// BANDWIDTH, a RESOLUTION for video, a CODECS list, and a URI line after it; media playlists
// with EXT-X-TARGETDURATION at least every EXTINF rounded, EXT-X-MAP naming a file that
// exists, segments that exist, and EXT-X-ENDLIST for VOD.
func checkRFC8216(t *testing.T, master string) {
	t.Helper()
	lines := readLines(t, master)
	if len(lines) == 0 || lines[0] != "#EXTM3U" {
		t.Fatalf("%s: does not start with #EXTM3U", master)
	}
	var uris []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		rest, ok := strings.CutPrefix(l, "#EXT-X-STREAM-INF:")
		if !ok {
			continue
		}
		attrs := map[string]string{}
		for _, m := range attrRE.FindAllStringSubmatch(rest, -1) {
			attrs[m[1]] = m[2]
		}
		if bw, err := strconv.Atoi(attrs["BANDWIDTH"]); err != nil || bw <= 0 {
			t.Errorf("%s: EXT-X-STREAM-INF without a positive BANDWIDTH: %s", master, l)
		}
		if !regexp.MustCompile(`^\d+x\d+$`).MatchString(attrs["RESOLUTION"]) {
			t.Errorf("%s: RESOLUTION %q is not WxH", master, attrs["RESOLUTION"])
		}
		if c := attrs["CODECS"]; !strings.HasPrefix(c, `"`) || !strings.HasSuffix(c, `"`) || len(c) < 3 {
			t.Errorf("%s: CODECS %q is not a quoted list", master, c)
		}
		if i+1 >= len(lines) || strings.HasPrefix(lines[i+1], "#") || lines[i+1] == "" {
			t.Errorf("%s: EXT-X-STREAM-INF not followed by a URI", master)
			continue
		}
		uris = append(uris, lines[i+1])
	}
	if len(uris) == 0 {
		t.Fatalf("%s: no variant streams", master)
	}
	for _, u := range uris {
		checkMediaPlaylist(t, filepath.Join(filepath.Dir(master), filepath.FromSlash(u)))
	}
}

func checkMediaPlaylist(t *testing.T, path string) {
	t.Helper()
	lines := readLines(t, path)
	if len(lines) == 0 || lines[0] != "#EXTM3U" {
		t.Fatalf("%s: does not start with #EXTM3U", path)
	}
	version, target, maxDur, segs := 0, -1, 0.0, 0
	needs, endList, mapped := 1, false, false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "#EXT-X-VERSION:"):
			if version != 0 {
				t.Errorf("%s: more than one EXT-X-VERSION", path)
			}
			version, _ = strconv.Atoi(strings.TrimPrefix(l, "#EXT-X-VERSION:"))
		case strings.HasPrefix(l, "#EXT-X-TARGETDURATION:"):
			target, _ = strconv.Atoi(strings.TrimPrefix(l, "#EXT-X-TARGETDURATION:"))
		case strings.HasPrefix(l, "#EXT-X-MAP:"):
			needs, mapped = max(needs, 6), true
			m := regexp.MustCompile(`URI="([^"]+)"`).FindStringSubmatch(l)
			if m == nil {
				t.Errorf("%s: EXT-X-MAP without a URI", path)
			} else if _, err := os.Stat(filepath.Join(filepath.Dir(path), m[1])); err != nil {
				t.Errorf("%s: EXT-X-MAP names %s: %v", path, m[1], err)
			}
		case strings.HasPrefix(l, "#EXTINF:"):
			d, err := strconv.ParseFloat(strings.TrimSuffix(strings.SplitN(strings.TrimPrefix(l, "#EXTINF:"), ",", 2)[0], ","), 64)
			if err != nil || d <= 0 {
				t.Errorf("%s: EXTINF %q", path, l)
			}
			if d != math.Trunc(d) {
				needs = max(needs, 3)
			}
			maxDur = max(maxDur, d)
			if i+1 >= len(lines) || strings.HasPrefix(lines[i+1], "#") {
				t.Errorf("%s: EXTINF not followed by a segment URI", path)
			} else if _, err := os.Stat(filepath.Join(filepath.Dir(path), lines[i+1])); err != nil {
				t.Errorf("%s: segment %s: %v", path, lines[i+1], err)
			}
			segs++
		case l == "#EXT-X-ENDLIST":
			endList = true
		}
	}
	switch {
	case version < needs:
		t.Errorf("%s: EXT-X-VERSION %d, but its tags need %d", path, version, needs)
	case target < int(math.Round(maxDur)):
		t.Errorf("%s: EXT-X-TARGETDURATION %d below a %.3f s segment", path, target, maxDur)
	case segs == 0 || !endList:
		t.Errorf("%s: %d segments, EXT-X-ENDLIST %v: want a complete VOD playlist", path, segs, endList)
	}
	if strings.Contains(strings.Join(lines, "\n"), ".m4s") && !mapped {
		t.Errorf("%s: fMP4 segments without EXT-X-MAP", path)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, strings.TrimSpace(sc.Text()))
	}
	return out
}

// TestHLSConformance runs an H.264 ladder in MPEG-TS segments and an AV1 ladder in fMP4
// ones through the RFC 8216 checks.
func TestHLSConformance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		out  spec.Output
	}{
		{"ts h264", spec.Output{Container: "hls", Video: &spec.Video{Preset: "ultrafast", GOP: 1}}},
		{"fmp4 av1", spec.Output{Container: "hls", HLS: &spec.HLS{SegmentType: spec.SegmentFMP4},
			Video: &spec.Video{Codec: "libsvtav1", Preset: "12", GOP: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tc.out.Target = dir
			outs, err := spec.LadderOutputs("360p,240p", tc.out)
			if err != nil {
				t.Fatal(err)
			}
			run(t, spec.Spec{Input: synthetic(640, 360, 2), Outputs: outs}, nil)
			checkRFC8216(t, filepath.Join(dir, "master.m3u8"))
		})
	}
}
