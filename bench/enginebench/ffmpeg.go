package enginebench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// DefaultFFmpegPrefix is where scripts/build-ffmpeg.sh installs FFmpeg unless
// FFRTMP_FFMPEG_PREFIX says otherwise.
const DefaultFFmpegPrefix = "/opt/ffrtmp/ffmpeg-7.1"

// FFmpeg is the ffmpeg program of the build the engine links, the benchmark's baseline.
type FFmpeg struct {
	Path    string `json:"path"`
	Version string `json:"version"` // first line of ffmpeg -version
}

// FindFFmpeg locates $FFRTMP_FFMPEG_PREFIX/bin/ffmpeg and reads its version.
func FindFFmpeg(ctx context.Context) (FFmpeg, error) {
	prefix := os.Getenv("FFRTMP_FFMPEG_PREFIX")
	if prefix == "" {
		prefix = DefaultFFmpegPrefix
	}
	path := filepath.Join(prefix, "bin", "ffmpeg")
	if _, err := os.Stat(path); err != nil {
		return FFmpeg{}, fmt.Errorf("the ffmpeg program of the engine's FFmpeg build is missing (%v): run `make deps` to build FFmpeg into %s, or set FFRTMP_FFMPEG_PREFIX", err, prefix)
	}
	out, err := exec.CommandContext(ctx, path, "-hide_banner", "-version").Output()
	if err != nil {
		return FFmpeg{}, fmt.Errorf("%s -version: %w (run `make deps` to rebuild FFmpeg)", path, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return FFmpeg{Path: path, Version: strings.TrimSpace(first)}, nil
}

// Run runs ffmpeg with args and returns its error output when it fails.
func (f FFmpeg) Run(ctx context.Context, args []string) error {
	cmd := exec.CommandContext(ctx, f.Path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return fmt.Errorf("ffmpeg: %w: %s", err, msg)
	}
	return nil
}

// CommandLine renders args as a shell command line for the report.
func (f FFmpeg) CommandLine(args []string) string {
	parts := []string{f.Path}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " '\"()[];,*$&|<>") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// inputArgs are ffmpeg's global options and input: quiet, no stdin, no periodic stats (the
// engine without an Observer computes none either), overwrite.
func inputArgs(input string) []string {
	return []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-nostats", "-y", "-i", input}
}

// videoChain is the filter chain the engine builds for a software-encoded rendition
// (engine/stage.go videoFilters): constant rate at the source's, scale, the pixel format.
func videoChain(v *spec.Video, srcRate spec.Rate) string {
	rate := fmt.Sprintf("%d/%d", srcRate.Num, srcRate.Den)
	if !v.FPS.IsZero() {
		rate = v.FPS.String()
	}
	chain := []string{"fps=" + rate}
	w, h := v.Width, v.Height
	if w == 0 && h != 0 {
		w = -2
	}
	if h == 0 && w > 0 {
		h = -2
	}
	if w != 0 || h != 0 {
		chain = append(chain, fmt.Sprintf("scale=%d:%d", w, h))
	}
	pixFmt := spec.PixFmt8Bit
	if v.PixFmt != "" {
		pixFmt = v.PixFmt
	}
	return strings.Join(append(chain, "format="+pixFmt), ",")
}

// mirrored are the encoders whose engine settings encodeArgs repeats for the ffmpeg program.
var mirrored = []string{"libx264", "libx265", "libsvtav1", "libvpx-vp9"}

// encodeArgs are the ffmpeg options equal to what the engine sets on o's encoders
// (engine/encoder.go): bitrates, a fixed GOP of GOP seconds with keyframes forced at the same
// timestamps and made IDR, no scene cuts, each software encoder's own parameters for that,
// threads left to the encoder (ffmpeg's and the engine's default alike); AAC at the output's
// rate, channels and bitrate.
func encodeArgs(o spec.Output, srcRate spec.Rate) ([]string, error) {
	v, a := o.Video, o.Audio
	if v == nil {
		return nil, errors.New("output without video settings")
	}
	if !slices.Contains(mirrored, v.Codec) || (hasAudio(o) && a.Codec != "aac") {
		return nil, fmt.Errorf("the benchmark mirrors %s (+aac) outputs only, not %s", strings.Join(mirrored, ", "), v.Codec)
	}
	fps := srcRate.Float()
	if !v.FPS.IsZero() {
		fps = v.FPS.Float()
	}
	gop := max(1, int(math.Round(v.GOP*fps)))
	args := []string{"-c:v", v.Codec}
	if v.Preset != "" {
		if v.Codec == "libvpx-vp9" {
			args = append(args, "-cpu-used", v.Preset)
		} else {
			args = append(args, "-preset", v.Preset)
		}
	}
	if v.Profile != "" {
		args = append(args, "-profile:v", v.Profile)
	}
	if v.Bitrate > 0 {
		args = append(args, "-b:v", strconv.FormatInt(int64(v.Bitrate), 10))
	}
	if v.MaxRate > 0 && (v.Codec != "libsvtav1" || v.CRF > 0) {
		args = append(args, "-maxrate", strconv.FormatInt(int64(v.MaxRate), 10))
	}
	if v.BufSize > 0 {
		args = append(args, "-bufsize", strconv.FormatInt(int64(v.BufSize), 10))
	}
	if v.CRF > 0 {
		args = append(args, "-crf", strconv.Itoa(v.CRF))
		if v.Codec == "libvpx-vp9" && v.Bitrate == 0 {
			args = append(args, "-b:v", "0")
		}
	}
	args = append(args, "-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop))
	switch v.Codec {
	case "libx264":
		args = append(args, "-sc_threshold", "0", "-forced-idr", "1")
	case "libx265":
		args = append(args, "-forced-idr", "1", "-x265-params", "scenecut=0:open-gop=0:log-level=error")
	case "libsvtav1":
		args = append(args, "-svtav1-params", "scd=0:irefresh-type=2")
	case "libvpx-vp9":
		args = append(args, "-deadline", "good", "-row-mt", "1")
	}
	args = append(args, "-force_key_frames", "expr:gte(t,n_forced*"+strconv.FormatFloat(v.GOP, 'f', -1, 64)+")")
	for k, val := range v.Options {
		args = append(args, "-"+k, val)
	}
	if !hasAudio(o) {
		return append(args, "-an"), nil
	}
	args = append(args,
		"-c:a", "aac", "-b:a", strconv.FormatInt(int64(a.Bitrate), 10),
		"-ar", strconv.Itoa(a.SampleRate), "-ac", strconv.Itoa(a.Channels))
	return args, nil
}

// SingleOutputArgs is the ffmpeg command line that writes o alone from input, as the engine
// would: the engine's video filter chain, its encoder settings, the same container.
func SingleOutputArgs(input string, o spec.Output, srcRate spec.Rate, target string) ([]string, error) {
	enc, err := encodeArgs(o, srcRate)
	if err != nil {
		return nil, err
	}
	args := inputArgs(input)
	args = append(args, "-map", "0:v:0")
	if hasAudio(o) {
		args = append(args, "-map", "0:a:0")
	}
	args = append(args, "-filter:v", videoChain(o.Video, srcRate))
	args = append(args, enc...)
	return append(args, "-f", muxerName(o.Container), target), nil
}

// SplitArgs is the single ffmpeg command line that writes every output of outs from one
// decode: the video split in -filter_complex, one chain and encoder per output.
func SplitArgs(input string, outs []spec.Output, srcRate spec.Rate, targets []string) ([]string, error) {
	var graph strings.Builder
	fmt.Fprintf(&graph, "[0:v:0]split=%d", len(outs))
	for i := range outs {
		fmt.Fprintf(&graph, "[s%d]", i)
	}
	for i, o := range outs {
		fmt.Fprintf(&graph, ";[s%d]%s[v%d]", i, videoChain(o.Video, srcRate), i)
	}
	args := append(inputArgs(input), "-filter_complex", graph.String())
	for i, o := range outs {
		enc, err := encodeArgs(o, srcRate)
		if err != nil {
			return nil, err
		}
		args = append(args, "-map", fmt.Sprintf("[v%d]", i))
		if hasAudio(o) {
			args = append(args, "-map", "0:a:0")
		}
		args = append(args, enc...)
		args = append(args, "-f", muxerName(o.Container), targets[i])
	}
	return args, nil
}

// hasAudio reports whether o encodes audio.
func hasAudio(o spec.Output) bool { return o.Audio != nil && o.Audio.Codec != "none" }

// muxerName is libav's name for an engine container.
func muxerName(container string) string {
	if container == "mkv" {
		return "matroska"
	}
	return container
}
