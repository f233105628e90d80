// Package spec holds the engine's job description: what to read, what to write and how to
// encode it. It is plain data, round-trips through JSON and needs no cgo, so the master and
// the API client can validate and build specs without linking libav.
package spec

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Error names the Spec field that is wrong.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("invalid spec: %s: %s", e.Field, e.Message) }

// Errorf returns an *Error for field.
func Errorf(field, format string, args ...any) error {
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Spec describes one transcode: one input decoded once, N outputs. It is plain data and
// round-trips through JSON.
type Spec struct {
	Input    Input    `json:"input"`
	Outputs  []Output `json:"outputs"`
	Hardware Hardware `json:"hardware,omitzero"`
}

// Input is what a run reads: a URL (local path, file://, http(s)://, rtmp://) or a synthetic
// test source.
type Input struct {
	// URL is a local path or a URL libavformat can open.
	URL string `json:"url,omitempty"`
	// Format forces a demuxer (as ffmpeg's -f before -i); empty probes.
	Format string `json:"format,omitempty"`
	// Synthetic, when set, replaces URL with lavfi's testsrc2 (and a sine tone).
	Synthetic *Synthetic `json:"synthetic,omitempty"`
	// TimeoutSeconds bounds each blocking network read (libav's rw_timeout); 0 means 10 s.
	TimeoutSeconds float64 `json:"timeout_seconds,omitempty"`
	// Options are passed to the demuxer and protocol (libav option names).
	Options map[string]string `json:"options,omitempty"`
	// MaxDecodeErrors is how many corrupt packets a run tolerates (concealed by the decoder)
	// before it fails; 0 fails on the first.
	MaxDecodeErrors int `json:"max_decode_errors,omitempty"`
}

// Synthetic is a generated source for tests and benchmarks: testsrc2 video and, unless
// NoAudio, a 1 kHz stereo sine.
type Synthetic struct {
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	FPS      Rate    `json:"fps,omitzero"`
	Duration float64 `json:"duration"` // seconds
	NoAudio  bool    `json:"no_audio,omitempty"`
}

// Output is one rendition written to one target.
type Output struct {
	// Name labels the output in metrics and results, and names its folder in an HLS ladder.
	// Empty: "out<index>".
	Name string `json:"name,omitempty"`
	// Container is mp4, mkv, mpegts, flv, hls, dash, cmaf or null. Empty: guessed from
	// Target. dash writes CMAF segments (fragmented MP4, one folder per rendition) and a
	// DASH manifest (manifest.mpd) in Target; cmaf writes the same segments with both
	// manifests, manifest.mpd and the HLS master.m3u8, so one set of segments serves HLS and
	// DASH players.
	Container string `json:"container,omitempty"`
	// Target is a file path, a folder (hls, dash, cmaf), or an rtmp:// URL (flv). Unused
	// for null.
	Target string `json:"target,omitempty"`
	// Video is the video encoding; nil means libx264 at the source size and rate.
	Video *Video `json:"video,omitempty"`
	// Audio is the audio encoding; nil means AAC 128 kb/s stereo when the input has audio
	// that can be read (see Audio.Required).
	Audio *Audio `json:"audio,omitempty"`
	// HLS tunes the segmented outputs (hls, dash and cmaf).
	HLS *HLS `json:"hls,omitempty"`
	// Options are passed to the muxer (libav option names, e.g. movflags).
	Options map[string]string `json:"options,omitempty"`
	// Reconnect makes an rtmp:// or rtmps:// push a restream: when the destination cannot
	// be reached or drops, the run goes on without it and reconnects with backoff, resuming
	// at a keyframe. Without it, a failing output fails the run.
	Reconnect *Reconnect `json:"reconnect,omitempty"`
}

// Reconnect tunes a restream output's reconnection.
type Reconnect struct {
	// MaxBackoffSeconds caps the wait between attempts, which starts at 1 s and doubles
	// (with jitter). Zero: 30 s.
	MaxBackoffSeconds float64 `json:"max_backoff_seconds,omitempty"`
}

// DefaultMaxBackoffSeconds is Reconnect.MaxBackoffSeconds when it is zero.
const DefaultMaxBackoffSeconds = 30

// Video describes a video encoding.
type Video struct {
	// Codec is libx264, libx265 (HEVC), libsvtav1 (AV1), libvpx-vp9 (VP9), h264_nvenc,
	// hevc_nvenc, av1_nvenc, h264_qsv, hevc_qsv, h264_vaapi, hevc_vaapi, copy or none.
	// Empty: libx264.
	Codec string `json:"codec,omitempty"`
	// Width and Height scale the picture; with one of them 0 the other keeps the aspect ratio.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// FPS changes the frame rate (frames are dropped or duplicated); zero keeps the source's.
	FPS Rate `json:"fps,omitzero"`
	// Bitrate in bits per second (JSON also takes "3M", "800k"). Zero with CRF 0: encoder default.
	Bitrate Bitrate `json:"bitrate,omitempty"`
	MaxRate Bitrate `json:"max_rate,omitempty"`
	BufSize Bitrate `json:"buf_size,omitempty"`
	// CRF is the software encoders' constant rate factor (libx264 and libx265 0..51,
	// libsvtav1 and libvpx-vp9 0..63), or the hardware encoders' constant quality. With a
	// Bitrate too, libsvtav1 and libvpx-vp9 cap the rate (constrained quality).
	CRF int `json:"crf,omitempty"`
	// Preset is the encoder's speed: libx264 and libx265 ultrafast..placebo, libsvtav1 0
	// (slowest) ..13, libvpx-vp9 its cpu-used 0 (slowest) ..8, the hardware encoders their
	// own names (p4, veryfast...). Profile is the encoder's own name (high, main, main10...).
	Preset  string `json:"preset,omitempty"`
	Profile string `json:"profile,omitempty"`
	// PixFmt is the encoded pictures' format: yuv420p (8-bit, the default) or yuv420p10le
	// (10-bit: libx265, libsvtav1 and libvpx-vp9). libx265's main10 profile and libvpx-vp9's
	// profile 2 imply yuv420p10le.
	PixFmt string `json:"pix_fmt,omitempty"`
	// GOP is the keyframe interval in seconds; every output of a run forces IDR frames at the
	// same timestamps so ladder renditions switch cleanly. Zero: 2 s.
	GOP float64 `json:"gop,omitempty"`
	// Options are encoder private options (libav names, e.g. "tune":"zerolatency").
	Options map[string]string `json:"options,omitempty"`
	// Required makes the run fail when the input has a video track that cannot be read.
	// Without it the outputs go without that track, and the result and a warning say so.
	Required bool `json:"required,omitempty"`
}

// Audio describes an audio encoding.
type Audio struct {
	// Codec is aac, opus, copy or none. Empty: aac.
	Codec      string  `json:"codec,omitempty"`
	Bitrate    Bitrate `json:"bitrate,omitempty"`     // zero: 128k
	Channels   int     `json:"channels,omitempty"`    // zero: 2
	SampleRate int     `json:"sample_rate,omitempty"` // zero: 48000
	// Required makes the run fail when the input has an audio track that cannot be read.
	// Without it the outputs go without that track, and the result and a warning say so.
	Required bool `json:"required,omitempty"`
}

// HLS tunes a segmented output (hls, dash or cmaf).
type HLS struct {
	// SegmentSeconds is the target segment length; zero: the GOP length.
	SegmentSeconds float64 `json:"segment_seconds,omitempty"`
	// SegmentType is ts (MPEG-TS segments: H.264 and HEVC; the default for hls) or fmp4
	// (CMAF: fragmented MP4 segments after an init.mp4 named by EXT-X-MAP; H.264, HEVC, AV1
	// and VP9; the only type dash and cmaf take).
	SegmentType string `json:"segment_type,omitempty"`
	// PlaylistSize keeps the last N segments (a live sliding window); zero keeps all (VOD).
	// hls only: dash and cmaf manifests are written for VOD, when the run ends.
	PlaylistSize int `json:"playlist_size,omitempty"`
}

// Hardware selects hardware decoding/filtering/encoding.
type Hardware struct {
	// Mode is none (software only), auto (use Device when it works, else software) or
	// require (fail at once when Device or a hardware encoder cannot be used). Empty: none.
	Mode string `json:"mode,omitempty"`
	// Device is cuda, qsv or vaapi.
	Device string `json:"device,omitempty"`
	// DeviceName picks a device: a GPU index for cuda, a render node for vaapi.
	DeviceName string `json:"device_name,omitempty"`
}

// Hardware modes.
const (
	HardwareNone    = "none"
	HardwareAuto    = "auto"
	HardwareRequire = "require"
)

// Rate is a frame rate as a fraction. JSON accepts 30, 29.97, "30" or "30000/1001".
type Rate struct {
	Num int `json:"-"`
	Den int `json:"-"`
}

// IsZero reports whether r is unset.
func (r Rate) IsZero() bool { return r.Num == 0 || r.Den == 0 }

// Float returns r as frames per second.
func (r Rate) Float() float64 {
	if r.IsZero() {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

func (r Rate) String() string {
	if r.Den == 1 {
		return strconv.Itoa(r.Num)
	}
	return fmt.Sprintf("%d/%d", r.Num, r.Den)
}

// ParseRate reads "30", "29.97", "30000/1001" or "ntsc"-free numeric forms.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if num, den, ok := strings.Cut(s, "/"); ok {
		n, err1 := strconv.Atoi(num)
		d, err2 := strconv.Atoi(den)
		if err1 != nil || err2 != nil || n <= 0 || d <= 0 {
			return Rate{}, fmt.Errorf("frame rate %q: want N or N/D with positive integers", s)
		}
		if n/d > 1000 || (n/d == 1000 && n%d != 0) {
			return Rate{}, fmt.Errorf("frame rate %q: want at most 1000 fps", s)
		}
		return Rate{Num: n, Den: d}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 1000 || math.IsNaN(f) {
		return Rate{}, fmt.Errorf("frame rate %q: want a number between 0 and 1000", s)
	}
	// Below a thousandth of a frame a second the rate rounds to 0/1000, which every reader
	// takes for "unset" (and JSON drops): refuse it rather than silently use a default.
	r := rateFromFloat(f)
	if r.IsZero() {
		return Rate{}, fmt.Errorf("frame rate %q: want at least 0.001", s)
	}
	return r, nil
}

func rateFromFloat(f float64) Rate {
	if f == math.Trunc(f) {
		return Rate{Num: int(f), Den: 1}
	}
	// 29.97 → 30000/1001 and friends; otherwise millesimal precision.
	for _, base := range []int{24, 30, 48, 60, 120} {
		if math.Abs(f-float64(base)*1000/1001) < 0.01 {
			return Rate{Num: base * 1000, Den: 1001}
		}
	}
	return Rate{Num: int(math.Round(f * 1000)), Den: 1000}
}

// MarshalJSON writes "N/D" (or N when D is 1).
func (r Rate) MarshalJSON() ([]byte, error) {
	if r.Den == 1 {
		return []byte(strconv.Itoa(r.Num)), nil
	}
	return json.Marshal(r.String())
}

// UnmarshalJSON reads a number or a "N/D" string.
func (r *Rate) UnmarshalJSON(b []byte) error {
	s := string(b)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseRate(s)
	if err != nil {
		return valueError(err, r)
	}
	*r = v
	return nil
}

// valueError reports a bad value as a *json.UnmarshalTypeError, so encoding/json fills in the
// path of the field it was found in; Value carries the explanation.
func valueError(err error, v any) error {
	return &json.UnmarshalTypeError{Value: err.Error(), Type: reflect.TypeOf(v).Elem()}
}

// Bitrate is bits per second. JSON accepts a number or a string with a k/M/G suffix.
type Bitrate int64

// MaxBitrate is the highest bitrate a spec may carry (1 Tb/s): what ParseBitrate accepts, so
// a spec built in Go (a preset's ladder scaled by a request) still reads back from JSON.
const MaxBitrate Bitrate = 1e12

// ParseBitrate reads "3000000", "3M", "800k", "2.5M".
func ParseBitrate(in string) (Bitrate, error) {
	s := strings.TrimSpace(in)
	mult := 1.0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, s = 1e3, s[:n-1]
		case 'm', 'M':
			mult, s = 1e6, s[:n-1]
		case 'g', 'G':
			mult, s = 1e9, s[:n-1]
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || f*mult > float64(MaxBitrate) {
		return 0, fmt.Errorf("bitrate %q: want bits per second, e.g. 3000000, 3M or 800k", in)
	}
	return Bitrate(math.Round(f * mult)), nil
}

func (b Bitrate) String() string {
	switch {
	case b >= 1e6 && b%1e5 == 0:
		return strconv.FormatFloat(float64(b)/1e6, 'f', -1, 64) + "M"
	case b >= 1e3 && b%1e3 == 0:
		return strconv.FormatInt(int64(b)/1e3, 10) + "k"
	}
	return strconv.FormatInt(int64(b), 10)
}

// UnmarshalJSON reads a number or a suffixed string.
func (b *Bitrate) UnmarshalJSON(data []byte) error {
	s := string(data)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
	}
	v, err := ParseBitrate(s)
	if err != nil {
		return valueError(err, b)
	}
	*b = v
	return nil
}

// UnmarshalYAML reads a number or a suffixed string (scenario and config files).
func (b *Bitrate) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	v, err := ParseBitrate(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// Codec names the engine offers.
var (
	videoCodecs = []string{"libx264", "libx265", "libsvtav1", "libvpx-vp9", "h264_nvenc",
		"hevc_nvenc", "av1_nvenc", "h264_qsv", "hevc_qsv", "h264_vaapi", "hevc_vaapi", "copy", "none"}
	audioCodecs = []string{"aac", "opus", "copy", "none"}
	containers  = []string{"mp4", "mkv", "mpegts", "flv", "hls", "dash", "cmaf", "null"}
	devices     = []string{"cuda", "qsv", "vaapi"}
)

// VideoCodecs lists the video codec names a Spec may use.
func VideoCodecs() []string { return append([]string(nil), videoCodecs...) }

// AudioCodecs lists the audio codec names a Spec may use.
func AudioCodecs() []string { return append([]string(nil), audioCodecs...) }

// Containers lists the output containers a Spec may use.
func Containers() []string { return append([]string(nil), containers...) }

// Devices lists the hardware device kinds a Spec may ask for.
func Devices() []string { return append([]string(nil), devices...) }

// Segmented reports whether container c writes segments into a folder per rendition with
// manifests beside them (hls, dash, cmaf).
func Segmented(c string) bool { return c == "hls" || c == "dash" || c == "cmaf" }

// WritesHLS reports whether container c writes HLS playlists (hls and cmaf).
func WritesHLS(c string) bool { return c == "hls" || c == "cmaf" }

// WritesDASH reports whether container c writes a DASH manifest (dash and cmaf).
func WritesDASH(c string) bool { return c == "dash" || c == "cmaf" }

// ContainerFor guesses a container from a target: rtmp:// is flv, a known extension names
// its container, anything else (a directory) is hls.
func ContainerFor(target string) string {
	if strings.HasPrefix(target, "rtmp://") || strings.HasPrefix(target, "rtmps://") {
		return "flv"
	}
	switch strings.ToLower(filepath.Ext(target)) {
	case ".mp4", ".m4v", ".mov":
		return "mp4"
	case ".mkv":
		return "mkv"
	case ".ts", ".m2ts":
		return "mpegts"
	case ".flv":
		return "flv"
	case ".m3u8":
		return "hls"
	case "":
		if target == "" || target == "-" {
			return ""
		}
		return "hls"
	}
	return ""
}

// Normalize returns a copy of s with defaults filled in, or a *Error naming the first field
// that is wrong. It checks what can be checked without opening anything.
func (s Spec) Normalize() (Spec, error) {
	n := s
	in, err := s.Input.normalize()
	if err != nil {
		return n, err
	}
	n.Input = in
	if n.Hardware, err = s.Hardware.normalize(); err != nil {
		return n, err
	}
	if len(s.Outputs) == 0 {
		return n, Errorf("outputs", "no outputs")
	}
	if len(s.Outputs) > 32 {
		return n, Errorf("outputs", "%d outputs: at most 32", len(s.Outputs))
	}
	n.Outputs = make([]Output, len(s.Outputs))
	names := map[string]bool{}
	for i, o := range s.Outputs {
		no, err := o.normalize(i, names)
		if err != nil {
			return n, err
		}
		n.Outputs[i] = no
	}
	return n, nil
}

// normalize checks an Input: a URL or a synthetic source (its frame rate defaulting to 30).
func (in Input) normalize() (Input, error) {
	if in.Synthetic != nil {
		syn := *in.Synthetic
		if in.URL != "" {
			return in, Errorf("input", "set either url or synthetic, not both")
		}
		if syn.Width <= 0 || syn.Height <= 0 || syn.Width > 8192 || syn.Height > 8192 {
			return in, Errorf("input.synthetic.width", "synthetic size %dx%d: want 1..8192 each", syn.Width, syn.Height)
		}
		if syn.FPS.IsZero() {
			syn.FPS = Rate{Num: 30, Den: 1}
		}
		if syn.Duration <= 0 || syn.Duration > 24*3600 {
			return in, Errorf("input.synthetic.duration", "synthetic duration %gs: want more than 0 and at most 24 h", syn.Duration)
		}
		in.Synthetic = &syn
	} else if strings.TrimSpace(in.URL) == "" {
		return in, Errorf("input.url", "no input: set input.url or input.synthetic")
	}
	if in.MaxDecodeErrors < 0 {
		return in, Errorf("input.max_decode_errors", "must not be negative")
	}
	if in.TimeoutSeconds < 0 {
		return in, Errorf("input.timeout_seconds", "must not be negative")
	}
	return in, nil
}

// normalize checks the hardware mode and, when hardware is asked for, the device; an empty
// mode is none. On an error h comes back unchanged.
func (h Hardware) normalize() (Hardware, error) {
	switch h.Mode {
	case "", HardwareNone:
		h.Mode = HardwareNone
	case HardwareAuto, HardwareRequire:
		if !slices.Contains(devices, h.Device) {
			return h, Errorf("hardware.device", "hardware device %q: want one of %s", h.Device, strings.Join(devices, ", "))
		}
	default:
		return h, Errorf("hardware.mode", "hardware mode %q: want none, auto or require", h.Mode)
	}
	return h, nil
}

// normalize checks output i and fills in its defaults, in the order a client reads the
// fields: name (recorded in names, which must not hold it yet), container and target, video,
// audio, then the HLS and reconnect settings that depend on them.
func (o Output) normalize(i int, names map[string]bool) (Output, error) {
	field := fmt.Sprintf("outputs[%d]", i)
	var err error
	if o.Name, err = outputName(field, i, o.Name, names); err != nil {
		return o, err
	}
	if o.Container, err = o.container(field); err != nil {
		return o, err
	}
	v, err := o.Video.normalize(field)
	if err != nil {
		return o, err
	}
	o.Video = &v
	if err := carries(field, o.Container, o.HLS, v.Codec); err != nil {
		return o, err
	}
	a, err := o.Audio.normalize(field)
	if err != nil {
		return o, err
	}
	o.Audio = &a
	if v.Codec == "none" && a.Codec == "none" {
		return o, Errorf(field, "output %q has neither video nor audio", o.Name)
	}
	if Segmented(o.Container) {
		if o.HLS, err = o.hls(field, v.GOP); err != nil {
			return o, err
		}
	}
	if o.Reconnect != nil {
		if o.Reconnect, err = o.reconnect(field); err != nil {
			return o, err
		}
	}
	return o, nil
}

// outputName checks an output's name ("out<i>" when empty) and records it in names.
func outputName(field string, i int, name string, names map[string]bool) (string, error) {
	if name == "" {
		name = fmt.Sprintf("out%d", i)
	}
	if strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return name, Errorf(field+".name", "output name %q must not contain a path", name)
	}
	// The name becomes a folder, a playlist line and a metrics label: a line break in it
	// would write lines of the client's choosing into the master playlist.
	if strings.ContainsFunc(name, unicode.IsControl) {
		return name, Errorf(field+".name", "output name %q must not contain control characters", name)
	}
	if names[name] {
		return name, Errorf(field+".name", "duplicate output name %q", name)
	}
	names[name] = true
	return name, nil
}

// container returns o's container (guessed from its target when empty) and checks that o
// has a target unless it writes nothing.
func (o Output) container(field string) (string, error) {
	c := o.Container
	if c == "" {
		c = ContainerFor(o.Target)
		if c == "" {
			return c, Errorf(field+".container", "cannot tell the container of %q: set container (%s)", o.Target, strings.Join(containers, ", "))
		}
	}
	if !slices.Contains(containers, c) {
		return c, Errorf(field+".container", "container %q: want one of %s", c, strings.Join(containers, ", "))
	}
	if c != "null" && strings.TrimSpace(o.Target) == "" {
		return c, Errorf(field+".target", "output %q has no target", o.Name)
	}
	return c, nil
}

// normalize checks a video encoding (nil: all defaults) and fills in libx264 and a 2 s GOP.
func (vp *Video) normalize(field string) (Video, error) {
	v := Video{}
	if vp != nil {
		v = *vp
	}
	if v.Codec == "" {
		v.Codec = "libx264"
	}
	if !slices.Contains(videoCodecs, v.Codec) {
		return v, Errorf(field+".video.codec", "video codec %q: want one of %s", v.Codec, strings.Join(videoCodecs, ", "))
	}
	if v.Width < 0 || v.Height < 0 || v.Width > 8192 || v.Height > 8192 || v.Width%2 != 0 || v.Height%2 != 0 {
		return v, Errorf(field+".video.width", "video size %dx%d: want even numbers up to 8192 (0 keeps the aspect ratio)", v.Width, v.Height)
	}
	if v.Bitrate < 0 || v.MaxRate < 0 || v.BufSize < 0 {
		return v, Errorf(field+".video.bitrate", "bitrates must not be negative")
	}
	if v.Bitrate > MaxBitrate || v.MaxRate > MaxBitrate || v.BufSize > MaxBitrate {
		return v, Errorf(field+".video.bitrate", "bitrates must be at most %d bits per second", int64(MaxBitrate))
	}
	if v.CRF < 0 || v.CRF > 63 {
		return v, Errorf(field+".video.crf", "crf %d: want 0..63", v.CRF)
	}
	if err := v.software(field); err != nil {
		return v, err
	}
	if v.GOP == 0 {
		v.GOP = 2
	}
	if v.GOP < 0 || v.GOP > 60 {
		return v, Errorf(field+".video.gop", "gop %gs: want more than 0 and at most 60 seconds", v.GOP)
	}
	return v, nil
}

// normalize checks an audio encoding (nil: all defaults) and fills in AAC at 128 kb/s,
// stereo, 48 kHz.
func (ap *Audio) normalize(field string) (Audio, error) {
	a := Audio{}
	if ap != nil {
		a = *ap
	}
	if a.Codec == "" {
		a.Codec = "aac"
	}
	if !slices.Contains(audioCodecs, a.Codec) {
		return a, Errorf(field+".audio.codec", "audio codec %q: want one of %s", a.Codec, strings.Join(audioCodecs, ", "))
	}
	if a.Bitrate == 0 {
		a.Bitrate = 128_000
	}
	if a.Bitrate < 0 || a.Bitrate > MaxBitrate {
		return a, Errorf(field+".audio.bitrate", "bitrate %d: want 0..%d bits per second", int64(a.Bitrate), int64(MaxBitrate))
	}
	if a.Channels == 0 {
		a.Channels = 2
	}
	if a.Channels < 1 || a.Channels > 8 {
		return a, Errorf(field+".audio.channels", "channels %d: want 1..8", a.Channels)
	}
	if a.SampleRate == 0 {
		a.SampleRate = 48000
	}
	if a.SampleRate < 8000 || a.SampleRate > 192000 {
		return a, Errorf(field+".audio.sample_rate", "sample rate %d: want 8000..192000", a.SampleRate)
	}
	if a.Codec == "opus" && !slices.Contains([]int{48000, 24000, 16000, 12000, 8000}, a.SampleRate) {
		return a, Errorf(field+".audio.sample_rate", "opus takes 48000, 24000, 16000, 12000 or 8000 Hz, not %d", a.SampleRate)
	}
	return a, nil
}

// hls checks a segmented output's target (a folder) and settings, its segments defaulting
// to the GOP's length (and to fmp4 for dash and cmaf, which take nothing else).
func (o Output) hls(field string, gop float64) (*HLS, error) {
	if ext := strings.ToLower(filepath.Ext(o.Target)); ext == ".m3u8" || ext == ".mpd" {
		return o.HLS, Errorf(field+".target", "the target of a %s output is a folder (it gets %s and a folder per rendition): use %q, not %q",
			o.Container, manifestNames(o.Container), strings.TrimSuffix(o.Target, filepath.Ext(o.Target)), o.Target)
	}
	h := HLS{}
	if o.HLS != nil {
		h = *o.HLS
	}
	if h.SegmentSeconds == 0 {
		h.SegmentSeconds = gop
	}
	if h.SegmentSeconds < 0 || h.PlaylistSize < 0 {
		return o.HLS, Errorf(field+".hls", "segment_seconds and playlist_size must not be negative")
	}
	if h.SegmentType == "" {
		h.SegmentType = SegmentTS
		if WritesDASH(o.Container) {
			h.SegmentType = SegmentFMP4
		}
	}
	if h.SegmentType != SegmentTS && h.SegmentType != SegmentFMP4 {
		return o.HLS, Errorf(field+".hls.segment_type", "segment_type %q: want %s or %s", h.SegmentType, SegmentTS, SegmentFMP4)
	}
	if WritesDASH(o.Container) {
		if h.SegmentType != SegmentFMP4 {
			return o.HLS, Errorf(field+".hls.segment_type", "container %s writes CMAF (fmp4) segments only, not %s: use hls for MPEG-TS segments", o.Container, h.SegmentType)
		}
		if h.PlaylistSize > 0 {
			return o.HLS, Errorf(field+".hls.playlist_size", "container %s writes its manifest for VOD when the run ends: for a live sliding window use hls with \"segment_type\": \"fmp4\"", o.Container)
		}
	}
	return &h, nil
}

// manifestNames names the manifests a segmented container writes into its folder.
func manifestNames(c string) string {
	switch c {
	case "dash":
		return "manifest.mpd"
	case "cmaf":
		return "master.m3u8 and manifest.mpd"
	}
	return "master.m3u8"
}

// reconnect checks a restream's reconnection (flv pushes to rtmp:// or rtmps:// only),
// its backoff cap defaulting to DefaultMaxBackoffSeconds.
func (o Output) reconnect(field string) (*Reconnect, error) {
	rc := *o.Reconnect
	if !strings.HasPrefix(o.Target, "rtmp://") && !strings.HasPrefix(o.Target, "rtmps://") || o.Container != "flv" {
		return o.Reconnect, Errorf(field+".reconnect", "output %q: reconnect is for flv pushes to rtmp:// or rtmps:// targets", o.Name)
	}
	if rc.MaxBackoffSeconds == 0 {
		rc.MaxBackoffSeconds = DefaultMaxBackoffSeconds
	}
	if rc.MaxBackoffSeconds < 1 || rc.MaxBackoffSeconds > 600 || math.IsNaN(rc.MaxBackoffSeconds) {
		return o.Reconnect, Errorf(field+".reconnect.max_backoff_seconds", "%g: want 1..600 seconds", rc.MaxBackoffSeconds)
	}
	return &rc, nil
}

// DeviceFor names the hardware device kind a video codec needs (cuda, qsv, vaapi), or ""
// for software codecs.
func DeviceFor(codec string) string {
	switch {
	case strings.HasSuffix(codec, "_nvenc"):
		return "cuda"
	case strings.HasSuffix(codec, "_qsv"):
		return "qsv"
	case strings.HasSuffix(codec, "_vaapi"):
		return "vaapi"
	}
	return ""
}
