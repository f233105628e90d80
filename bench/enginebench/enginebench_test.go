package enginebench

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// The ffmpeg side must get the settings the engine applies (engine/stage.go, encoder.go).
func TestSingleOutputArgs(t *testing.T) {
	rate := spec.Rate{Num: 30, Den: 1}
	args, err := SingleOutputArgs("in.mp4", Rendition720p("out/720p.mp4"), rate, "out/720p.mp4")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(args, " ")
	for _, want := range []string{
		"-nostdin", "-y", "-i in.mp4", "-map 0:v:0 -map 0:a:0",
		"-filter:v fps=30/1,scale=1280:720,format=yuv420p",
		"-c:v libx264 -preset veryfast -b:v 3000000",
		"-g 60 -keyint_min 60 -sc_threshold 0 -forced-idr 1 -force_key_frames expr:gte(t,n_forced*2)",
		"-c:a aac -b:a 128000 -ar 48000 -ac 2",
		"-f mp4 out/720p.mp4",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("args lack %q:\n%s", want, got)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	outs, err := ladder("out")
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{"out/1080p.mp4", "out/720p.mp4", "out/480p.mp4"}
	args, err := SplitArgs("in.mp4", outs, spec.Rate{Num: 30, Den: 1}, targets)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(args, " ")
	for _, want := range []string{
		"-filter_complex [0:v:0]split=3[s0][s1][s2];[s0]fps=30/1,scale=-2:1080,format=yuv420p[v0];" +
			"[s1]fps=30/1,scale=-2:720,format=yuv420p[v1];[s2]fps=30/1,scale=-2:480,format=yuv420p[v2]",
		"-map [v0] -map 0:a:0 -c:v libx264 -preset veryfast -b:v 5000000 -maxrate 7500000 -bufsize 10000000",
		"-map [v2] -map 0:a:0 -c:v libx264 -preset veryfast -b:v 1200000 -maxrate 1800000 -bufsize 2400000",
		"-b:a 96000", "-f mp4 out/480p.mp4",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("args lack %q:\n%s", want, got)
		}
	}
}

func TestEncodeArgsRefusesWhatItCannotMirror(t *testing.T) {
	o := Rendition720p("x.mp4")
	o.Video.Codec = "h264_nvenc"
	if _, err := encodeArgs(o, spec.Rate{Num: 30, Den: 1}); err == nil {
		t.Fatal("want an error for a codec the benchmark does not mirror")
	}
}

// RunCase interleaves the variants round by round and compares medians.
func TestRunCaseInterleaves(t *testing.T) {
	var order []string
	variant := func(name string) Variant {
		return Variant{Name: name, Run: func(ctx context.Context, dir string) error {
			order = append(order, name)
			return nil
		}}
	}
	c := Case{ID: "t", Name: "test",
		Variants:    []Variant{variant("a"), variant("b")},
		Comparisons: []Comparison{{ID: "t", Candidate: "a", Baseline: "b", Target: 0}},
	}
	res, err := RunCase(context.Background(), c, Options{Runs: 2, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "b", "a", "a", "b"}; !slices.Equal(order, want) {
		t.Errorf("ran %v, want %v (warm-up, then rounds alternating which variant goes first)", order, want)
	}
	if n := len(res.Variants[0].Seconds); n != 2 {
		t.Errorf("%d measured runs, want 2 (the warm-up is not one)", n)
	}
	if len(res.Comparisons) != 1 || !res.Comparisons[0].Pass {
		t.Errorf("comparisons = %+v", res.Comparisons)
	}
}

func TestCasesUnknown(t *testing.T) {
	if _, err := Cases([]string{"9"}, Source{}, FFmpeg{}); err == nil || !strings.Contains(err.Error(), "known are") {
		t.Fatalf("err = %v, want one listing the known cases", err)
	}
}
