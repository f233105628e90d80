package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master/catalog"
)

// fixturePreset is a stored preset with every setting the text view shows.
func fixturePreset() api.Preset {
	return api.Preset{
		Name: "mobile-hevc", Description: "HEVC for phones: 720/480/240 in fragmented MP4, a long description that the list cuts and get wraps onto a second line",
		Container: "mp4",
		Video: &spec.Video{Codec: "hevc_nvenc", Preset: "p5", Profile: "main", GOP: 4, FPS: spec.Rate{Num: 30000, Den: 1001},
			Options: map[string]string{"tune": "ll", "rc-lookahead": "8"}},
		Audio: &spec.Audio{Codec: "opus", Bitrate: 64_000, Channels: 2},
		Renditions: []spec.Rung{
			{Name: "720p", Height: 720, Bitrate: 2_000_000, MaxRate: 3_000_000, BufSize: 4_000_000, Audio: 96_000},
			{Name: "480p", Height: 480, Bitrate: 900_000},
			{Name: "240p", Height: 240, Bitrate: 250_500, Audio: 48_000},
		},
	}
}

func TestPresetsListGolden(t *testing.T) {
	var b bytes.Buffer
	header, rows := presetsTable(append(catalog.BuiltinPresets(), fixturePreset()))
	writeTable(&b, header, rows)
	checkWidth(t, b.String())
	golden(t, "presets-list.txt", b.String())
}

func TestPresetsGetGolden(t *testing.T) {
	builtin, _ := catalog.BuiltinPreset("abr-1080p")
	for name, p := range map[string]api.Preset{"presets-get-builtin.txt": builtin, "presets-get-stored.txt": fixturePreset()} {
		var b bytes.Buffer
		writePreset(&b, p)
		checkWidth(t, b.String())
		golden(t, name, b.String())
	}
}

const presetYAML = `# a ladder of my own
name: named-in-the-file
description: three rungs, slower preset
container: hls
video:
  codec: libx264
  preset: medium
  gop: 2
audio:
  codec: aac
renditions:
  - {name: 720p, height: 720, bitrate: 3M, max_rate: 4.5M, buf_size: 6M, audio_bitrate: 128k}
  - {name: 480p, height: 480, bitrate: 1200k}
  - {name: 360p, height: 360, bitrate: 800000}
segment_seconds: 4
`

func TestPresetsAgainstMaster(t *testing.T) {
	t.Parallel()
	f := newClientFarm(t)

	var list api.PresetList
	out := f.mustRun(t, "", "presets", "list", "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("presets list -o json: %v\n%s", err, out)
	}
	builtins := map[string]bool{}
	for _, p := range list.Presets {
		builtins[p.Name] = p.BuiltIn
	}
	if !builtins["abr-1080p"] || !builtins["abr-720p"] {
		t.Errorf("presets list lacks the built-ins abr-1080p and abr-720p: %v", builtins)
	}
	table := f.mustRun(t, "", "presets", "list")
	checkWidth(t, table)
	if !strings.Contains(table, "abr-720p") || !strings.Contains(table, "720p/480p/360p") {
		t.Errorf("presets list table:\n%s", table)
	}

	// From a YAML file: the argument names the preset, whatever the file says.
	file := filepath.Join(f.dir, "mine.yaml")
	if err := os.WriteFile(file, []byte(presetYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := f.run(t, "", "presets", "put", "my-ladder", "-f", "mine.yaml")
	if code != 0 {
		t.Fatalf("presets put: exit %d: %s", code, stderr)
	}
	if want := "preset my-ladder stored: hls, 3 renditions (720p/480p/360p)\n"; stdout != want {
		t.Errorf("presets put printed %q, want %q", stdout, want)
	}
	if !strings.Contains(stderr, `names the preset "named-in-the-file"; storing it as "my-ladder"`) {
		t.Errorf("presets put does not say the file's name lost: %q", stderr)
	}
	var got api.Preset
	out = f.mustRun(t, "", "presets", "get", "my-ladder", "-o", "json")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "my-ladder" || got.BuiltIn || got.Video.Preset != "medium" || len(got.Renditions) != 3 ||
		got.Renditions[0].MaxRate != 4_500_000 || got.Renditions[1].Bitrate != 1_200_000 || got.SegmentSeconds != 4 {
		t.Errorf("stored preset = %+v", got)
	}
	if _, err := f.h.Client(t, "admin").GetPreset(t.Context(), "named-in-the-file"); !api.IsNotFound(err) {
		t.Errorf("the file's own name was stored too: %v", err)
	}

	// Round trip: get -o yaml, changed, back in through stdin.
	y := f.mustRun(t, "", "presets", "get", "my-ladder", "-o", "yaml")
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(y), &doc); err != nil || doc["name"] != "my-ladder" {
		t.Fatalf("presets get -o yaml = %v, %v:\n%s", err, doc["name"], y)
	}
	f.mustRun(t, strings.Replace(y, "medium", "slow", 1), "presets", "put", "my-ladder", "-f", "-")
	text := f.mustRun(t, "", "presets", "get", "my-ladder")
	checkWidth(t, text)
	if !strings.Contains(text, "libx264, preset slow, GOP 2 s") || !strings.Contains(text, "720p  720     3M       4.5M") {
		t.Errorf("after put from stdin, presets get shows:\n%s", text)
	}
	// JSON from stdin works too.
	f.mustRun(t, `{"renditions":[{"name":"low","height":240,"bitrate":"300k"}]}`, "presets", "put", "tiny", "-f", "-")

	out = f.mustRun(t, "", "presets", "delete", "my-ladder")
	if out != "preset my-ladder deleted\n" {
		t.Errorf("presets delete printed %q", out)
	}

	tests := []struct {
		name, stdin string
		args        []string
		code        int
		stderr      string
	}{
		{"get deleted", "", []string{"presets", "get", "my-ladder"}, exitNotFound, `preset "my-ladder" not found on the master at ` + f.h.URL},
		{"delete unknown", "", []string{"presets", "delete", "nope"}, exitNotFound, `preset "nope" not found`},
		{"delete built-in", "", []string{"presets", "delete", "abr-1080p"}, exitFailed, `"abr-1080p" is a built-in preset and cannot be deleted`},
		{"put built-in", presetYAML, []string{"presets", "put", "abr-720p", "-f", "-"}, exitFailed, `"abr-720p" is a built-in preset and cannot be changed`},
		{"put bad value", "renditions: [{name: x, height: 721, bitrate: 1M}]", []string{"presets", "put", "odd", "-f", "-"}, exitUsage, "renditions[0].height"},
		{"put unknown field", "renditons: []", []string{"presets", "put", "typo", "-f", "-"}, exitUsage, `preset file standard input: unknown field "renditons"`},
		{"put wrong type", "renditions: {name: x}", []string{"presets", "put", "typo", "-f", "-"}, exitUsage, "renditions: want a slice, not a object"},
		{"put not a mapping", "- a\n- b", []string{"presets", "put", "typo", "-f", "-"}, exitUsage, "want a mapping of preset fields"},
		{"put empty", "  \n", []string{"presets", "put", "typo", "-f", "-"}, exitUsage, "preset file standard input is empty"},
		{"put bad YAML", "name: [", []string{"presets", "put", "typo", "-f", "-"}, exitUsage, "preset file standard input: yaml:"},
		{"put missing file", "", []string{"presets", "put", "x", "-f", "nope.yaml"}, exitUsage, "nope.yaml: no such file"},
		{"put without file", "", []string{"presets", "put", "x"}, exitUsage, "no preset file: give one with -f FILE"},
		{"put without name", "", []string{"presets", "put", "-f", "x.yaml"}, exitUsage, "accepts 1 arg"},
		{"bad format", "", []string{"presets", "list", "-o", "csv"}, exitUsage, `-o "csv"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := f.run(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
		})
	}
}
