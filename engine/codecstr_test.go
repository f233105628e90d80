package engine

import "testing"

// Known answers: the strings Apple's HLS authoring spec and the AV1 and VP9 bindings give for
// these configurations.
func TestCodecStrings(t *testing.T) {
	t.Parallel()
	// hvcC of HEVC Main 10, Main tier, level 5.1 (153), progressive and frame-only constraints.
	main10 := []byte{1, 0x02, 0x20, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 153, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0}
	if got := hevcCodecString(main10); got != "hvc1.2.4.L153.B0" {
		t.Errorf("hvcC Main 10 L5.1: %q, want hvc1.2.4.L153.B0", got)
	}
	// The same profile_tier_level in an Annex B SPS (High tier, Main, level 4), with an
	// emulation prevention byte in the constraint flags to strip.
	sps := []byte{0, 0, 0, 1, 0x42, 0x01, 0x01, 0x21, 0x60, 0, 0, 0x03, 0, 0x90, 0, 0, 0, 0, 0, 120, 0xa0}
	if got := hevcCodecString(sps); got != "hvc1.1.6.H120.90" {
		t.Errorf("Annex B SPS: %q, want hvc1.1.6.H120.90", got)
	}
	if got := hevcCodecString([]byte{0, 0, 1, 0x40, 0x01, 0x0c}); got != "" {
		t.Errorf("a VPS alone: %q, want nothing", got)
	}
	// av1C of Main profile, level 4.0 (seq_level_idx 8), Main tier, 8 bits.
	if got := av1CodecString([]byte{0x81, 0x08, 0x0c, 0}, 8); got != "av01.0.08M.08" {
		t.Errorf("av1C: %q, want av01.0.08M.08", got)
	}
	// A sequence header OBU: profile 0, no timing info, one operating point at level 5.1
	// (seq_level_idx 13) in the High tier; the bit depth comes from the pictures.
	// Bits: 000 0 0 | 0 | 0 | 00000 | 000000000000 | 01101 | 1 | then the frame size fields.
	obu := []byte{0x0a, 0x05, 0x00, 0x00, 0x00, 0x6e, 0x00}
	if got := av1CodecString(obu, 10); got != "av01.0.13H.10" {
		t.Errorf("sequence header OBU: %q, want av01.0.13H.10", got)
	}
	if got := av1CodecString([]byte{0x12, 0x00}, 8); got != "" {
		t.Errorf("a temporal delimiter alone: %q, want nothing", got)
	}
	if got := vp9CodecString(2, 1920, 1080, 30, 10); got != "vp09.02.40.10" {
		t.Errorf("VP9 1080p30 10-bit: %q, want vp09.02.40.10", got)
	}
	if got := vp9CodecString(0, 640, 360, 30, 8); got != "vp09.00.21.08" {
		t.Errorf("VP9 360p30: %q, want vp09.00.21.08", got)
	}
}

// FuzzCodecStrings: the parsers read untrusted bytes (a copied input's extradata) without
// panicking.
func FuzzCodecStrings(f *testing.F) {
	f.Add([]byte{0x0a, 0x05, 0x00, 0x00, 0x00, 0x6e, 0x00})
	f.Add([]byte{1, 0x02, 0x20, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 153, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0})
	f.Add([]byte{0, 0, 1, 0x42, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		hevcCodecString(b)
		av1CodecString(b, 8)
	})
}
