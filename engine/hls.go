package engine

import (
	"bufio"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/asticode/go-astiav"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// variant is one rendition listed in an HLS master playlist.
type variant struct {
	name          string // the output's
	uri           string // relative to the master playlist
	peak, average int64  // bits per second, measured from the segments
	width, height int
	fps           float64
	codecs        []string
	audioOnly     bool // an audio rendition: listed in an EXT-X-MEDIA group beside video ones
}

// writeMasterPlaylists writes master.m3u8 into every folder that holds hls or cmaf
// renditions, listing each with BANDWIDTH (peak segment bitrate, measured),
// AVERAGE-BANDWIDTH, RESOLUTION, FRAME-RATE and CODECS. It returns the playlists written.
func writeMasterPlaylists(rs []rendition) ([]string, error) {
	groups := map[string][]variant{}
	var dirs []string
	for _, r := range rs {
		if !spec.WritesHLS(r.out.Container) {
			continue
		}
		if _, ok := groups[r.dir]; !ok {
			dirs = append(dirs, r.dir)
		}
		groups[r.dir] = append(groups[r.dir], r.variant())
	}
	var written []string
	for _, dir := range dirs {
		path := filepath.Join(dir, "master.m3u8")
		if err := writeFileAtomic(path, masterPlaylist(groups[dir])); err != nil {
			return nil, &Error{Kind: KindOutput, Op: "write master playlist", Subject: path, Err: err}
		}
		written = append(written, path)
	}
	return written, nil
}

// audioGroup is the GROUP-ID of the audio renditions in a master playlist.
const audioGroup = "audio"

// masterPlaylist is the text of a master playlist listing vs, highest bandwidth first.
// AVERAGE-BANDWIDTH is left out where it is unknown (zero). Audio-only renditions beside
// video ones form an EXT-X-MEDIA audio group that every video variant names, its bandwidth
// and codecs counted in theirs (RFC 8216 4.3.4.2: BANDWIDTH covers every rendition played).
func masterPlaylist(vs []variant) []byte {
	sort.SliceStable(vs, func(a, b int) bool { return vs[a].peak > vs[b].peak })
	var video, audio []variant
	for _, v := range vs {
		if v.audioOnly {
			audio = append(audio, v)
		} else {
			video = append(video, v)
		}
	}
	if len(video) == 0 {
		video, audio = audio, nil // audio only: the renditions are the variants
	}
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	var audioPeak, audioAverage int64
	var audioCodecs []string
	for i, a := range audio {
		def := "NO"
		if i == 0 {
			def = "YES"
		}
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"%s\",NAME=\"%s\",DEFAULT=%s,AUTOSELECT=YES,URI=\"%s\"\n",
			audioGroup, quotedStringSafe(a.name), def, uriReference(a.uri))
		audioPeak, audioAverage = max(audioPeak, a.peak), max(audioAverage, a.average)
		for _, c := range a.codecs {
			if !slices.Contains(audioCodecs, c) {
				audioCodecs = append(audioCodecs, c)
			}
		}
	}
	for _, v := range video {
		peak, average, codecs := v.peak, v.average, v.codecs
		if len(audio) > 0 {
			peak += audioPeak
			if average > 0 {
				average += audioAverage
			}
			if len(codecs) > 0 {
				codecs = append(slices.Clone(codecs), audioCodecs...)
			}
		}
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d", peak)
		if average > 0 {
			fmt.Fprintf(&b, ",AVERAGE-BANDWIDTH=%d", average)
		}
		if v.width > 0 {
			fmt.Fprintf(&b, ",RESOLUTION=%dx%d", v.width, v.height)
		}
		if v.fps > 0 {
			fmt.Fprintf(&b, ",FRAME-RATE=%.3f", v.fps)
		}
		if len(codecs) > 0 {
			fmt.Fprintf(&b, ",CODECS=\"%s\"", strings.Join(codecs, ","))
		}
		if len(audio) > 0 {
			fmt.Fprintf(&b, ",AUDIO=\"%s\"", audioGroup)
		}
		fmt.Fprintf(&b, "\n%s\n", uriReference(v.uri))
	}
	return []byte(b.String())
}

// quotedStringSafe makes s fit an HLS quoted-string, which cannot hold '"', CR or LF.
func quotedStringSafe(s string) string {
	return strings.NewReplacer(`"`, "'", "\r", " ", "\n", " ").Replace(s)
}

// uriReference writes a relative path (an output's name and its playlist) as a URI reference
// that resolves to that path: every segment percent-encoded, ':' included, so that a name
// like "#x", "a?b" or "a:b" stays a path instead of becoming a tag, a query or a scheme.
func uriReference(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
	}
	return strings.Join(segs, "/")
}

// writeLiveMasters writes master.m3u8 for the live (sliding-window) HLS outputs before the
// first segment, from the configured rungs: players need it while the run lasts, and a live
// run may last for hours. finish rewrites it from measured segments when the run ends.
// Folders holding a VOD output are left to finish: their rungs appear only at the end.
func (r *runner) writeLiveMasters() error {
	groups := map[string][]variant{}
	var dirs []string
	vod := map[string]bool{}
	for i := range r.spec.Outputs {
		o := &r.spec.Outputs[i]
		if o.Container != "hls" {
			continue
		}
		dir := filepath.Dir(r.muxers[i].final)
		if !isLive(o) {
			vod[dir] = true
			continue
		}
		if _, ok := groups[dir]; !ok {
			dirs = append(dirs, dir)
		}
		groups[dir] = append(groups[dir], r.configuredVariant(o))
	}
	for _, dir := range dirs {
		if vod[dir] {
			continue
		}
		path := filepath.Join(dir, "master.m3u8")
		if err := writeFileAtomic(path, masterPlaylist(groups[dir])); err != nil {
			r.removeLiveMasters()
			return &Error{Kind: KindOutput, Op: "write master playlist", Subject: path, Err: err}
		}
		r.liveMasters = append(r.liveMasters, path)
	}
	return nil
}

// removeLiveMasters removes the master playlists writeLiveMasters wrote, for a failed run.
func (r *runner) removeLiveMasters() {
	for _, p := range r.liveMasters {
		os.Remove(p)
	}
	r.liveMasters = nil
}

// configuredVariant describes output o as configured: its size, rate, codecs and bitrates
// (peak: max rate or bitrate; average: bitrate; plus audio). Where the video bitrate is not
// configured (CRF, copy) the peak is estimated from the picture, as BANDWIDTH is required.
func (r *runner) configuredVariant(o *spec.Output) variant {
	v := variant{name: o.Name, uri: o.Name + "/index.m3u8"}
	known := true // every stream's codec string is known
	hasVideo := r.in.video != nil && o.Video != nil && o.Video.Codec != "none"
	v.audioOnly = !hasVideo && r.in.audio != nil && o.Audio != nil && o.Audio.Codec != "none"
	if st := r.in.video; hasVideo {
		par := st.CodecParameters()
		srcW, srcH := par.Width(), par.Height()
		v.width, v.height = srcW, srcH
		v.fps = frameRate(r.in.fc, st).Float64()
		var codec string
		if o.Video.Codec == "copy" {
			codec = sourceCodecString(par)
		} else {
			v.width, v.height = scaledSize(o.Video.Width, o.Video.Height, srcW, srcH)
			if !o.Video.FPS.IsZero() {
				v.fps = o.Video.FPS.Float()
			}
			codec = encoderCodecString(o.Video, v.width, v.height, v.fps)
			v.average = int64(o.Video.Bitrate)
			v.peak = max(int64(o.Video.MaxRate), int64(o.Video.Bitrate))
		}
		if codec == "" {
			known = false
		}
		v.codecs = append(v.codecs, codec)
		if v.peak == 0 {
			// About 0.1 bit a pixel: a generous H.264 rate, so players do not pick a rung
			// their bandwidth cannot carry.
			v.peak = int64(float64(v.width*v.height) * max(v.fps, 1) * 0.1)
		}
	}
	if st := r.in.audio; st != nil && o.Audio != nil && o.Audio.Codec != "none" {
		rate := int64(o.Audio.Bitrate)
		var codec string
		if o.Audio.Codec == "copy" {
			codec = sourceCodecString(st.CodecParameters())
			rate = st.CodecParameters().BitRate()
		} else {
			codec = encoderCodecString(&spec.Video{Codec: o.Audio.Codec}, 0, 0, 0)
		}
		if rate <= 0 {
			rate = 128_000
		}
		if codec == "" {
			known = false
		}
		v.codecs = append(v.codecs, codec)
		v.peak += rate
		if v.average > 0 {
			v.average += rate
		}
	}
	if !known {
		// A partial CODECS makes players drop the rung; none makes them probe it.
		v.codecs = nil
	}
	return v
}

// scaledSize is the size the scale filter gives a w×h source asked for width×height (one
// of them zero keeps the aspect ratio, rounded to even as scale=-2 does).
func scaledSize(width, height, w, h int) (int, int) {
	switch {
	case width > 0 && height > 0:
		return width, height
	case width > 0 && h > 0 && w > 0:
		return width, 2 * int(math.Round(float64(width)*float64(h)/float64(w)/2))
	case height > 0 && h > 0 && w > 0:
		return 2 * int(math.Round(float64(height)*float64(w)/float64(h)/2)), height
	}
	return w, h
}

// encoderCodecString is the RFC 6381 codec the encoder v names (an audio codec name in
// Codec will do) will produce for a width×height picture at fps, as far as the
// configuration says; "" when unknown. The bit depth follows the pixel format (10-bit HEVC
// is Main 10, VP9 profile 2); a finished run rewrites it from what the encoders wrote.
func encoderCodecString(v *spec.Video, width, height int, fps float64) string {
	codec, profile := v.Codec, v.Profile
	depth := bitDepthOf(v.PixFmt)
	if profile == "main10" || profile == "2" {
		depth = 10
	}
	enc := astiav.FindEncoderByName(encoderName(codec))
	if enc == nil {
		return ""
	}
	switch enc.ID() {
	case astiav.CodecIDH264:
		level := 0x28 // 4.0: up to 1080p30
		if height > 1088 {
			level = 0x33 // 5.1
		}
		switch profile {
		case "baseline":
			return fmt.Sprintf("avc1.42e0%02x", level)
		case "main":
			return fmt.Sprintf("avc1.4d40%02x", level)
		}
		return fmt.Sprintf("avc1.6400%02x", level)
	case astiav.CodecIDHevc:
		if depth > 8 {
			return "hvc1.2.4.L150.B0"
		}
		return "hvc1.1.6.L150.B0"
	case astiav.CodecIDAv1:
		level := 8 // seq_level_idx 8, level 4.0: up to 1080p30; 4.1, 5.0, 5.1 above
		switch {
		case height > 1088 && fps > 30:
			level = 13
		case height > 1088:
			level = 12
		case fps > 30:
			level = 9
		}
		return fmt.Sprintf("av01.0.%02dM.%02d", level, depth)
	case astiav.CodecIDVp9:
		profile := 0
		if depth > 8 {
			profile = 2
		}
		return vp9CodecString(profile, width, height, fps, depth)
	case astiav.CodecIDAac:
		return "mp4a.40.2"
	case astiav.CodecIDOpus:
		return "opus"
	}
	return ""
}

// sourceCodecString is the RFC 6381 codec of a copied input stream; "" when unknown.
func sourceCodecString(par *astiav.CodecParameters) string {
	switch par.CodecID() {
	case astiav.CodecIDH264:
		if sps := findH264SPS(par.ExtraData()); sps != nil {
			return fmt.Sprintf("avc1.%02x%02x%02x", sps[0], sps[1], sps[2])
		}
		return "avc1.640028"
	case astiav.CodecIDAac:
		return "mp4a.40.2"
	case astiav.CodecIDOpus:
		return "opus"
	}
	return ""
}

// mediaSegment is one segment of a media playlist.
type mediaSegment struct {
	uri     string  // as the playlist writes it, relative to the playlist
	seconds float64 // EXTINF
	bytes   int64
}

// readMediaPlaylist reads a media playlist's segments with their sizes.
func readMediaPlaylist(path string) ([]mediaSegment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var segs []mediaSegment
	dur := 0.0
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
			return nil, fmt.Errorf("segment %s: %w", line, err)
		}
		segs = append(segs, mediaSegment{uri: line, seconds: dur, bytes: st.Size()})
		dur = 0
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return segs, nil
}

// bitrates are the peak and average bitrates over segs.
func bitrates(segs []mediaSegment) (peak, average int64) {
	var total int64
	var seconds float64
	for _, sg := range segs {
		total += sg.bytes
		seconds += sg.seconds
		if sg.seconds > 0 {
			peak = max(peak, int64(float64(sg.bytes*8)/sg.seconds))
		}
	}
	if seconds > 0 {
		average = int64(float64(total*8) / seconds)
	}
	return peak, average
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
		// The parameter sets: extradata with a global header (mp4, fMP4), else the first packet.
		if c := hevcCodecString(s.enc.ExtraData()); c != "" {
			return c
		}
		return hevcCodecString(first)
	case astiav.CodecIDAv1:
		depth := bitDepthOf(s.enc.PixelFormat().Name())
		if c := av1CodecString(s.enc.ExtraData(), depth); c != "" {
			return c
		}
		return av1CodecString(first, depth)
	case astiav.CodecIDVp9:
		fps := 0.0
		if s.graph != nil {
			fps = s.graph.sink.FrameRate().Float64()
		}
		// libvpx names no profile: 4:2:0 is profile 0 at 8 bits, profile 2 above.
		depth, profile := bitDepthOf(s.enc.PixelFormat().Name()), 0
		if depth > 8 {
			profile = 2
		}
		return vp9CodecString(profile, s.width, s.height, fps, depth)
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
