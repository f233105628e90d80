package engine

import (
	"fmt"
	"math/bits"
	"strings"
)

// RFC 6381 codec strings for HLS CODECS and DASH @codecs, read from what the encoder really
// wrote (its parameter sets), not from what it was asked for: a player that sees a profile
// or level it cannot decode skips the rendition instead of failing on it.

// hevcCodecString is "hvc1.<profile>.<compatibility>.<tier><level>.<constraints>" (ISO/IEC
// 14496-15, E.3) from HEVC parameter sets: an hvcC record or Annex B NAL units holding an
// SPS. "" when there is no SPS.
func hevcCodecString(b []byte) string {
	var ptl []byte // the 12 bytes of general_profile_tier_level
	if len(b) >= 23 && b[0] == 1 {
		ptl = b[1:13] // hvcC: configurationVersion, then the same fields
	} else if sps := annexBNAL(b, func(h byte) bool { return (h>>1)&0x3f == 33 }); sps != nil {
		rbsp := unescapeRBSP(sps)
		if len(rbsp) >= 15 {
			ptl = rbsp[3:15] // after the NAL header (2 bytes) and the VPS id / sub-layer byte
		}
	}
	if ptl == nil {
		return ""
	}
	space := []string{"", "A", "B", "C"}[ptl[0]>>6]
	tier := "L"
	if ptl[0]&0x20 != 0 {
		tier = "H"
	}
	profile := ptl[0] & 0x1f
	compat := bits.Reverse32(uint32(ptl[1])<<24 | uint32(ptl[2])<<16 | uint32(ptl[3])<<8 | uint32(ptl[4]))
	s := fmt.Sprintf("hvc1.%s%d.%X.%s%d", space, profile, compat, tier, ptl[11])
	cons := ptl[5:11]
	n := len(cons)
	for n > 0 && cons[n-1] == 0 {
		n-- // trailing zero bytes are left out
	}
	for _, c := range cons[:n] {
		s += fmt.Sprintf(".%X", c)
	}
	return s
}

// av1CodecString is "av01.<profile>.<level><tier>.<bit depth>" (AV1 ISOBMFF binding, a.k.a.
// the short form) from an AV1 sequence header OBU (libsvtav1's extradata) or an av1C record,
// with the bit depth of the encoded pictures. "" when there is no sequence header.
func av1CodecString(b []byte, bitDepth int) string {
	var profile, level int
	tier := "M"
	if len(b) >= 4 && b[0] == 0x81 { // av1C: marker and version 1
		profile, level = int(b[1]>>5), int(b[1]&0x1f)
		if b[2]&0x80 != 0 {
			tier = "H"
		}
		switch {
		case b[2]&0x40 != 0 && b[2]&0x20 != 0:
			bitDepth = 12
		case b[2]&0x40 != 0:
			bitDepth = 10
		default:
			bitDepth = 8
		}
	} else {
		seq := av1SequenceHeader(b)
		if seq == nil {
			return ""
		}
		var ok bool
		var high bool
		if profile, level, high, ok = parseAV1SequenceHeader(seq); !ok {
			return ""
		}
		if high {
			tier = "H"
		}
	}
	return fmt.Sprintf("av01.%d.%02d%s.%02d", profile, level, tier, bitDepth)
}

// av1SequenceHeader finds the payload of the first sequence header OBU in b (OBUs with
// size fields, as libsvtav1 and the low-overhead format write them).
func av1SequenceHeader(b []byte) []byte {
	for len(b) > 0 {
		h := b[0]
		typ, ext, hasSize := (h>>3)&0xf, h&0x4 != 0, h&0x2 != 0
		p := 1
		if ext {
			p++
		}
		if !hasSize || p > len(b) {
			return nil
		}
		size, n := leb128(b[p:])
		if n == 0 || p+n+int(size) > len(b) {
			return nil
		}
		payload := b[p+n : p+n+int(size)]
		if typ == 1 {
			return payload
		}
		b = b[p+n+int(size):]
	}
	return nil
}

// leb128 decodes an unsigned LEB128 number and returns it with the bytes it took (0: bad).
func leb128(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < 8 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// parseAV1SequenceHeader reads seq_profile and the first operating point's level and tier
// from a sequence header OBU's payload (AV1 spec 5.5.1).
func parseAV1SequenceHeader(b []byte) (profile, level int, highTier, ok bool) {
	r := bitReader{b: b}
	profile = int(r.read(3))
	r.read(1)           // still_picture
	if r.read(1) == 1 { // reduced_still_picture_header
		level = int(r.read(5))
		return profile, level, false, !r.short
	}
	decoderModel, bufferDelayLen := false, 0
	if r.read(1) == 1 { // timing_info_present_flag
		r.read(32)          // num_units_in_display_tick
		r.read(32)          // time_scale
		if r.read(1) == 1 { // equal_picture_interval
			r.uvlc() // num_ticks_per_picture_minus_1
		}
		if decoderModel = r.read(1) == 1; decoderModel {
			bufferDelayLen = int(r.read(5)) + 1
			r.read(32) // num_units_in_decoding_tick
			r.read(5)  // buffer_removal_time_length_minus_1
			r.read(5)  // frame_presentation_time_length_minus_1
		}
	}
	displayDelay := r.read(1) == 1
	ops := int(r.read(5)) + 1
	for i := range ops {
		r.read(12) // operating_point_idc
		l := int(r.read(5))
		t := false
		if l > 7 {
			t = r.read(1) == 1
		}
		if i == 0 {
			level, highTier = l, t
		}
		if decoderModel && r.read(1) == 1 {
			r.read(bufferDelayLen) // decoder_buffer_delay
			r.read(bufferDelayLen) // encoder_buffer_delay
			r.read(1)              // low_delay_mode_flag
		}
		if displayDelay && r.read(1) == 1 {
			r.read(4)
		}
	}
	return profile, level, highTier, !r.short
}

// bitReader reads big-endian bit fields; reading past the end sets short.
type bitReader struct {
	b     []byte
	pos   int
	short bool
}

func (r *bitReader) read(n int) uint64 {
	var v uint64
	for range n {
		if r.pos >= 8*len(r.b) {
			r.short = true
			return 0
		}
		v = v<<1 | uint64(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// uvlc reads an AV1 variable-length unsigned number (4.10.3).
func (r *bitReader) uvlc() uint64 {
	zeros := 0
	for r.read(1) == 0 && !r.short && zeros < 32 {
		zeros++
	}
	if zeros >= 32 {
		return 1<<32 - 1
	}
	return r.read(zeros) + (1 << zeros) - 1
}

// vp9CodecString is "vp09.<profile>.<level>.<bit depth>" (VP codec ISOBMFF binding). libvpx
// writes no level: it is the lowest VP9 level whose picture size and sample rate hold the
// stream, as FFmpeg's mp4 muxer computes it for the vpcC box.
func vp9CodecString(profile, width, height int, fps float64, bitDepth int) string {
	return fmt.Sprintf("vp09.%02d.%02d.%02d", profile, vp9Level(width, height, fps), bitDepth)
}

// vp9Levels are VP9's levels with their largest luma picture and luma sample rate.
var vp9Levels = []struct {
	level      int
	size, rate float64
}{
	{10, 36864, 829440}, {11, 73728, 2764800}, {20, 122880, 4608000}, {21, 245760, 9216000},
	{30, 552960, 20736000}, {31, 983040, 36864000}, {40, 2228224, 83558400},
	{41, 2228224, 160432128}, {50, 8912896, 311951360}, {51, 8912896, 588251136},
	{52, 8912896, 1176502272}, {60, 35651584, 1176502272}, {61, 35651584, 2353004544},
	{62, 35651584, 4706009088},
}

func vp9Level(width, height int, fps float64) int {
	size := float64(width * height)
	for _, l := range vp9Levels {
		if size <= l.size && size*fps <= l.rate {
			return l.level
		}
	}
	return 62
}

// annexBNAL returns the first NAL unit (header included) in Annex B data whose first header
// byte is, by want, the one sought.
func annexBNAL(b []byte, want func(byte) bool) []byte {
	start := -1
	for i := 0; i+3 <= len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		if start >= 0 {
			return trimZeros(b[start:i])
		}
		if i+3 < len(b) && want(b[i+3]) {
			start = i + 3
		}
		i += 2
	}
	if start >= 0 {
		return b[start:]
	}
	return nil
}

// trimZeros drops the zero byte a four-byte start code leaves at the end of the NAL before.
func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// unescapeRBSP removes emulation prevention bytes (00 00 03 → 00 00).
func unescapeRBSP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// bitDepthOf is the bit depth of a pixel format's name (yuv420p10le: 10).
func bitDepthOf(pixFmt string) int {
	switch {
	case strings.Contains(pixFmt, "12"):
		return 12
	case strings.Contains(pixFmt, "10"):
		return 10
	}
	return 8
}
