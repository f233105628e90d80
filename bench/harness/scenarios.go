package harness

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// Scenario is a workload, as data: a source, the renditions to make of it, and the codecs
// (or encoders) to make them with. `--scenarios file.yaml` holds a list of them under
// `scenarios:`; see BuiltinScenarios for examples.
type Scenario struct {
	Name string `yaml:"name" json:"name"`
	// Description says what the scenario stands for, for reports.
	Description string         `yaml:"description,omitempty" json:"description,omitempty"`
	Source      ScenarioSource `yaml:"source" json:"source"`
	// Outputs are the renditions (one: a single rendition; several: a ladder). A zero width
	// or height keeps the source's (or the aspect ratio).
	Outputs []ScenarioOutput `yaml:"outputs" json:"outputs"`
	// Codecs are h264, hevc and av1: each runs on every encoder of that codec this machine
	// really opens (libx264; nvenc, qsv, vaapi where present). Encoders, when set, names
	// encoders instead.
	Codecs   []string `yaml:"codecs,omitempty" json:"codecs,omitempty"`
	Encoders []string `yaml:"encoders,omitempty" json:"encoders,omitempty"`
	// Presets maps an encoder family (libx264, nvenc, qsv, vaapi) to its preset; missing
	// families take DefaultPresets'.
	Presets map[string]string `yaml:"presets,omitempty" json:"presets,omitempty"`
	// Sweep, when set, runs the scenario once per bitrate (each applied to every output,
	// scaled by the output's share of the first output's bitrate): quality against bitrate.
	Sweep []spec.Bitrate `yaml:"sweep,omitempty" json:"sweep,omitempty"`
	// Density marks the scenario for density mode (--density).
	Density bool `yaml:"density,omitempty" json:"density,omitempty"`
	// Hardware (cuda, qsv, vaapi) decodes and scales on that device for every encoder, the
	// software ones too (NVDEC → scale_cuda → libx264 on a GPU without NVENC); the encoders
	// of other devices are left out. Empty: hardware only for hardware encoders.
	Hardware string `yaml:"hardware,omitempty" json:"hardware,omitempty"`
}

// ScenarioSource is a scenario's input.
type ScenarioSource struct {
	// File is a media file; empty: a synthetic testsrc2 picture of Width×Height at FPS.
	File     string  `yaml:"file,omitempty" json:"file,omitempty"`
	Width    int     `yaml:"width,omitempty" json:"width,omitempty"`
	Height   int     `yaml:"height,omitempty" json:"height,omitempty"`
	FPS      float64 `yaml:"fps,omitempty" json:"fps,omitempty"`
	Duration float64 `yaml:"duration,omitempty" json:"duration,omitempty"` // seconds (synthetic only)
}

// ScenarioOutput is one rendition. Bitrate (bits/s; "3M" and "800k" work) sets a
// capped-VBR target (maxrate = bitrate, a one-second buffer); CRF sets constant quality.
type ScenarioOutput struct {
	Name    string       `yaml:"name" json:"name"`
	Width   int          `yaml:"width,omitempty" json:"width,omitempty"`
	Height  int          `yaml:"height,omitempty" json:"height,omitempty"`
	FPS     float64      `yaml:"fps,omitempty" json:"fps,omitempty"`
	Bitrate spec.Bitrate `yaml:"bitrate,omitempty" json:"bitrate,omitempty"`
	CRF     int          `yaml:"crf,omitempty" json:"crf,omitempty"`
}

// DefaultPresets are the presets of each encoder family when a scenario names none: the
// ones live and VOD farms commonly run.
var DefaultPresets = map[string]string{"libx264": "veryfast", "libx265": "veryfast", "libsvtav1": "10",
	"libvpx-vp9": "6", "nvenc": "p4", "qsv": "veryfast", "vaapi": ""}

// codecEncoders lists the encoders of each codec this FFmpeg build has, software first.
var codecEncoders = map[string][]string{
	"h264": {"libx264", "h264_nvenc", "h264_qsv", "h264_vaapi"},
	"hevc": {"libx265", "hevc_nvenc", "hevc_qsv", "hevc_vaapi"},
	"av1":  {"libsvtav1", "av1_nvenc"},
	"vp9":  {"libvpx-vp9"},
}

// CodecOf names the codec an encoder writes ("" for an unknown encoder).
func CodecOf(encoder string) string {
	for c, encs := range codecEncoders {
		if slices.Contains(encs, encoder) {
			return c
		}
	}
	return ""
}

// family is the encoder's family (libx264, nvenc, qsv, vaapi) and the hardware device it
// needs ("" for software).
func family(encoder string) (fam, device string) {
	switch {
	case strings.HasSuffix(encoder, "_nvenc"):
		return "nvenc", "cuda"
	case strings.HasSuffix(encoder, "_qsv"):
		return "qsv", "qsv"
	case strings.HasSuffix(encoder, "_vaapi"):
		return "vaapi", "vaapi"
	}
	return encoder, ""
}

// BuiltinScenarios is the built-in set: single renditions from 720p30 to 4k60 and an ABR
// ladder, each for h264, hevc and av1, bitrate sweeps for the quality chart and BD-rate
// (rd-1080p with vp9 too), and the density workload. Durations are short enough for a 2-core machine to finish the set;
// --duration stretches them.
func BuiltinScenarios() []Scenario {
	all := []string{"h264", "hevc", "av1"}
	single := func(name string, w, h int, fps float64, bitrate spec.Bitrate, seconds float64) Scenario {
		return Scenario{Name: name, Description: fmt.Sprintf("%dx%d at %g fps, one rendition at the same size", w, h, fps),
			Source:  ScenarioSource{Width: w, Height: h, FPS: fps, Duration: seconds},
			Outputs: []ScenarioOutput{{Name: fmt.Sprintf("%dp", h), Width: w, Height: h, Bitrate: bitrate}}, Codecs: all}
	}
	return []Scenario{
		single("720p30", 1280, 720, 30, 3_000_000, 5),
		single("1080p30", 1920, 1080, 30, 5_000_000, 5),
		single("1080p60", 1920, 1080, 60, 8_000_000, 4),
		single("4k30", 3840, 2160, 30, 16_000_000, 2),
		single("4k60", 3840, 2160, 60, 25_000_000, 2),
		{Name: "ladder-1080p", Description: "1080p30 source into an ABR ladder of 1080p, 720p, 480p and 360p",
			Source: ScenarioSource{Width: 1920, Height: 1080, FPS: 30, Duration: 4},
			Outputs: []ScenarioOutput{
				{Name: "1080p", Width: 1920, Height: 1080, Bitrate: 5_000_000},
				{Name: "720p", Width: 1280, Height: 720, Bitrate: 3_000_000},
				{Name: "480p", Width: 854, Height: 480, Bitrate: 1_200_000},
				{Name: "360p", Width: 640, Height: 360, Bitrate: 700_000},
			}, Codecs: all},
		{Name: "rd-1080p", Description: "1080p30 at 1 to 8 Mb/s: rate–quality curves and BD-rate against the anchor (--anchor, --vmaf)",
			Source:  ScenarioSource{Width: 1920, Height: 1080, FPS: 30, Duration: 3},
			Outputs: []ScenarioOutput{{Name: "1080p", Width: 1920, Height: 1080, Bitrate: 4_000_000}},
			Codecs:  append(slices.Clone(all), "vp9"), Sweep: []spec.Bitrate{1_000_000, 2_000_000, 4_000_000, 8_000_000}},
		{Name: "rd-720p30", Description: "720p30 at 0.5 to 4 Mb/s: quality against bitrate",
			Source:  ScenarioSource{Width: 1280, Height: 720, FPS: 30, Duration: 4},
			Outputs: []ScenarioOutput{{Name: "720p", Width: 1280, Height: 720, Bitrate: 3_000_000}},
			Codecs:  all, Sweep: []spec.Bitrate{500_000, 1_000_000, 2_000_000, 4_000_000}},
		{Name: "1080p30-cuda", Description: "1080p30 decoded (NVDEC) and scaled (scale_cuda) on the GPU into 720p, encoded by each encoder",
			Source:  ScenarioSource{Width: 1920, Height: 1080, FPS: 30, Duration: 5},
			Outputs: []ScenarioOutput{{Name: "720p", Width: 1280, Height: 720, Bitrate: 3_000_000}},
			Codecs:  []string{"h264", "hevc"}, Hardware: "cuda"},
		{Name: "live-720p30", Description: "720p30 live sessions into a 720p+360p ladder: how many one machine sustains",
			Source: ScenarioSource{Width: 1280, Height: 720, FPS: 30, Duration: 6},
			Outputs: []ScenarioOutput{
				{Name: "720p", Width: 1280, Height: 720, Bitrate: 3_000_000},
				{Name: "360p", Width: 640, Height: 360, Bitrate: 700_000},
			}, Codecs: all, Density: true},
	}
}

// QuickScenarios is the --quick profile: small pictures, a short sweep and a small ladder,
// so a run finishes in under a minute on 2 cores.
func QuickScenarios() []Scenario {
	all := []string{"h264", "hevc", "av1"}
	return []Scenario{
		{Name: "360p30", Description: "640x360 at 30 fps, one rendition",
			Source:  ScenarioSource{Width: 640, Height: 360, FPS: 30, Duration: 2},
			Outputs: []ScenarioOutput{{Name: "360p", Width: 640, Height: 360, Bitrate: 800_000}}, Codecs: all},
		{Name: "rd-360p30", Description: "640x360 at 200 kb/s and 1.2 Mb/s: quality against bitrate",
			Source:  ScenarioSource{Width: 640, Height: 360, FPS: 30, Duration: 2},
			Outputs: []ScenarioOutput{{Name: "360p", Width: 640, Height: 360, Bitrate: 800_000}},
			Codecs:  all, Sweep: []spec.Bitrate{200_000, 1_200_000}},
		{Name: "ladder-360p", Description: "640x360 source into 360p and 240p",
			Source: ScenarioSource{Width: 640, Height: 360, FPS: 30, Duration: 2},
			Outputs: []ScenarioOutput{
				{Name: "360p", Width: 640, Height: 360, Bitrate: 800_000},
				{Name: "240p", Width: 426, Height: 240, Bitrate: 400_000},
			}, Codecs: all, Density: true},
	}
}

// LoadScenarios reads a scenarios file: `scenarios:` followed by a list of Scenario.
// Unknown keys are errors, so a typo does not silently measure the wrong thing.
func LoadScenarios(path string) ([]Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Scenarios []Scenario `yaml:"scenarios"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.Scenarios) == 0 {
		return nil, fmt.Errorf("%s: no scenarios (want a list under `scenarios:`)", path)
	}
	for i := range f.Scenarios {
		if err := f.Scenarios[i].check(); err != nil {
			return nil, fmt.Errorf("%s: scenarios[%d]: %w", path, i, err)
		}
	}
	return f.Scenarios, nil
}

// check refuses a scenario that cannot run, naming what is wrong.
func (s *Scenario) check() error {
	if s.Name == "" || strings.ContainsAny(s.Name, "/@ \t") {
		return fmt.Errorf("name %q: want a name without spaces, '/' or '@'", s.Name)
	}
	src := s.Source
	if src.File == "" && (src.Width <= 0 || src.Height <= 0 || !positive(src.FPS) || !positive(src.Duration)) {
		return fmt.Errorf("%s: a synthetic source needs width, height, fps and duration", s.Name)
	}
	if src.File != "" {
		if _, err := os.Stat(src.File); err != nil {
			return fmt.Errorf("%s: source file: %w", s.Name, err)
		}
	}
	if len(s.Outputs) == 0 {
		return fmt.Errorf("%s: no outputs", s.Name)
	}
	seen := map[string]bool{}
	for i, o := range s.Outputs {
		if o.Name == "" || seen[o.Name] || strings.ContainsAny(o.Name, "/\\ ") {
			return fmt.Errorf("%s: outputs[%d]: name %q missing, repeated or not a plain name", s.Name, i, o.Name)
		}
		seen[o.Name] = true
		if o.Width < 0 || o.Height < 0 || o.CRF < 0 || o.Bitrate < 0 || (o.Bitrate == 0 && o.CRF == 0) {
			return fmt.Errorf("%s: output %s: want a bitrate or a crf, and sizes that are not negative", s.Name, o.Name)
		}
		if o.FPS != 0 && !positive(o.FPS) {
			return fmt.Errorf("%s: output %s: fps %v: want a positive number (or none: the source's)", s.Name, o.Name, o.FPS)
		}
	}
	if len(s.Codecs) == 0 && len(s.Encoders) == 0 {
		return fmt.Errorf("%s: name codecs (h264, hevc, av1) or encoders", s.Name)
	}
	for _, c := range s.Codecs {
		if codecEncoders[c] == nil {
			return fmt.Errorf("%s: codec %q: want h264, hevc, av1 or vp9", s.Name, c)
		}
	}
	for _, e := range s.Encoders {
		if CodecOf(e) == "" {
			return fmt.Errorf("%s: encoder %q: not one this build has (%s)", s.Name, e, strings.Join(allEncoders(), ", "))
		}
	}
	if s.Hardware != "" && !slices.Contains(spec.Devices(), s.Hardware) {
		return fmt.Errorf("%s: hardware %q: want one of %s", s.Name, s.Hardware, strings.Join(spec.Devices(), ", "))
	}
	if len(s.Sweep) > 0 && s.Outputs[0].Bitrate == 0 {
		return fmt.Errorf("%s: a sweep needs outputs with bitrates", s.Name)
	}
	return nil
}

// positive reports whether v is a finite number above zero (YAML can say .nan and .inf).
func positive(v float64) bool { return v > 0 && !math.IsInf(v, 1) }

func allEncoders() []string {
	var out []string
	for _, c := range []string{"h264", "hevc", "av1", "vp9"} {
		out = append(out, codecEncoders[c]...)
	}
	return out
}

// encoders lists the encoders s runs on, in a stable order: with Hardware, the software
// ones and that device's.
func (s *Scenario) encoders() []string {
	out := s.Encoders
	if len(out) == 0 {
		for _, c := range s.Codecs {
			out = append(out, codecEncoders[c]...)
		}
	}
	if s.Hardware == "" {
		return out
	}
	return slices.DeleteFunc(slices.Clone(out), func(e string) bool {
		_, dev := family(e)
		return dev != "" && dev != s.Hardware
	})
}

// SelectScenarios keeps the scenarios named in names (all when empty); an unknown name is
// an error that lists the known ones.
func SelectScenarios(all []Scenario, names []string) ([]Scenario, error) {
	if len(names) == 0 {
		return all, nil
	}
	var out []Scenario
	for _, n := range names {
		i := slices.IndexFunc(all, func(s Scenario) bool { return s.Name == n })
		if i < 0 {
			known := make([]string, len(all))
			for j, s := range all {
				known[j] = s.Name
			}
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", n, strings.Join(known, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

var errNoCases = errors.New("no cases to run")
