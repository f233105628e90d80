package engine

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

// Rungs are the named ladder rungs, with bitrates for H.264 at 30 fps in the range the
// common streaming ladders use; capped VBR (maxrate 1.5×, 2 s buffer) keeps segment sizes
// predictable for HLS.
var Rungs = map[string]Rung{
	"2160p": {Name: "2160p", Height: 2160, Bitrate: 14_000_000, Audio: 192_000},
	"1440p": {Name: "1440p", Height: 1440, Bitrate: 9_000_000, Audio: 192_000},
	"1080p": {Name: "1080p", Height: 1080, Bitrate: 5_000_000, Audio: 128_000},
	"720p":  {Name: "720p", Height: 720, Bitrate: 3_000_000, Audio: 128_000},
	"480p":  {Name: "480p", Height: 480, Bitrate: 1_200_000, Audio: 96_000},
	"360p":  {Name: "360p", Height: 360, Bitrate: 800_000, Audio: 96_000},
	"240p":  {Name: "240p", Height: 240, Bitrate: 400_000, Audio: 64_000},
}

func init() {
	for k, r := range Rungs {
		r.MaxRate = r.Bitrate * 3 / 2
		r.BufSize = r.Bitrate * 2
		Rungs[k] = r
	}
}

// RungNames lists the known rung names, tallest first.
func RungNames() []string {
	names := make([]string, 0, len(Rungs))
	for n := range Rungs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return Rungs[names[i]].Height > Rungs[names[j]].Height })
	return names
}

// LadderOutputs expands rung names ("1080p,720p,480p") into outputs patterned on base: each
// output is named after its rung and takes the rung's height and bitrates; base's codec,
// preset, GOP and audio codec apply to all. For hls all outputs share base.Target (one master
// playlist); otherwise each writes base.Target/<rung>.<ext>.
func LadderOutputs(rungs string, base Output) ([]Output, error) {
	var outs []Output
	seen := map[string]bool{}
	for _, name := range strings.Split(rungs, ",") {
		name = strings.TrimSpace(name)
		r, ok := Rungs[name]
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
		if base.Container != "hls" {
			ext := map[string]string{"mp4": ".mp4", "mkv": ".mkv", "mpegts": ".ts", "flv": ".flv", "null": ""}[base.Container]
			o.Target = strings.TrimRight(base.Target, "/") + "/" + r.Name + ext
		}
		outs = append(outs, o)
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("empty ladder")
	}
	return outs, nil
}
