package engine

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/asticode/go-astiav"
)

// variant is one rendition listed in an HLS master playlist.
type variant struct {
	uri           string // relative to the master playlist
	peak, average int64  // bits per second, measured from the segments
	width, height int
	fps           float64
	codecs        []string
}

// writeMasterPlaylists writes master.m3u8 into every folder that holds HLS outputs, listing
// each rendition with BANDWIDTH (peak segment bitrate, measured), AVERAGE-BANDWIDTH,
// RESOLUTION, FRAME-RATE and CODECS. It returns the playlists written.
func writeMasterPlaylists(outs []Output, muxers []*muxer, stages [][]*stage) ([]string, error) {
	groups := map[string][]variant{}
	var dirs []string
	for i, o := range outs {
		if o.Container != "hls" {
			continue
		}
		m := muxers[i]
		v := variant{uri: o.Name + "/index.m3u8"}
		var err error
		if v.peak, v.average, err = measurePlaylist(m.playlist); err != nil {
			return nil, &Error{Kind: KindOutput, Op: "read media playlist", Subject: o.Name, Err: err}
		}
		for _, s := range stages[i] {
			codec := codecString(s, m.firstPkt[s.stream])
			if codec != "" {
				v.codecs = append(v.codecs, codec)
			}
			if s.media == "video" {
				v.width, v.height = s.width, s.height
				if s.graph != nil {
					v.fps = s.graph.sink.FrameRate().Float64()
				}
			}
		}
		dir := filepath.Dir(m.final)
		if _, ok := groups[dir]; !ok {
			dirs = append(dirs, dir)
		}
		groups[dir] = append(groups[dir], v)
	}
	var written []string
	for _, dir := range dirs {
		vs := groups[dir]
		sort.SliceStable(vs, func(a, b int) bool { return vs[a].peak > vs[b].peak })
		var b strings.Builder
		b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n")
		for _, v := range vs {
			fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d", v.peak, v.average)
			if v.width > 0 {
				fmt.Fprintf(&b, ",RESOLUTION=%dx%d", v.width, v.height)
			}
			if v.fps > 0 {
				fmt.Fprintf(&b, ",FRAME-RATE=%.3f", v.fps)
			}
			if len(v.codecs) > 0 {
				fmt.Fprintf(&b, ",CODECS=\"%s\"", strings.Join(v.codecs, ","))
			}
			fmt.Fprintf(&b, "\n%s\n", v.uri)
		}
		path := filepath.Join(dir, "master.m3u8")
		if err := writeFileAtomic(path, []byte(b.String())); err != nil {
			return nil, &Error{Kind: KindOutput, Op: "write master playlist", Subject: path, Err: err}
		}
		written = append(written, path)
	}
	return written, nil
}

// measurePlaylist reads a media playlist and its segments' sizes, returning the peak and
// average bitrate over segments.
func measurePlaylist(path string) (peak, average int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var dur, durTotal float64
	var total int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if d, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
			d, _, _ = strings.Cut(d, ",")
			dur, _ = strconv.ParseFloat(d, 64)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		st, err := os.Stat(filepath.Join(filepath.Dir(path), line))
		if err != nil {
			return 0, 0, fmt.Errorf("segment %s: %w", line, err)
		}
		total += st.Size()
		if dur > 0 {
			if bps := int64(float64(st.Size()*8) / dur); bps > peak {
				peak = bps
			}
		}
		durTotal += dur
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if durTotal > 0 {
		average = int64(float64(total*8) / durTotal)
	}
	return peak, average, nil
}

// codecString is the RFC 6381 codec of a stage's encoder, for CODECS.
func codecString(s *stage, first []byte) string {
	if s.enc == nil {
		return ""
	}
	switch s.enc.CodecID() {
	case astiav.CodecIDH264:
		// The SPS is in the extradata with a global header (mp4), else in the first packet (ts).
		sps := findH264SPS(s.enc.ExtraData())
		if sps == nil {
			sps = findH264SPS(first)
		}
		if sps == nil {
			return "avc1.640028" // High@4.0: what players assume for an unknown H.264
		}
		return fmt.Sprintf("avc1.%02x%02x%02x", sps[0], sps[1], sps[2])
	case astiav.CodecIDHevc:
		return fmt.Sprintf("hvc1.%d.6.L%d.B0", max(1, int(s.enc.Profile())), max(93, int(s.enc.Level())))
	case astiav.CodecIDAv1:
		return "av01.0.08M.08"
	case astiav.CodecIDAac:
		return "mp4a.40.2"
	case astiav.CodecIDOpus:
		return "opus"
	}
	return ""
}

// findH264SPS returns profile_idc, constraint flags and level_idc of the first SPS in b,
// which is Annex B (start codes) or avcC (extradata starting with version 1).
func findH264SPS(b []byte) []byte {
	if len(b) >= 4 && b[0] == 1 {
		return b[1:4] // avcC: AVCProfileIndication, profile_compatibility, AVCLevelIndication
	}
	for i := 0; i+4 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if b[i+3]&0x1f == 7 && i+7 <= len(b) {
				return b[i+4 : i+7]
			}
			i += 2
		}
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".partial-" + randSuffix()
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
