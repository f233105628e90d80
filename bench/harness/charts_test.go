package harness

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// svgText parses an SVG to the end and returns its root element's name and the text a
// viewer would show: gonum/plot writes every label as a <text> element.
func svgText(t *testing.T, path string) (root string, texts []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	inText := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", filepath.Base(path), err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
			if tok.Name.Local == "text" {
				inText++
			}
		case xml.EndElement:
			if tok.Name.Local == "text" {
				inText--
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); inText > 0 && s != "" {
				texts = append(texts, s)
			}
		}
	}
	return root, texts
}

func TestCharts(t *testing.T) {
	dir, _, _ := writeSample(t)
	for _, tc := range []struct {
		file string
		want []string
	}{
		// The skipped av1_nvenc case has no bar; the ladder is its own group.
		{"fps.svg", []string{"fps by encoder and resolution", "libx264", "h264_nvenc", "1080p30", "ladder-720p-3", "fps (median of runs, frames/s)"}},
		{"quality.svg", []string{"quality vs bitrate", "libx264 1080p30", "h264_nvenc 1080p30", "libx264 720p30", "PSNR (dB)", "bitrate (kb/s, measured)"}},
		{"density.svg", []string{"density", "libx264", "h264_nvenc", "max concurrent realtime sessions"}},
		{"farm.svg", []string{"farm: median fps per node", "gpu-node-1", "cpu-node-1"}},
	} {
		root, texts := svgText(t, filepath.Join(dir, tc.file))
		if root != "svg" {
			t.Errorf("%s: root element <%s>, want <svg>", tc.file, root)
		}
		for _, w := range tc.want {
			found := false
			for _, s := range texts {
				found = found || s == w
			}
			if !found {
				t.Errorf("%s: no text %q among %q", tc.file, w, texts)
			}
		}
		for _, s := range texts {
			if strings.Contains(s, "av1_nvenc") {
				t.Errorf("%s shows the skipped encoder av1_nvenc", tc.file)
			}
		}
	}
}

func TestFPSChartGroupsByResolution(t *testing.T) {
	r := sampleResults()
	// A second 1080p30 scenario: the two can no longer share the "1080p30" group.
	extra := r.Cases[0]
	extra.ID, extra.Scenario = "1080p30-crf/libx264", "1080p30-crf"
	r.Cases = append(r.Cases, extra)
	charts, err := r.Charts()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fps.svg")
	if err := os.WriteFile(path, charts[0].SVG, 0o644); err != nil {
		t.Fatal(err)
	}
	_, texts := svgText(t, path)
	joined := "\n" + strings.Join(texts, "\n") + "\n"
	for _, w := range []string{"\n1080p30-cbr\n", "\n1080p30-crf\n", "\nladder-720p-3\n"} {
		if !strings.Contains(joined, w) {
			t.Errorf("fps.svg lacks group %q: %q", strings.TrimSpace(w), texts)
		}
	}
	if strings.Contains(joined, "\n1080p30\n") {
		t.Errorf("fps.svg still has an ambiguous 1080p30 group")
	}
}

// Each point of a bitrate sweep is a group of its own in fps.svg, in sweep order.
func TestFPSChartSweepGroups(t *testing.T) {
	r := sampleResults()
	base := r.Cases[0]
	r.Cases = nil
	for _, b := range []string{"500k", "4M"} {
		c := base
		c.ID, c.Scenario = "rd-1080p30@"+b+"/libx264", "rd-1080p30"
		r.Cases = append(r.Cases, c)
	}
	charts, err := r.Charts()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fps.svg")
	if err := os.WriteFile(path, charts[0].SVG, 0o644); err != nil {
		t.Fatal(err)
	}
	_, texts := svgText(t, path)
	i, j := slices.Index(texts, "rd-1080p30@500k"), slices.Index(texts, "rd-1080p30@4M")
	if i < 0 || j < 0 || i > j {
		t.Errorf("fps.svg groups: %q, want rd-1080p30@500k then rd-1080p30@4M", texts)
	}
}

// Only renditions at the source's size are points of an encoder's quality curve.
func TestQualityChartFullSizeOnly(t *testing.T) {
	c := Case{Source: Source{Width: 1920, Height: 1080}, Outputs: []Rendition{
		{Name: "1080p", Width: 1920, Height: 1080}, {Name: "720p", Width: 1280, Height: 720}, {Name: "same"}}}
	for name, want := range map[string]bool{"1080p": true, "720p": false, "same": true, "missing": false} {
		if got := fullSize(&c, name); got != want {
			t.Errorf("fullSize(%s) = %v, want %v", name, got, want)
		}
	}
}
