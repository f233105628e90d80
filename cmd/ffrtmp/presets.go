package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// newPresetsCmd is `ffrtmp presets`: the named ladders jobs can ask for with --preset.
func newPresetsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "presets",
		Short: "List, show, store and delete the ladder presets jobs can name",
		Long: `A preset is a named ladder template: the container, the video and audio settings and the
renditions a job gets when it names the preset (` + "`ffrtmp jobs submit --preset abr-1080p`" + `).
The master ships built-in presets (abr-2160p, abr-1080p, abr-720p, abr-480p) that cannot be
changed or deleted; store your own under other names.`,
		Example: `  ffrtmp presets list
  ffrtmp presets get abr-1080p -o yaml > my-ladder.yaml
  ffrtmp presets put my-ladder -f my-ladder.yaml
  ffrtmp presets delete my-ladder`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	addClientFlags(cmd)
	cmd.AddCommand(newPresetsListCmd(), newPresetsGetCmd(), newPresetsPutCmd(), newPresetsDeleteCmd())
	return cmd
}

func newPresetsListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the presets, built-in ones included",
		Long: `list shows every preset the master offers: its name, whether it is built in, its container,
its renditions (tallest first) and its description. -o json or -o yaml print them in full.`,
		Example: `  ffrtmp presets list
  ffrtmp presets list -o json | jq -r '.presets[].name'`,
		Args: cobra.NoArgs,
	}
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkFormat(*output); err != nil {
			return err
		}
		c, err := connect(cmd)
		if err != nil {
			return err
		}
		list, err := c.Client.ListPresets(cmd.Context())
		if err != nil {
			return c.explain(err, "presets")
		}
		return render(cmd.OutOrStdout(), *output, list, func() ([]string, [][]string) {
			return presetsTable(list.Presets)
		})
	}
	return cmd
}

func newPresetsGetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a preset: its settings and renditions",
		Long: `get shows a preset's container, video and audio settings, and its renditions. -o yaml
prints it in the form ` + "`presets put`" + ` reads back: a good start for a preset of your own.`,
		Example: `  ffrtmp presets get abr-720p
  ffrtmp presets get abr-720p -o yaml > mine.yaml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completePresetArgs(false),
	}
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkFormat(*output); err != nil {
			return err
		}
		c, err := connect(cmd)
		if err != nil {
			return err
		}
		p, err := c.Client.GetPreset(cmd.Context(), args[0])
		if err != nil {
			return c.explain(err, fmt.Sprintf("preset %q", args[0]))
		}
		if *output != formatTable {
			return render(cmd.OutOrStdout(), *output, p, nil)
		}
		writePreset(cmd.OutOrStdout(), *p)
		return nil
	}
	return cmd
}

func newPresetsPutCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "put NAME -f FILE",
		Short: "Create or replace a preset from a YAML or JSON file",
		Long: `put stores the preset in FILE (YAML or JSON, the fields of ` + "`presets get -o yaml`" + `) under NAME,
replacing a stored preset of that name. "-f -" reads standard input. NAME wins over a name in
the file. The master checks the preset as it would check a job that names it, and says which
field is wrong; built-in presets cannot be replaced.`,
		Example: `  ffrtmp presets put my-ladder -f my-ladder.yaml
  ffrtmp presets get abr-720p -o yaml | sed 's/veryfast/medium/' | ffrtmp presets put my-720p -f -`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completePresetArgs(true),
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", `preset file, YAML or JSON ("-": standard input)`)
	_ = cmd.MarkFlagFilename("file", "yaml", "yml", "json")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		name := args[0]
		if file == "" {
			return usagef("no preset file: give one with -f FILE (YAML or JSON, \"-\" for standard input)")
		}
		p, err := readPresetFile(file, cmd.InOrStdin())
		if err != nil {
			return usageError{err}
		}
		if p.Name != "" && p.Name != name {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: %s names the preset %q; storing it as %q\n", file, p.Name, name)
		}
		p.Name = name
		c, err := connect(cmd)
		if err != nil {
			return err
		}
		stored, err := c.Client.PutPreset(cmd.Context(), p)
		if err != nil {
			return c.explain(err, fmt.Sprintf("preset %q", name))
		}
		fmt.Fprintf(cmd.OutOrStdout(), "preset %s stored: %s, %s\n", stored.Name, presetContainer(*stored), presetRungsSummary(stored.Renditions))
		return nil
	}
	return cmd
}

func newPresetsDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a stored preset",
		Long: `delete removes a stored preset. Jobs already submitted with it keep the ladder they were
given; built-in presets cannot be deleted.`,
		Example:           `  ffrtmp presets delete my-ladder`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completePresetArgs(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect(cmd)
			if err != nil {
				return err
			}
			if err := c.Client.DeletePreset(cmd.Context(), args[0]); err != nil {
				return c.explain(err, fmt.Sprintf("preset %q", args[0]))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "preset %s deleted\n", args[0])
			return nil
		},
	}
}

// readPresetFile reads a preset in YAML or JSON from path ("-": stdin). Fields the API does not
// know are an error, as the master would answer.
func readPresetFile(path string, stdin io.Reader) (api.Preset, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(stdin)
		path = "standard input"
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return api.Preset{}, fmt.Errorf("read preset file: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return api.Preset{}, fmt.Errorf("preset file %s is empty", path)
	}
	// YAML is a superset of JSON: read either as YAML, then decode through JSON so that the
	// API's own field names and value parsers (bitrates as "3M", rates as "30000/1001") apply.
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return api.Preset{}, fmt.Errorf("preset file %s: %w", path, err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return api.Preset{}, fmt.Errorf("preset file %s: want a mapping of preset fields (name, container, video, audio, renditions)", path)
	}
	j, err := json.Marshal(doc)
	if err != nil {
		return api.Preset{}, fmt.Errorf("preset file %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var p api.Preset
	if err := dec.Decode(&p); err != nil {
		return api.Preset{}, fmt.Errorf("preset file %s: %s", path, jsonProblem(err))
	}
	return p, nil
}

// jsonProblem words a decoding error for a file the user wrote (no "json:" prefix, Go types
// named as the field).
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s: want a %s, not a %s", te.Field, te.Type.Kind(), te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// completePresetArgs offers the master's preset names; storedOnly leaves out the built-in ones
// (which put and delete refuse).
func completePresetArgs(storedOnly bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completePresetNames(cmd, storedOnly)
	}
}

func completePresetNames(cmd *cobra.Command, storedOnly bool) ([]cobra.Completion, cobra.ShellCompDirective) {
	return completeFromMaster(cmd, func(ctx context.Context, cl *api.Client) ([]cobra.Completion, error) {
		list, err := cl.ListPresets(ctx)
		if err != nil {
			return nil, err
		}
		var out []cobra.Completion
		for _, p := range list.Presets {
			if !storedOnly || !p.BuiltIn {
				out = append(out, cobra.CompletionWithDesc(p.Name, p.Description))
			}
		}
		return out, nil
	})
}

// completeScenarioNames offers the master's synthetic workloads.
func completeScenarioNames(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return completeFromMaster(cmd, func(ctx context.Context, cl *api.Client) ([]cobra.Completion, error) {
		list, err := cl.ListScenarios(ctx)
		if err != nil {
			return nil, err
		}
		var out []cobra.Completion
		for _, s := range list.Scenarios {
			out = append(out, cobra.CompletionWithDesc(s.Name, s.Description))
		}
		return out, nil
	})
}

// registerJobCompletions completes `jobs submit --preset` and `--scenario` from the master,
// when that command exists and does not complete them itself.
func registerJobCompletions(root *cobra.Command) {
	submit, _, err := root.Find([]string{"jobs", "submit"})
	if err != nil || submit.CommandPath() != root.Name()+" jobs submit" {
		return
	}
	complete := map[string]cobra.CompletionFunc{
		"preset": func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return completePresetNames(cmd, false)
		},
		"scenario": completeScenarioNames,
	}
	for flag, f := range complete {
		if submit.Flags().Lookup(flag) == nil {
			continue
		}
		if _, ok := submit.GetFlagCompletionFunc(flag); ok {
			continue
		}
		_ = submit.RegisterFlagCompletionFunc(flag, f)
	}
}

// presetsTable is the table of `presets list`.
func presetsTable(presets []api.Preset) ([]string, [][]string) {
	rows := make([][]string, 0, len(presets))
	for _, p := range presets {
		builtIn := "no"
		if p.BuiltIn {
			builtIn = "yes"
		}
		rows = append(rows, []string{p.Name, builtIn, presetContainer(p), presetRungs(p.Renditions), dashIfEmpty(p.Description)})
	}
	return []string{"NAME", "BUILT-IN", "CONTAINER", "RUNGS", "DESCRIPTION"}, rows
}

// presetContainer is a preset's container, hls when it names none, with its HLS segments'
// format when that is fMP4 (CMAF).
func presetContainer(p api.Preset) string {
	c := p.Container
	if c == "" {
		c = "hls"
	}
	if c == "hls" && p.SegmentType == spec.SegmentFMP4 {
		c += "/fmp4"
	}
	return c
}

// presetRungs is "1080p/720p/480p".
func presetRungs(rs []spec.Rung) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return dashIfEmpty(strings.Join(names, "/"))
}

// presetRungsSummary is "3 renditions (720p/480p/360p)".
func presetRungsSummary(rs []spec.Rung) string {
	if len(rs) == 1 {
		return "1 rendition (" + rs[0].Name + ")"
	}
	return fmt.Sprintf("%d renditions (%s)", len(rs), presetRungs(rs))
}

// writePreset is `presets get` as text.
func writePreset(w io.Writer, p api.Preset) {
	f := fieldWriter{w: w}
	f.field("Name", p.Name)
	f.field("Built-in", map[bool]string{true: "yes", false: "no"}[p.BuiltIn])
	f.field("Description", dashIfEmpty(p.Description))
	f.field("Container", presetContainer(p))
	f.list("Video", videoSettings(p.Video))
	f.list("Audio", audioSettings(p.Audio))
	if c := p.Container; c == "" || spec.Segmented(c) {
		seg := "the GOP"
		if p.SegmentSeconds > 0 {
			seg = strconv.FormatFloat(p.SegmentSeconds, 'f', -1, 64) + " s"
		}
		f.field("Segments", seg)
	}
	f.field("Renditions", strconv.Itoa(len(p.Renditions)))
	fmt.Fprintln(w)
	rows := make([][]string, 0, len(p.Renditions))
	for _, r := range p.Renditions {
		rows = append(rows, []string{r.Name, strconv.Itoa(r.Height), rateText(r.Bitrate), rateText(r.MaxRate), rateText(r.BufSize), rateText(r.Audio)})
	}
	writeTable(w, []string{"NAME", "HEIGHT", "BITRATE", "MAX RATE", "BUFFER", "AUDIO"}, rows)
}

func rateText(b spec.Bitrate) string {
	if b == 0 {
		return "-"
	}
	return b.String()
}

// videoSettings lists what a preset sets for video, with the engine's defaults for the rest.
func videoSettings(v *spec.Video) []string {
	if v == nil {
		return []string{"libx264 (engine defaults)"}
	}
	codec := v.Codec
	if codec == "" {
		codec = "libx264"
	}
	out := []string{codec}
	add := func(cond bool, s string) {
		if cond {
			out = append(out, s)
		}
	}
	add(v.Preset != "", "preset "+v.Preset)
	add(v.Profile != "", "profile "+v.Profile)
	add(v.CRF != 0, "crf "+strconv.Itoa(v.CRF))
	add(v.GOP != 0, "GOP "+strconv.FormatFloat(v.GOP, 'f', -1, 64)+" s")
	add(!v.FPS.IsZero(), v.FPS.String()+" fps")
	add(v.Width != 0 || v.Height != 0, fmt.Sprintf("size %dx%d", v.Width, v.Height))
	for _, k := range slices.Sorted(maps.Keys(v.Options)) {
		out = append(out, k+"="+v.Options[k])
	}
	return out
}

func audioSettings(a *spec.Audio) []string {
	if a == nil {
		return []string{"aac (engine defaults)"}
	}
	codec := a.Codec
	if codec == "" {
		codec = "aac"
	}
	out := []string{codec}
	if a.Bitrate != 0 {
		out = append(out, a.Bitrate.String())
	}
	if a.Channels != 0 {
		out = append(out, strconv.Itoa(a.Channels)+" channels")
	}
	if a.SampleRate != 0 {
		out = append(out, strconv.Itoa(a.SampleRate)+" Hz")
	}
	return out
}
