package spec

import (
	"fmt"
	"sort"
	"strings"
)

// Rung is one rendition of an ABR ladder: a height (width follows the source's aspect ratio)
// and its video bitrates.
type Rung struct {
	Name    string  `json:"name"`
	Height  int     `json:"height"`
	Bitrate Bitrate `json:"bitrate"`
	MaxRate Bitrate `json:"max_rate"`
	BufSize Bitrate `json:"buf_size"`
	Audio   Bitrate `json:"audio_bitrate"`
}

// rungs are the named ladder rungs, with bitrates for H.264 at 30 fps in the range the
// common streaming ladders use.
var rungs = map[string]Rung{
	"2160p": rung("2160p", 2160, 14_000_000, 192_000),
	"1440p": rung("1440p", 1440, 9_000_000, 192_000),
	"1080p": rung("1080p", 1080, 5_000_000, 128_000),
	"720p":  rung("720p", 720, 3_000_000, 128_000),
	"480p":  rung("480p", 480, 1_200_000, 96_000),
	"360p":  rung("360p", 360, 800_000, 96_000),
	"240p":  rung("240p", 240, 400_000, 64_000),
}

// rung is capped VBR (maxrate 1.5×, a 2 s buffer), which keeps HLS segment sizes predictable.
func rung(name string, height int, video, audio Bitrate) Rung {
	return Rung{Name: name, Height: height, Bitrate: video, MaxRate: video * 3 / 2, BufSize: video * 2, Audio: audio}
}

// RungNames lists the known rung names, tallest first.
func RungNames() []string {
	names := make([]string, 0, len(rungs))
	for n := range rungs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return rungs[names[i]].Height > rungs[names[j]].Height })
	return names
}

// LadderOutputs expands rung names ("1080p,720p,480p") into outputs patterned on base: each
// output is named after its rung and takes the rung's height and bitrates; base's codec,
// preset, GOP and audio codec apply to all. For hls all outputs share base.Target (one master
// playlist); otherwise each writes base.Target/<rung>.<ext>.
func LadderOutputs(names string, base Output) ([]Output, error) {
	var outs []Output
	seen := map[string]bool{}
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		r, ok := rungs[name]
		if !ok {
			return nil, fmt.Errorf("unknown ladder rung %q: known are %s", name, strings.Join(RungNames(), ", "))
		}
		if seen[name] {
			return nil, fmt.Errorf("ladder rung %q listed twice", name)
		}
		seen[name] = true
		o := base
		o.Name = r.Name
		v := Video{}
		if base.Video != nil {
			v = *base.Video
		}
		v.Width, v.Height = 0, r.Height
		v.Bitrate, v.MaxRate, v.BufSize = r.Bitrate, r.MaxRate, r.BufSize
		o.Video = &v
		a := Audio{}
		if base.Audio != nil {
			a = *base.Audio
		}
		if a.Bitrate == 0 {
			a.Bitrate = r.Audio
		}
		o.Audio = &a
		if !Segmented(base.Container) {
			ext := map[string]string{"mp4": ".mp4", "mkv": ".mkv", "mpegts": ".ts", "flv": ".flv", "null": ""}[base.Container]
			o.Target = strings.TrimRight(base.Target, "/") + "/" + r.Name + ext
		}
		outs = append(outs, o)
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("empty ladder")
	}
	return SplitAudio(outs), nil
}

// SplitAudio makes a dash or cmaf ladder CMAF's way: one track per rendition. The video
// renditions lose their audio and one audio rendition, named "audio", carries it (the first
// rendition's audio settings), so that players fetch the sound once, whatever rung they
// play. Other ladders come back as they are.
func SplitAudio(outs []Output) []Output {
	if len(outs) == 0 || !WritesDASH(outs[0].Container) || outs[0].Audio == nil || outs[0].Audio.Codec == "none" {
		return outs
	}
	names := map[string]bool{}
	for _, o := range outs {
		names[o.Name] = true
	}
	name := "audio"
	for i := 2; names[name]; i++ {
		name = fmt.Sprintf("audio%d", i)
	}
	a := *outs[0].Audio
	audio := outs[0]
	audio.Name, audio.Video, audio.Audio = name, &Video{Codec: "none"}, &a
	split := make([]Output, 0, len(outs)+1)
	for _, o := range outs {
		o.Audio = &Audio{Codec: "none"}
		split = append(split, o)
	}
	return append(split, audio)
}

// RungsNamed returns the named rungs ("1080p", "720p", ...) in the order given.
func RungsNamed(names ...string) ([]Rung, error) {
	out := make([]Rung, 0, len(names))
	for _, n := range names {
		r, ok := rungs[n]
		if !ok {
			return nil, fmt.Errorf("unknown ladder rung %q: known are %s", n, strings.Join(RungNames(), ", "))
		}
		out = append(out, r)
	}
	return out, nil
}
