package harness

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ffrtmp/ffrtmp/api/roundtrip"
)

// FuzzLoadScenarios feeds `--scenarios file.yaml` any bytes. A file either loads or gives an
// error naming the file; a file that loads has only scenarios that pass their own check with
// finite, positive source figures, and loads the same again when written back.
func FuzzLoadScenarios(f *testing.F) {
	for _, s := range []string{
		"scenarios:\n  - name: mine\n    source: {width: 1280, height: 720, fps: 30, duration: 2}\n    outputs: [{name: 720p, width: 1280, height: 720, bitrate: 3M}]\n    codecs: [h264]\n",
		"scenarios:\n  - name: sweep\n    source: {width: 640, height: 360, fps: 29.97, duration: 1}\n    outputs: [{name: a, bitrate: 800k}, {name: b, height: 240, crf: 23}]\n    encoders: [libx264, h264_nvenc]\n    presets: {libx264: fast}\n    sweep: [200k, 1.2M]\n    hardware: cuda\n    density: true\n",
		"scenarios:\n  - name: nan\n    source: {width: 64, height: 64, fps: .nan, duration: .inf}\n    outputs: [{name: a, bitrate: 1M}]\n    codecs: [h264]\n",
		"scenarios: []\n",
		"scenarios:\n  - name: a b\n",
		"scenarios:\n  - name: x\n    typo: 1\n",
		"scenarios:\n  - name: f\n    source: {file: /does/not/exist.mp4}\n    outputs: [{name: a, bitrate: 1M}]\n    codecs: [av1]\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "scenarios.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		scs, err := LoadScenarios(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file %s", err, path)
			}
			return
		}
		for i := range scs {
			if err := scs[i].check(); err != nil {
				t.Fatalf("scenarios[%d] loaded but fails its check: %v", i, err)
			}
			src := scs[i].Source
			for _, v := range []float64{src.FPS, src.Duration} {
				if src.File == "" && (math.IsNaN(v) || math.IsInf(v, 0) || v <= 0) {
					t.Fatalf("scenarios[%d] (%s): synthetic source %+v loaded", i, scs[i].Name, src)
				}
			}
			for _, o := range scs[i].Outputs {
				if math.IsNaN(o.FPS) || math.IsInf(o.FPS, 0) || o.FPS < 0 {
					t.Fatalf("scenarios[%d] (%s): output %s with fps %v loaded", i, scs[i].Name, o.Name, o.FPS)
				}
			}
		}
		out, err := yaml.Marshal(map[string][]Scenario{"scenarios": scs})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := LoadScenarios(path)
		if err != nil {
			t.Fatalf("the loaded scenarios, written back, do not load: %v\n%s", err, out)
		}
		if !roundtrip.Equal(again, scs) {
			t.Fatalf("written back, the scenarios load otherwise:\n first %+v\n again %+v\n%s", scs, again, out)
		}
	})
}
