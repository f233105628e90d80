package harness

import (
	"encoding/xml"
	"errors"
	"io"
	"maps"
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
		{"quality-rd-1080p-vmaf.svg", []string{"rd-1080p: VMAF vs bitrate", "libx264", "libx265", "VMAF", "bitrate (kb/s, measured)"}},
		{"quality-rd-1080p-psnr.svg", []string{"rd-1080p: PSNR vs bitrate", "libx264", "libx265", "PSNR (dB)", "bitrate (kb/s, measured)"}},
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

// chartTexts renders r's charts and returns each chart's text by file name.
func chartTexts(t *testing.T, r *Results) map[string][]string {
	t.Helper()
	charts, err := r.Charts()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	texts := map[string][]string{}
	for _, c := range charts {
		path := filepath.Join(dir, c.Name)
		if err := os.WriteFile(path, c.SVG, 0o644); err != nil {
			t.Fatal(err)
		}
		_, texts[c.Name] = svgText(t, path)
	}
	return texts
}

// A sweep measured without --vmaf has a PSNR chart and no VMAF chart; scenarios that are
// not sweeps have no rate–quality chart, however many encoders measured their quality.
func TestRateQualityChartsWithoutVMAF(t *testing.T) {
	r := &Results{}
	for _, p := range []struct {
		at         string
		rate, psnr float64
	}{{"500k", 5e5, 33}, {"1M", 1e6, 36}} {
		for _, enc := range []string{"libx264", "libsvtav1"} {
			c := sweepCase("rd-720p30", enc, p.at, p.rate, p.psnr, 0, 30)
			c.Quality[0].VMAF = nil
			r.Cases = append(r.Cases, c)
		}
	}
	single := sampleResults().Cases[0] // 1080p30-cbr/libx264, PSNR only
	r.Cases = append(r.Cases, single)

	texts := chartTexts(t, r)
	if _, ok := texts["quality-rd-720p30-vmaf.svg"]; ok {
		t.Errorf("a VMAF chart without VMAF figures")
	}
	psnr, ok := texts["quality-rd-720p30-psnr.svg"]
	if !ok {
		t.Fatalf("no PSNR chart for the sweep; charts: %v", slices.Sorted(maps.Keys(texts)))
	}
	for _, w := range []string{"rd-720p30: PSNR vs bitrate", "libx264", "libsvtav1", "PSNR (dB)"} {
		if !slices.Contains(psnr, w) {
			t.Errorf("quality-rd-720p30-psnr.svg: no text %q among %q", w, psnr)
		}
	}
	for name := range texts {
		if strings.Contains(name, "1080p30-cbr") {
			t.Errorf("a rate–quality chart %s for a scenario that is not a sweep", name)
		}
	}
}

// An encoder that ran a sweep with two presets has a curve for each, named by its preset;
// the other encoders' curves keep their plain names.
func TestRateQualityChartPresets(t *testing.T) {
	r := &Results{}
	for _, p := range []struct {
		at               string
		rate, psnr, vmaf float64
	}{{"1M", 1e6, 34, 70}, {"2M", 2e6, 37, 82}} {
		slow := sweepCase("rd-1080p", "libx264", p.at, p.rate*0.9, p.psnr, p.vmaf, 20)
		slow.Preset = "slow"
		r.Cases = append(r.Cases, sweepCase("rd-1080p", "libx264", p.at, p.rate, p.psnr, p.vmaf, 140), slow,
			sweepCase("rd-1080p", "libx265", p.at, p.rate*0.8, p.psnr, p.vmaf, 20))
	}
	vmaf := chartTexts(t, r)["quality-rd-1080p-vmaf.svg"]
	for _, w := range []string{"libx264 (preset veryfast)", "libx264 (preset slow)", "libx265", "VMAF"} {
		if !slices.Contains(vmaf, w) {
			t.Errorf("quality-rd-1080p-vmaf.svg: no text %q among %q", w, vmaf)
		}
	}
}
