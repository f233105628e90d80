package catalog

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// Limits on what a request may ask for.
const (
	maxLabels      = 32
	maxLabelLen    = 256
	maxURLLen      = 4096
	maxRetriesCap  = 20
	maxRunTimeCap  = 7 * 24 * time.Hour
	defaultQueue   = api.QueueMedium
	assumedFPS     = 30
	assumedSrcSize = 1920 * 1080
)

// Protocols a job may name. The worker enforces its roots and libav's protocol_whitelist
// again; refusing the rest here gives the submitter a 400 instead of a failed job.
var (
	inputSchemes  = []string{"file", "http", "https", "rtmp", "rtmps"}
	outputSchemes = []string{"file", "rtmp", "rtmps"}
)

// PresetSource finds presets by name (the store's, then the built-ins).
type PresetSource func(name string) (api.Preset, bool)

// Resolve checks req and turns it into a job: the spec the worker runs, the requirements a
// node must meet, and the job's cost. defaultRetries fills MaxRetries when the request has
// none. The error names the field at fault.
func Resolve(req api.JobRequest, presets PresetSource, defaultRetries int) (api.Job, error) {
	job := api.Job{
		Queue: req.Queue, Priority: req.Priority, Scenario: req.Scenario, Preset: req.Preset,
		Parameters: req.Parameters, Input: req.Input, Output: req.Output,
		Requirements: req.Requirements, MaxRunTime: req.MaxRunTime, MaxRetries: defaultRetries,
		CallbackURL: req.CallbackURL, Labels: req.Labels,
	}
	if job.Queue == "" {
		job.Queue = defaultQueue
	}
	if !slices.Contains(api.Queues, job.Queue) {
		return job, fieldErr("queue", "queue %q: want one of %s", req.Queue, strings.Join(api.Queues, ", "))
	}
	if req.Priority < api.MinPriority || req.Priority > api.MaxPriority {
		return job, fieldErr("priority", "priority %d: want %d..%d (higher runs first)", req.Priority, api.MinPriority, api.MaxPriority)
	}
	if req.MaxRetries != nil {
		if *req.MaxRetries < 0 || *req.MaxRetries > maxRetriesCap {
			return job, fieldErr("max_retries", "max_retries %d: want 0..%d", *req.MaxRetries, maxRetriesCap)
		}
		job.MaxRetries = *req.MaxRetries
	}
	if time.Duration(req.MaxRunTime) > maxRunTimeCap {
		return job, fieldErr("max_run_time", "max_run_time %s: at most %s", time.Duration(req.MaxRunTime), maxRunTimeCap)
	}
	if err := checkCallback(req.CallbackURL); err != nil {
		return job, err
	}
	if err := checkLabels("labels", req.Labels); err != nil {
		return job, err
	}
	if err := checkLabels("requirements.labels", req.Requirements.Labels); err != nil {
		return job, err
	}

	var s spec.Spec
	var err error
	switch n := countSet(req.Spec != nil, req.Preset != "", req.Scenario != ""); {
	case n == 0:
		return job, fieldErr("spec", "say what to do: set spec, preset or scenario")
	case n > 1:
		return job, fieldErr("spec", "set only one of spec, preset and scenario")
	case req.Spec != nil:
		s, err = fromSpec(req)
	case req.Preset != "":
		s, err = fromPreset(req, presets)
	default:
		s, err = fromScenario(req, presets)
	}
	if err != nil {
		return job, err
	}
	n, nerr := s.Normalize()
	if nerr != nil {
		var se *spec.Error
		if errors.As(nerr, &se) {
			field := "spec." + se.Field
			if req.Spec == nil {
				field = parameterField(se.Field)
			}
			return job, fieldErr(field, "%s", se.Message)
		}
		return job, fieldErr("spec", "%v", nerr)
	}
	job.Spec = n
	if job.Requirements, err = requirements(n, req.Requirements); err != nil {
		return job, err
	}
	job.Cost = Cost(n)
	return job, nil
}

// parameterField names the request field behind a spec error of a preset or scenario job:
// the encoder and its preset are parameters a client sets; the rest is the ladder's.
func parameterField(specField string) string {
	_, sub, _ := strings.Cut(specField, ".")
	switch sub {
	case "video.codec":
		return "parameters.encoder"
	case "video.preset":
		return "parameters.encoder_preset"
	}
	return "parameters"
}

func countSet(b ...bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func fromSpec(req api.JobRequest) (spec.Spec, error) {
	if req.Input != "" || req.Output != "" || req.Parameters != nil {
		return spec.Spec{}, fieldErr("spec", "with spec, put the input and outputs inside it (input, output and parameters are for presets and scenarios)")
	}
	s := *req.Spec
	if s.Input.Synthetic == nil {
		p, err := checkLocation("spec.input.url", s.Input.URL, inputSchemes)
		if err != nil {
			return s, err
		}
		s.Input.URL = p
	}
	s.Outputs = slices.Clone(s.Outputs)
	for i, o := range s.Outputs {
		if o.Container == "null" && o.Target == "" {
			continue
		}
		p, err := checkLocation(fmt.Sprintf("spec.outputs[%d].target", i), o.Target, outputSchemes)
		if err != nil {
			return s, err
		}
		s.Outputs[i].Target = p
	}
	return s, nil
}

func fromPreset(req api.JobRequest, presets PresetSource) (spec.Spec, error) {
	p, ok := presets(req.Preset)
	if !ok {
		return spec.Spec{}, fieldErr("preset", "no preset %q: GET /v1/presets lists them", req.Preset)
	}
	if req.Input == "" {
		return spec.Spec{}, fieldErr("input", "a preset needs an input")
	}
	in, err := checkLocation("input", req.Input, inputSchemes)
	if err != nil {
		return spec.Spec{}, err
	}
	if req.Output == "" {
		return spec.Spec{}, fieldErr("output", "a preset needs an output folder (e.g. file:///srv/out/job1/)")
	}
	out, err := checkLocation("output", req.Output, outputSchemes)
	if err != nil {
		return spec.Spec{}, err
	}
	s := spec.Spec{Input: spec.Input{URL: in}}
	if err := applyLadder(&s, p, out, req.Parameters); err != nil {
		return s, err
	}
	return s, nil
}

func fromScenario(req api.JobRequest, presets PresetSource) (spec.Spec, error) {
	sc, ok := Scenario(req.Scenario)
	if !ok {
		return spec.Spec{}, fieldErr("scenario", "no scenario %q: known are %s", req.Scenario, strings.Join(ScenarioNames(), ", "))
	}
	if req.Input != "" {
		return spec.Spec{}, fieldErr("input", "a scenario makes its own synthetic source: drop input, or use a preset")
	}
	par := api.Parameters{}
	if req.Parameters != nil {
		par = *req.Parameters
	}
	dur := sc.Duration
	if par.Duration != 0 {
		if par.Duration < 0 || par.Duration > 24*3600 {
			return spec.Spec{}, fieldErr("parameters.duration", "duration %g s: want more than 0 and at most 86400", par.Duration)
		}
		dur = par.Duration
	}
	s := spec.Spec{Input: spec.Input{Synthetic: &spec.Synthetic{Width: sc.Width, Height: sc.Height, FPS: sc.FPS, Duration: dur}}}
	out := ""
	if req.Output != "" {
		var err error
		if out, err = checkLocation("output", req.Output, outputSchemes); err != nil {
			return s, err
		}
	}
	if sc.Preset != "" {
		p, ok := presets(sc.Preset)
		if !ok {
			return s, fieldErr("scenario", "scenario %q uses preset %q, which is gone", sc.Name, sc.Preset)
		}
		if out == "" {
			p.Container = "null"
		}
		return s, applyLadder(&s, p, out, req.Parameters)
	}
	v := spec.Video{Codec: sc.Encoder, Bitrate: sc.Bitrate, Preset: spec.DefaultPreset(sc.Encoder)}
	if err := applyEncoder(&s, &v, par); err != nil {
		return s, err
	}
	if par.Bitrate != 0 {
		v.Bitrate = par.Bitrate
	}
	o := spec.Output{Name: sc.Name, Video: &v}
	switch {
	case out == "":
		o.Container = "null"
	case strings.HasSuffix(out, "/"):
		o.Target = out + sc.Name + ".mp4"
	default:
		o.Target = out
	}
	s.Outputs = []spec.Output{o}
	return s, nil
}

// applyLadder expands preset p into s's outputs under folder out.
func applyLadder(s *spec.Spec, p api.Preset, out string, par *api.Parameters) error {
	if len(p.Renditions) == 0 {
		return fieldErr("preset", "preset %q has no renditions", p.Name)
	}
	base := spec.Video{}
	if p.Video != nil {
		base = *p.Video
	}
	pr := api.Parameters{}
	if par != nil {
		pr = *par
	}
	if err := applyEncoder(s, &base, pr); err != nil {
		return err
	}
	container := p.Container
	if container == "" {
		container = "hls"
	}
	scale := 1.0
	if pr.Bitrate > 0 && p.Renditions[0].Bitrate > 0 {
		scale = float64(pr.Bitrate) / float64(p.Renditions[0].Bitrate)
	}
	for _, r := range p.Renditions {
		v := base
		v.Width, v.Height = 0, r.Height
		v.Bitrate = spec.Bitrate(float64(r.Bitrate) * scale)
		v.MaxRate = spec.Bitrate(float64(r.MaxRate) * scale)
		v.BufSize = spec.Bitrate(float64(r.BufSize) * scale)
		a := spec.Audio{}
		if p.Audio != nil {
			a = *p.Audio
		}
		if a.Bitrate == 0 {
			a.Bitrate = r.Audio
		}
		o := spec.Output{Name: r.Name, Container: container, Video: &v, Audio: &a}
		switch container {
		case "hls", "dash", "cmaf":
			o.Target = strings.TrimSuffix(out, "/")
			if p.SegmentSeconds > 0 || p.SegmentType != "" {
				o.HLS = &spec.HLS{SegmentSeconds: p.SegmentSeconds, SegmentType: p.SegmentType}
			}
		case "null":
		default:
			ext := map[string]string{"mp4": ".mp4", "mkv": ".mkv", "mpegts": ".ts", "flv": ".flv"}[container]
			o.Target = strings.TrimSuffix(out, "/") + "/" + r.Name + ext
		}
		s.Outputs = append(s.Outputs, o)
	}
	s.Outputs = spec.SplitAudio(s.Outputs)
	return nil
}

// applyEncoder applies parameters.encoder, encoder_preset and hardware to v and s.
func applyEncoder(s *spec.Spec, v *spec.Video, par api.Parameters) error {
	if par.Encoder != "" {
		if !slices.Contains(spec.VideoCodecs(), par.Encoder) || par.Encoder == "copy" || par.Encoder == "none" {
			return fieldErr("parameters.encoder", "encoder %q: want one of %s", par.Encoder, strings.Join(slices.DeleteFunc(spec.VideoCodecs(), func(c string) bool { return c == "copy" || c == "none" }), ", "))
		}
		if v.Codec != par.Encoder {
			// Each encoder names its speeds its own way (veryfast, 10, 6, p4).
			v.Preset = spec.DefaultPreset(par.Encoder)
		}
		v.Codec = par.Encoder
	}
	if par.EncoderPreset != "" {
		v.Preset = par.EncoderPreset
	}
	dev := spec.DeviceFor(v.Codec)
	mode := par.Hardware
	switch {
	case mode == "" && dev != "":
		mode = spec.HardwareAuto
	case mode == "":
		mode = spec.HardwareNone
	case !slices.Contains([]string{spec.HardwareNone, spec.HardwareAuto, spec.HardwareRequire}, mode):
		return fieldErr("parameters.hardware", "hardware %q: want none, auto or require", mode)
	}
	if mode != spec.HardwareNone {
		if dev == "" {
			return fieldErr("parameters.hardware", "hardware %s needs a hardware encoder (h264_nvenc, h264_qsv, ...), not %s", mode, v.Codec)
		}
		s.Hardware = spec.Hardware{Mode: mode, Device: dev}
	}
	return nil
}

// requirements merges what the spec needs with what the request asked for.
func requirements(s spec.Spec, asked api.Requirements) (api.Requirements, error) {
	r := asked
	if r.Hardware != "" && !slices.Contains(spec.Devices(), r.Hardware) {
		return r, fieldErr("requirements.hardware", "hardware %q: want one of %s", r.Hardware, strings.Join(spec.Devices(), ", "))
	}
	if r.MinGPUMemoryMB < 0 {
		return r, fieldErr("requirements.min_gpu_memory_mb", "must not be negative")
	}
	if len(r.Node) > 128 {
		return r, fieldErr("requirements.node", "longer than 128 bytes")
	}
	require := s.Hardware.Mode == spec.HardwareRequire
	if require {
		if r.Hardware == "" {
			r.Hardware = s.Hardware.Device
		} else if r.Hardware != s.Hardware.Device {
			return r, fieldErr("requirements.hardware", "requirements ask for %s but the spec requires %s", r.Hardware, s.Hardware.Device)
		}
	}
	// The job goes only to a node that has the encoder it cannot do without: a required
	// hardware one, or a software one beyond libx264, which every worker has (a worker of an
	// older build may lack libx265, libsvtav1 or libvpx-vp9). Auto hardware falls back to
	// libx264 and needs nothing.
	for _, o := range s.Outputs {
		if r.Encoder != "" || o.Video == nil {
			break
		}
		c := o.Video.Codec
		switch dev := spec.DeviceFor(c); {
		case dev != "" && require, dev == "" && c != "libx264" && spec.VideoFormat(c) != "":
			r.Encoder = c
		}
	}
	return r, nil
}

// Cost estimates the pixels per second a job encodes: every video output's size times its
// frame rate. Sizes the spec leaves open follow the source (1080p when not known) and rates
// default to 30 fps.
func Cost(s spec.Spec) int64 {
	srcW, srcH, srcFPS := 0, 0, float64(assumedFPS)
	if syn := s.Input.Synthetic; syn != nil {
		srcW, srcH = syn.Width, syn.Height
		if !syn.FPS.IsZero() {
			srcFPS = syn.FPS.Float()
		}
	}
	var total int64
	for _, o := range s.Outputs {
		if o.Video == nil || o.Video.Codec == "none" || o.Video.Codec == "copy" {
			continue
		}
		w, h := o.Video.Width, o.Video.Height
		px := int64(0)
		switch {
		case w > 0 && h > 0:
			px = int64(w * h)
		case h > 0:
			px = int64(h) * int64(h) * 16 / 9
			if srcW > 0 && srcH > 0 {
				px = int64(h) * int64(h) * int64(srcW) / int64(srcH)
			}
		case srcW > 0:
			px = int64(srcW * srcH)
		default:
			px = assumedSrcSize
		}
		fps := srcFPS
		if !o.Video.FPS.IsZero() {
			fps = o.Video.FPS.Float()
		}
		total += int64(float64(px) * fps)
	}
	return total
}

// checkLocation accepts an absolute path, a relative path without "..", or a URL with one of
// schemes, and returns what the engine should open (file:// URLs become paths).
func checkLocation(field, loc string, schemes []string) (string, error) {
	if strings.TrimSpace(loc) == "" {
		return "", fieldErr(field, "empty")
	}
	if len(loc) > maxURLLen {
		return "", fieldErr(field, "longer than %d bytes", maxURLLen)
	}
	if strings.ContainsAny(loc, "\x00\r\n") {
		return "", fieldErr(field, "contains control characters")
	}
	scheme, rest, hasScheme := strings.Cut(loc, ":")
	if hasScheme && len(scheme) > 1 && !strings.ContainsAny(scheme, "/.") {
		scheme = strings.ToLower(scheme)
		if !slices.Contains(schemes, scheme) {
			return "", fieldErr(field, "protocol %q is not allowed here: use one of %s", scheme, strings.Join(schemes, ", "))
		}
		if scheme != "file" {
			u, err := url.Parse(loc)
			if err != nil || u.Host == "" {
				return "", fieldErr(field, "%q is not a valid %s URL", loc, scheme)
			}
			return loc, nil
		}
		u, err := url.Parse(loc)
		if err != nil || (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(rest, "//") {
			return "", fieldErr(field, "%q: want file:///absolute/path", loc)
		}
		loc = u.Path
		if strings.HasSuffix(rest, "/") && !strings.HasSuffix(loc, "/") {
			loc += "/"
		}
	}
	for _, part := range strings.Split(loc, "/") {
		if part == ".." {
			return "", fieldErr(field, "%q: paths must not contain ..", loc)
		}
	}
	if !path.IsAbs(loc) && strings.HasPrefix(loc, "~") {
		return "", fieldErr(field, "%q: ~ is not expanded; give an absolute path", loc)
	}
	return loc, nil
}

func checkCallback(u string) error {
	if u == "" {
		return nil
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || len(u) > maxURLLen {
		return fieldErr("callback_url", "%q: want an http:// or https:// URL", u)
	}
	return nil
}

func checkLabels(field string, labels map[string]string) error {
	if len(labels) > maxLabels {
		return fieldErr(field, "%d labels: at most %d", len(labels), maxLabels)
	}
	for k, v := range labels {
		if k == "" || len(k) > maxLabelLen || len(v) > maxLabelLen {
			return fieldErr(field, "label %q: keys must be 1..%d bytes and values at most %d", k, maxLabelLen, maxLabelLen)
		}
	}
	return nil
}
