package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master/catalog"
)

// jobsSubmitFlags are the flags of `ffrtmp jobs submit`.
type jobsSubmitFlags struct {
	scenario, preset, specFile       string
	input, output                    string
	queue, priority                  string
	duration, bitrate                string
	encoder, encoderPreset, hardware string
	reqEncoder, reqHardware          string
	reqLabels, labels                []string
	minGPUMemory                     int
	maxRunTime                       time.Duration
	maxRetries                       int
	callbackURL, idempotencyKey      string
	wait, quiet                      bool
	interval                         time.Duration
	format                           string
}

// jobPriorities are the names --priority takes besides numbers.
var jobPriorities = map[string]int{"lowest": api.MinPriority, "low": -50, "normal": 0, "high": 50, "highest": api.MaxPriority}

func newJobsSubmitCmd() *cobra.Command {
	var f jobsSubmitFlags
	cmd := &cobra.Command{
		Use:   "submit (--scenario NAME | --preset NAME --input IN --output DIR/ | --spec FILE) [flags]",
		Short: "Submit a job: a synthetic scenario, a preset ladder over an input, or a full spec",
		Long: `Submit a job to the master's queue. Say what to run with exactly one of:

  --scenario NAME   a built-in synthetic workload (no input): ` + strings.Join(catalog.ScenarioNames(), ", ") + `
  --preset NAME     an ABR ladder (see ` + "`ffrtmp presets list`" + `) applied to --input, written under --output
  --spec FILE       the engine's full Spec as JSON (input and outputs inside; "-" reads stdin)

Local paths in --input and --output are sent as absolute file:// URLs (the worker must be
allowed to read and write them); URLs (http://, rtmp://, file://) are sent as given. A
preset's output is a folder; a scenario's is a file (its extension names the container) or a
folder ending in "/"; without --output a scenario's encode is discarded (a benchmark). Paths
inside a --spec file are sent as written: a relative one is taken from the worker's first
input or output root.

Prints the new job (-q: only its ID). With --wait, follows it with progress lines on stderr
until it ends, prints the final job, and exits 0 when it completed, 1 when it failed or was
canceled.`,
		Example: `  ffrtmp jobs submit --scenario 4k60 --queue live --priority high
  ffrtmp jobs submit --scenario 720p30-h264 --duration 3 --output /srv/out/j1/ --wait
  ffrtmp jobs submit --preset abr-720p --input /srv/in/a.mp4 --output /srv/out/j2/
  ffrtmp jobs submit --spec job.json --idempotency-key nightly-42 -o json
  id=$(ffrtmp jobs submit --scenario 1080p30-nvenc --hardware require -q)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(cmd) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.scenario, "scenario", "", "run a built-in synthetic workload: "+strings.Join(catalog.ScenarioNames(), ", "))
	fl.StringVar(&f.preset, "preset", "", "apply this ladder preset to --input (e.g. abr-720p; see: ffrtmp presets list)")
	fl.StringVar(&f.specFile, "spec", "", "run the engine Spec in this JSON file (\"-\": stdin)")
	fl.StringVar(&f.input, "input", "", "input for --preset: local path or URL (file://, http(s)://, rtmp://)")
	fl.StringVar(&f.output, "output", "", "where outputs go: a folder (ends in /) or, for a scenario, a file")
	fl.StringVar(&f.queue, "queue", "", "queue: "+strings.Join(api.Queues, ", ")+" (default medium)")
	fl.StringVar(&f.priority, "priority", "", fmt.Sprintf("priority within the queue, %d..%d or lowest, low, normal, high, highest (default 0)", api.MinPriority, api.MaxPriority))
	fl.StringVar(&f.duration, "duration", "", "seconds of synthetic source for --scenario (e.g. 30, or 2m)")
	fl.StringVar(&f.bitrate, "bitrate", "", "video bitrate, e.g. 5M or 2500k (a ladder's top rung; the others scale)")
	fl.StringVar(&f.encoder, "encoder", "", "video encoder: "+strings.Join(jobEncoders(), ", "))
	fl.StringVar(&f.encoderPreset, "encoder-preset", "", "the encoder's speed preset (veryfast, p4, ...)")
	fl.StringVar(&f.hardware, "hardware", "", "hardware use for a hardware encoder: none, auto or require")
	fl.StringVar(&f.reqEncoder, "require-encoder", "", "run only on a node where this encoder opens")
	fl.StringVar(&f.reqHardware, "require-hardware", "", "run only on a node with this device: "+strings.Join(spec.Devices(), ", "))
	fl.StringArrayVar(&f.reqLabels, "require-label", nil, "run only on nodes with this label, k=v (repeatable)")
	fl.IntVar(&f.minGPUMemory, "min-gpu-memory", 0, "run only on a node with a GPU of at least this many MB")
	fl.DurationVar(&f.maxRunTime, "max-run-time", 0, "fail a run that takes longer than this (e.g. 2h; default no limit)")
	fl.IntVar(&f.maxRetries, "max-retries", 0, "retries after transient failures (default: the master's)")
	fl.StringVar(&f.callbackURL, "callback-url", "", "http(s) URL that gets a signed POST on every state change")
	fl.StringArrayVar(&f.labels, "label", nil, "tag the job, k=v (repeatable)")
	fl.StringVar(&f.idempotencyKey, "idempotency-key", "", "submitting again with this key returns the first job instead of a new one")
	fl.BoolVar(&f.wait, "wait", false, "follow the job until it ends; exit 1 when it fails or is canceled")
	fl.DurationVar(&f.interval, "interval", time.Second, "how often --wait asks the master")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only the job ID (and with --wait no progress)")
	// --output is where the job writes, so the output format is -o/--format here.
	fl.StringVarP(&f.format, "format", "o", formatTable, "output format: table, json or yaml")
	jobsCompleteFlag(cmd, "scenario", catalog.ScenarioNames())
	jobsCompleteFlag(cmd, "queue", api.Queues)
	jobsCompleteFlag(cmd, "hardware", []string{spec.HardwareNone, spec.HardwareAuto, spec.HardwareRequire})
	jobsCompleteFlag(cmd, "require-hardware", spec.Devices())
	jobsCompleteFlag(cmd, "encoder", jobEncoders())
	jobsCompleteFlag(cmd, "format", []string{formatTable, formatJSON, formatYAML})
	_ = cmd.RegisterFlagCompletionFunc("preset", completeJobPresets)
	_ = cmd.MarkFlagFilename("spec", "json")
	return cmd
}

func (f *jobsSubmitFlags) run(cmd *cobra.Command) error {
	if err := checkFormat(f.format); err != nil {
		return err
	}
	if err := checkJobsInterval(f.interval); err != nil {
		return err
	}
	req, err := f.request(cmd)
	if err != nil {
		return err
	}
	c, err := connect(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	job, err := c.Client.SubmitJob(ctx, req, f.idempotencyKey)
	if err != nil {
		return c.explain(err, "")
	}
	out := cmd.OutOrStdout()
	if !f.wait {
		switch {
		case f.quiet:
			fmt.Fprintln(out, job.ID)
			return nil
		case f.format == formatTable:
			header, rows := jobRows([]api.Job{*job}, newJobView(nil))
			writeTable(out, header, rows)
			return nil
		}
		return render(out, f.format, job, nil)
	}
	var show jobsDisplay = nopJobsDisplay{}
	if !f.quiet {
		show = newJobsDisplay(cmd.ErrOrStderr(), false)
	}
	final, err := followJob(ctx, c, job.ID, f.interval, show)
	if err != nil {
		return err
	}
	switch {
	case f.quiet:
		fmt.Fprintln(out, final.ID)
	case f.format == formatTable:
		writeJobDetail(out, final, newJobView(jobNodeNames(ctx, c)))
	default:
		if err := render(out, f.format, final, nil); err != nil {
			return err
		}
	}
	return jobOutcome(final)
}

// request builds the JobRequest from the flags, refusing what cannot go together.
func (f *jobsSubmitFlags) request(cmd *cobra.Command) (api.JobRequest, error) {
	var req api.JobRequest
	var kinds []string
	for _, k := range []string{"scenario", "preset", "spec"} {
		if cmd.Flags().Changed(k) {
			kinds = append(kinds, "--"+k)
		}
	}
	switch len(kinds) {
	case 0:
		return req, usagef("say what to run: give one of --scenario NAME, --preset NAME (with --input and --output) or --spec FILE (see 'ffrtmp jobs submit --help')")
	case 1:
	default:
		return req, usagef("%s cannot be combined: give exactly one of --scenario, --preset or --spec", strings.Join(kinds, " and "))
	}
	var err error
	if req.Priority, err = parseJobPriority(f.priority); err != nil {
		return req, err
	}
	req.Queue, req.CallbackURL = f.queue, f.callbackURL
	if req.Labels, err = parseJobLabels("label", f.labels); err != nil {
		return req, err
	}
	req.Requirements = api.Requirements{Encoder: f.reqEncoder, Hardware: f.reqHardware, MinGPUMemoryMB: f.minGPUMemory}
	if req.Requirements.Labels, err = parseJobLabels("require-label", f.reqLabels); err != nil {
		return req, err
	}
	if f.minGPUMemory < 0 {
		return req, usagef("--min-gpu-memory %d: want megabytes, 0 or more", f.minGPUMemory)
	}
	if f.maxRunTime < 0 {
		return req, usagef("--max-run-time %s: want a positive duration like 2h", f.maxRunTime)
	}
	req.MaxRunTime = api.Duration(f.maxRunTime)
	if cmd.Flags().Changed("max-retries") {
		if f.maxRetries < 0 {
			return req, usagef("--max-retries %d: want 0 or more", f.maxRetries)
		}
		req.MaxRetries = &f.maxRetries
	}
	if f.specFile != "" || cmd.Flags().Changed("spec") {
		for _, name := range []string{"input", "output", "duration", "bitrate", "encoder", "encoder-preset", "hardware"} {
			if cmd.Flags().Changed(name) {
				return req, usagef("--spec cannot be combined with --%s: put it in the spec file", name)
			}
		}
		req.Spec, err = readJobSpec(f.specFile, cmd.InOrStdin())
		return req, err
	}
	req.Scenario, req.Preset = f.scenario, f.preset
	if req.Scenario != "" && f.input != "" {
		return req, usagef("--scenario makes its own synthetic source: drop --input, or use --preset")
	}
	if req.Preset != "" && (f.input == "" || f.output == "") {
		return req, usagef("--preset needs --input (a file or URL) and --output (a folder)")
	}
	if f.input != "" {
		if req.Input, err = jobLocationURL("input", f.input, false); err != nil {
			return req, err
		}
	}
	if f.output != "" {
		if req.Output, err = jobLocationURL("output", f.output, req.Preset != ""); err != nil {
			return req, err
		}
	}
	req.Parameters, err = f.parameters()
	return req, err
}

// parameters are the --duration, --bitrate and encoder flags; nil when none is given.
func (f *jobsSubmitFlags) parameters() (*api.Parameters, error) {
	p := api.Parameters{Encoder: f.encoder, EncoderPreset: f.encoderPreset, Hardware: f.hardware}
	switch f.hardware {
	case "", spec.HardwareNone, spec.HardwareAuto, spec.HardwareRequire:
	default:
		return nil, usagef("--hardware %q: want none, auto or require", f.hardware)
	}
	if f.duration != "" {
		secs, err := strconv.ParseFloat(f.duration, 64)
		if err != nil {
			d, derr := time.ParseDuration(f.duration)
			secs, err = d.Seconds(), derr
		}
		if err != nil || secs <= 0 {
			return nil, usagef("--duration %q: want seconds of synthetic source above 0, e.g. 30 or 2m", f.duration)
		}
		p.Duration = secs
	}
	if f.bitrate != "" {
		b, err := spec.ParseBitrate(f.bitrate)
		if err != nil || b == 0 {
			return nil, usagef("--bitrate %q: want bits per second, e.g. 5M or 2500k", f.bitrate)
		}
		p.Bitrate = b
	}
	if p == (api.Parameters{}) {
		return nil, nil
	}
	return &p, nil
}

// jobEncoders are the video encoders a job may ask for (copy and none encode nothing).
func jobEncoders() []string {
	return slices.DeleteFunc(spec.VideoCodecs(), func(c string) bool { return c == "copy" || c == "none" })
}

// parseJobPriority reads a number in MinPriority..MaxPriority or a name of jobPriorities.
func parseJobPriority(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if p, ok := jobPriorities[strings.ToLower(s)]; ok {
		return p, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < api.MinPriority || p > api.MaxPriority {
		return 0, usagef("--priority %q: want %d..%d (higher runs first) or lowest, low, normal, high, highest", s, api.MinPriority, api.MaxPriority)
	}
	return p, nil
}

// parseJobLabels reads k=v pairs.
func parseJobLabels(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("--%s %q: want key=value", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

// jobLocationURL makes a local path an absolute file:// URL, keeping (or, for folders, adding)
// the trailing "/" that marks a folder; URLs pass through. folder says the location must be
// a folder; an existing directory is one too.
func jobLocationURL(flag, loc string, folder bool) (string, error) {
	if strings.Contains(loc, "://") {
		return loc, nil
	}
	isDir := folder || strings.HasSuffix(loc, "/") || strings.HasSuffix(loc, string(filepath.Separator))
	if rest, ok := strings.CutPrefix(loc, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", usagef("--%s %q: %v", flag, loc, err)
		}
		loc = filepath.Join(home, rest)
	}
	abs, err := filepath.Abs(loc)
	if err != nil {
		return "", usagef("--%s %q: %v", flag, loc, err)
	}
	if st, err := os.Stat(abs); err == nil && st.IsDir() {
		isDir = true
	}
	p := filepath.ToSlash(abs)
	if isDir && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return (&url.URL{Scheme: "file", Path: p}).String(), nil
}

// readJobSpec decodes an engine Spec strictly from path ("-": stdin): an unknown field is a
// mistake worth an error before the master sees it.
func readJobSpec(path string, stdin io.Reader) (*spec.Spec, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(stdin)
		path = "stdin"
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, usagef("--spec: %v", err)
	}
	var s spec.Spec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, usagef("--spec %s: %v", path, err)
	}
	if dec.More() {
		return nil, usagef("--spec %s: more than one JSON value", path)
	}
	return &s, nil
}

// jobOutcome is nil for a completed job and an error (exit 1) naming why it did not complete.
func jobOutcome(j api.Job) error {
	switch j.Status {
	case api.StatusCompleted:
		return nil
	case api.StatusFailed:
		if j.Error != nil {
			return fmt.Errorf("job %s failed: %s (%s)", j.ID, j.Error.Message, j.Error.Code)
		}
		return fmt.Errorf("job %s failed", j.ID)
	case api.StatusCanceled:
		return fmt.Errorf("job %s was canceled", j.ID)
	}
	return fmt.Errorf("job %s is %s", j.ID, j.Status)
}

// completeJobPresets offers the master's presets for --preset.
func completeJobPresets(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	c, err := connect(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	list, err := c.Client.ListPresets(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, p := range list.Presets {
		names = append(names, p.Name+"\t"+p.Description)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
