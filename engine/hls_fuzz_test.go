package engine

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// FuzzMasterPlaylist writes a master playlist for renditions named as a client may name
// outputs (any name Normalize accepts) with any measured figures, and reads it back: one
// #EXT-X-STREAM-INF per rendition, each followed by one URI line that resolves to the
// rendition's folder; no name adds, removes or turns into a tag or a query.
func FuzzMasterPlaylist(f *testing.F) {
	f.Add("720p", "360p", int64(3_000_000), int64(2_500_000), 1280, 720, 30000, 1001)
	f.Add("#EXT-X-ENDLIST", "a?b#c", int64(1), int64(0), 0, 0, 0, 1)
	f.Add("a:b", "%2e%2e", int64(-1), int64(-5), -2, 3, 1, 0)
	f.Add("a\nb", " spaced ", int64(9e18), int64(9e18), 8192, 8192, 1000, 1)
	f.Fuzz(func(t *testing.T, name1, name2 string, peak, average int64, width, height, fpsNum, fpsDen int) {
		s := spec.Spec{Input: spec.Input{URL: "/in.mp4"}, Outputs: []spec.Output{
			{Name: name1, Container: "hls", Target: "/out"}, {Name: name2, Container: "hls", Target: "/out"}}}
		n, err := s.Normalize()
		if err != nil {
			return // a name no job can have
		}
		var vs []variant
		for _, o := range n.Outputs {
			v := variant{uri: o.Name + "/index.m3u8", peak: peak, average: average, width: width, height: height,
				codecs: []string{"avc1.640028", "mp4a.40.2"}}
			if fpsDen > 0 && fpsNum > 0 {
				v.fps = spec.Rate{Num: fpsNum, Den: fpsDen}.Float()
			}
			vs = append(vs, v)
		}
		text := string(masterPlaylist(vs))
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		if lines[0] != "#EXTM3U" {
			t.Fatalf("playlist starts with %q:\n%s", lines[0], text)
		}
		var uris []string
		for i := 0; i < len(lines); i++ {
			l := lines[i]
			switch {
			case strings.HasPrefix(l, "#EXT-X-STREAM-INF:"):
				if i+1 >= len(lines) || lines[i+1] == "" || strings.HasPrefix(lines[i+1], "#") {
					t.Fatalf("line %d: a STREAM-INF without its URI:\n%s", i+1, text)
				}
				uris = append(uris, lines[i+1])
				i++
			case strings.HasPrefix(l, "#EXT"):
			default:
				t.Fatalf("line %d: %q is neither a tag nor a rendition's URI:\n%s", i+1, l, text)
			}
		}
		if len(uris) != len(vs) {
			t.Fatalf("%d renditions, %d URIs:\n%s", len(vs), len(uris), text)
		}
		want := map[string]bool{}
		for _, o := range n.Outputs {
			want[o.Name+"/index.m3u8"] = true
		}
		for _, raw := range uris {
			u, err := url.Parse(raw)
			if err != nil || u.Scheme != "" || u.Host != "" || u.RawQuery != "" || u.Fragment != "" || !want[u.Path] {
				t.Fatalf("URI %q does not resolve to one rendition's playlist (%+v, %v); want one of %v", raw, u, err, want)
			}
			delete(want, u.Path)
		}
	})
}
