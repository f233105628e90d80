package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/api"
)

// newNodesCmd is `ffrtmp nodes`: the workers the master knows, their load and GPUs.
func newNodesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nodes",
		Short: "List, inspect, drain, undrain and remove the farm's worker nodes",
		Long: `The nodes the master knows: their status, their running jobs and slots, the encoders
that really opened on them, and the GPU telemetry their last heartbeat carried.

A node is named by its ID; its name works too when no other node has it.`,
		Example: `  ffrtmp nodes list
  ffrtmp nodes get gpu-01
  ffrtmp nodes drain node-01jq3v8k2m
  ffrtmp nodes list -o json | jq '.nodes[] | {name, status}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	addClientFlags(cmd)
	cmd.AddCommand(newNodesListCmd(), newNodesGetCmd(), newNodesDrainCmd(), newNodesUndrainCmd(), newNodesRemoveCmd())
	return cmd
}

func newNodesListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the nodes with their jobs, encoders and GPU telemetry",
		Long: `list shows one line per node:

  NAME      the node's name (-o json shows the IDs)
  STATUS    online, draining (takes no new jobs) or offline (no heartbeat for a while)
  JOBS      running jobs / slots
  ENCODERS  the video encoder families that opened there (x264, nvenc, qsv, vaapi)
  CPU%      CPU use
  GPUS      number of GPUs
  GPU%      GPU use, the busiest GPU's
  ENC/DEC   NVENC / NVDEC use, the busiest GPU's
  MEM GiB   GPU memory used / total, all GPUs together
  TEMP      the hottest GPU's temperature
  POWER     power draw of all GPUs together
  SEEN      time since the last heartbeat

A column without data shows "-". ` + "`ffrtmp nodes get`" + ` shows each GPU on its own; -o json or
-o yaml print the master's full records.`,
		Example: `  ffrtmp nodes list
  ffrtmp nodes list -o yaml`,
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
		list, err := c.Client.ListNodes(cmd.Context())
		if err != nil {
			return c.explain(err, "nodes")
		}
		now := time.Now()
		if err := render(cmd.OutOrStdout(), *output, list, func() ([]string, [][]string) {
			return nodesTable(list.Nodes, now)
		}); err != nil {
			return err
		}
		if shared := sharedNames(list.Nodes); *output == formatTable && len(shared) > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: several nodes are named %s: name them by ID (`ffrtmp nodes list -o json` shows the IDs)\n",
				strings.Join(shared, ", "))
		}
		return nil
	}
	return cmd
}

func newNodesGetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get NODE",
		Short: "Show one node: status, capabilities, running jobs and each GPU's telemetry",
		Long: `get shows a node's status, version, labels, what it can do (encoders, decoders and
hardware that really opened, slots, GPUs) and the load its last heartbeat reported, one line
per GPU. NODE is the node's ID, or its name when no other node has it.`,
		Example: `  ffrtmp nodes get node-01jq3v8k2m
  ffrtmp nodes get gpu-01 -o json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNodes,
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
		n, err := resolveNode(cmd.Context(), c, args[0])
		if err != nil {
			return err
		}
		if *output != formatTable {
			return render(cmd.OutOrStdout(), *output, n, nil)
		}
		writeNode(cmd.OutOrStdout(), *n, time.Now())
		return nil
	}
	return cmd
}

func newNodesDrainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "drain NODE",
		Short: "Stop giving a node new jobs; the jobs it runs finish",
		Long: `drain tells the master to hand NODE no more jobs. The jobs it runs go on to the end; its
worker keeps heartbeating, and the node stays draining, also when its worker restarts and
registers again, until ` + "`ffrtmp nodes undrain`" + ` lifts the order or the node is removed.`,
		Example:           `  ffrtmp nodes drain gpu-01`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNodes,
		RunE: nodeOrder((*api.Client).DrainNode, func(n *api.Node) string {
			return fmt.Sprintf("node %s is %s: it takes no new jobs; %s", nodeLabel(*n), n.Status, runningNote(len(n.RunningJobs), "finish there"))
		}),
	}
}

func newNodesUndrainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "undrain NODE",
		Short: "Lift a drain order: the node takes jobs again",
		Long: `undrain lifts the drain order an operator gave NODE (ffrtmp nodes drain): the master hands
it jobs again. A worker that is draining itself (shutting down) stays so.`,
		Example:           `  ffrtmp nodes undrain gpu-01`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNodes,
		RunE: nodeOrder((*api.Client).UndrainNode, func(n *api.Node) string {
			return fmt.Sprintf("node %s is %s: it takes jobs again", nodeLabel(*n), n.Status)
		}),
	}
}

// nodeOrder runs an operator's order on the node its one argument names (an ID or a unique
// name) and prints what say makes of the node's answer.
func nodeOrder(order func(*api.Client, context.Context, string) (*api.Node, error), say func(*api.Node) string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := connect(cmd)
		if err != nil {
			return err
		}
		n, err := resolveNode(cmd.Context(), c, args[0])
		if err != nil {
			return err
		}
		d, err := order(c.Client, cmd.Context(), n.ID)
		if err != nil {
			return c.explain(err, "node "+n.ID)
		}
		fmt.Fprintln(cmd.OutOrStdout(), say(d))
		return nil
	}
}

func newNodesRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "remove NODE",
		Aliases: []string{"rm"},
		Short:   "Forget a node; the jobs it runs go back to the queue",
		Long: `remove makes the master forget NODE. The jobs it was running go back to the queue (the
attempt is not counted against their retries). A worker still running there is told it is
unknown at its next heartbeat and registers again: stop the worker first to be rid of it.`,
		Example:           `  ffrtmp nodes remove node-01jq3v8k2m`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNodes,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect(cmd)
			if err != nil {
				return err
			}
			n, err := resolveNode(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if err := c.Client.RemoveNode(cmd.Context(), n.ID); err != nil {
				return c.explain(err, "node "+n.ID)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "node %s removed; %s\n", nodeLabel(*n),
				runningNote(len(n.RunningJobs), "go back to the queue"))
			return nil
		},
	}
}

// countNoun is "1 slot", "4 slots".
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// runningNote says what becomes of a node's running jobs.
func runningNote(n int, fate string) string {
	switch n {
	case 0:
		return "it runs no jobs"
	case 1:
		return "the 1 job it runs will " + fate
	}
	return fmt.Sprintf("the %d jobs it runs will %s", n, fate)
}

// nodeLabel names a node for a message: "gpu-01 (node-01jq…)", or just the ID.
func nodeLabel(n api.Node) string {
	if n.Name == "" || n.Name == n.ID {
		return n.ID
	}
	return fmt.Sprintf("%s (%s)", n.Name, n.ID)
}

// resolveNode finds the node arg names: its ID, or else its name when exactly one node has it.
func resolveNode(ctx context.Context, c *conn, arg string) (*api.Node, error) {
	// "." and ".." cannot be IDs (nor URL path segments); they may still be names.
	if arg != "." && arg != ".." {
		n, err := c.Client.GetNode(ctx, arg)
		if err == nil {
			return n, nil
		}
		if !api.IsNotFound(err) {
			return nil, c.explain(err, "node "+arg)
		}
	}
	list, err := c.Client.ListNodes(ctx)
	if err != nil {
		return nil, c.explain(err, "nodes")
	}
	var ids []string
	var found api.Node
	for _, n := range list.Nodes {
		if n.Name == arg {
			ids = append(ids, n.ID)
			found = n
		}
	}
	switch len(ids) {
	case 0:
		return nil, notFoundError{fmt.Errorf("node %q not found on the master at %s: `ffrtmp nodes list` shows the nodes", arg, c.Master)}
	case 1:
		return &found, nil
	}
	return nil, usagef("%d nodes are named %q (%s): name one by its ID", len(ids), arg, strings.Join(ids, ", "))
}

// completeNodes offers the master's node IDs, with their names as descriptions.
func completeNodes(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeFromMaster(cmd, func(ctx context.Context, cl *api.Client) ([]cobra.Completion, error) {
		list, err := cl.ListNodes(ctx)
		if err != nil {
			return nil, err
		}
		var out []cobra.Completion
		for _, n := range list.Nodes {
			out = append(out, cobra.CompletionWithDesc(n.ID, n.Name+", "+string(n.Status)))
		}
		return out, nil
	})
}

// completionTimeout bounds a completion's request to the master: a shell waits for it, so an
// unreachable master must cost a moment, not --timeout.
const completionTimeout = 2 * time.Second

// completeFromMaster asks the master for completions through list; when the master cannot be
// reached or refuses, there are none (a completion never prints an error).
func completeFromMaster(cmd *cobra.Command, list func(context.Context, *api.Client) ([]cobra.Completion, error)) ([]cobra.Completion, cobra.ShellCompDirective) {
	c, err := connect(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	out, err := list(ctx, c.Client)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// nodesTable is the table of `nodes list`; now is when SEEN is measured from.
func nodesTable(nodes []api.Node, now time.Time) ([]string, [][]string) {
	header := []string{"NAME", "STATUS", "JOBS", "ENCODERS", "CPU%", "GPUS", "GPU%", "ENC/DEC", "MEM GiB", "TEMP", "POWER", "SEEN"}
	rows := make([][]string, 0, len(nodes))
	for _, n := range nodes {
		// IDs (node-<ULID>, 31 characters) do not fit beside the telemetry: names do, and
		// name a node wherever it is unique (sharedNames says where not).
		name := n.Name
		if name == "" {
			name = n.ID
		}
		g := sumGPUs(n)
		cpu := "-"
		if n.Telemetry != nil {
			cpu = pct(n.Telemetry.CPUPercent)
		}
		rows = append(rows, []string{
			name, string(n.Status),
			fmt.Sprintf("%d/%d", len(n.RunningJobs), nodeSlots(n)),
			dashIfEmpty(encoderFamilies(n.Capabilities.Encoders)),
			cpu, strconv.Itoa(g.count),
			g.cell(func(a gpuSum) string { return pct(a.util) }),
			g.cell(func(a gpuSum) string { return pctNum(a.enc) + "/" + pctNum(a.dec) }),
			g.cell(func(a gpuSum) string { return memGiBText(a.memUsedMB, a.memTotalMB) }),
			g.cell(func(a gpuSum) string { return fmt.Sprintf("%.0fC", a.temp) }),
			g.cell(func(a gpuSum) string { return fmt.Sprintf("%.0fW", a.power) }),
			seenAge(n.LastHeartbeat, now),
		})
	}
	return header, rows
}

// sharedNames lists the names that several nodes have, which therefore do not name a node.
func sharedNames(nodes []api.Node) []string {
	count := map[string]int{}
	for _, n := range nodes {
		count[n.Name]++
	}
	var out []string
	for name, c := range count {
		if c > 1 && name != "" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// gpuSum is a node's GPUs taken together: the busiest and hottest GPU, memory and power summed.
type gpuSum struct {
	count                 int
	reported              bool // some GPU telemetry came with the last heartbeat
	util, enc, dec, temp  float64
	power                 float64
	memUsedMB, memTotalMB int
}

func sumGPUs(n api.Node) gpuSum {
	s := gpuSum{count: len(n.Capabilities.GPUs)}
	for _, g := range n.Capabilities.GPUs {
		s.memTotalMB += g.MemoryTotalMB
	}
	if n.Telemetry == nil {
		return s
	}
	for _, t := range n.Telemetry.GPUs {
		s.reported = true
		s.util, s.enc, s.dec = max(s.util, t.Utilization), max(s.enc, t.EncoderUtilization), max(s.dec, t.DecoderUtilization)
		s.temp = max(s.temp, t.TemperatureC)
		s.power += t.PowerWatts
		s.memUsedMB += t.MemoryUsedMB
	}
	s.count = max(s.count, len(n.Telemetry.GPUs))
	return s
}

// cell formats a GPU column, or "-" when the node reported no GPU telemetry.
func (s gpuSum) cell(f func(gpuSum) string) string {
	if !s.reported {
		return "-"
	}
	return f(s)
}

// nodeSlots is how many jobs a node runs at once (the master counts 0 as 1).
func nodeSlots(n api.Node) int { return max(n.Capabilities.Slots, 1) }

// encoderFamilies shortens a node's video encoders to their families, in the order the node
// listed them: libx264 → x264, h264_nvenc and hevc_nvenc → nvenc. Audio encoders, which every
// node has, are left out.
func encoderFamilies(encoders []string) string {
	var out []string
	for _, e := range encoders {
		var f string
		switch {
		case e == "aac" || e == "libopus" || e == "opus":
			continue
		case strings.HasPrefix(e, "lib"):
			f = strings.TrimPrefix(e, "lib")
		case strings.Contains(e, "_"):
			f = e[strings.LastIndex(e, "_")+1:]
		default:
			f = e
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return strings.Join(out, ",")
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pct(p float64) string { return pctNum(p) + "%" }

func pctNum(p float64) string { return strconv.FormatFloat(p, 'f', 0, 64) }

// memGiBText is "used/total" in GiB; total is "?" when the node did not say.
func memGiBText(usedMB, totalMB int) string {
	total := "?"
	if totalMB > 0 {
		total = gibText(int64(totalMB) << 20)
	}
	return gibText(int64(usedMB)<<20) + "/" + total
}

// gibText formats bytes as GiB: one decimal below 100, none above.
func gibText(b int64) string {
	g := float64(b) / (1 << 30)
	if g >= 100 {
		return strconv.FormatFloat(g, 'f', 0, 64)
	}
	return strconv.FormatFloat(g, 'f', 1, 64)
}

// seenAge is how long ago t was, in the largest unit that fits: 45s, 12m, 3h, 5d.
func seenAge(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return jobAge(now.Sub(t))
}

// stampAgo is a timestamp with its age: "2025-03-01T09:00:00Z (3h ago)".
func stampAgo(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), seenAge(t, now))
}

// writeNode is `nodes get` as text: a key: value view, then a table of the node's GPUs.
func writeNode(w io.Writer, n api.Node, now time.Time) {
	c := n.Capabilities
	f := fieldWriter{w: w}
	f.field("ID", n.ID)
	f.field("Name", n.Name)
	f.field("Status", string(n.Status))
	f.field("Version", dashIfEmpty(n.Version))
	f.field("Address", dashIfEmpty(n.Address))
	f.list("Labels", sortedLabels(n.Labels))
	f.field("Registered", stampAgo(n.RegisteredAt, now))
	f.field("Last seen", stampAgo(n.LastHeartbeat, now))
	f.field("Jobs", fmt.Sprintf("%d running, %s", len(n.RunningJobs), countNoun(nodeSlots(n), "slot")))
	for _, id := range n.RunningJobs {
		f.field("", id)
	}
	cpus := fmt.Sprintf("%d CPUs", c.CPUs)
	if c.MemoryBytes > 0 {
		cpus += ", " + gibText(c.MemoryBytes) + " GiB memory"
	}
	f.field("Machine", cpus)
	if t := n.Telemetry; t != nil {
		load := pct(t.CPUPercent) + " CPU"
		if t.LoadAverage > 0 {
			load += fmt.Sprintf(", load %.2f", t.LoadAverage)
		}
		if t.MemoryUsed > 0 {
			load += ", " + gibText(t.MemoryUsed) + " GiB memory used"
		}
		f.field("Load", load)
	} else {
		f.field("Load", "- (no heartbeat with telemetry yet)")
	}
	if c.PixelRate > 0 {
		f.field("Pixel rate", fmt.Sprintf("%.1f Mpixel/s", float64(c.PixelRate)/1e6))
	}
	f.list("Encoders", c.Encoders)
	f.list("Decoders", c.Decoders)
	f.list("Hardware", c.Hardware)
	gpus := gpuRows(n)
	if len(gpus) == 0 {
		f.field("GPUs", "none")
		return
	}
	f.field("GPUs", strconv.Itoa(len(gpus)))
	fmt.Fprintln(w)
	writeTable(w, []string{"GPU", "NAME", "UTIL", "ENC", "DEC", "MEM GiB", "TEMP", "POWER", "NVENC", "ENC FPS"}, gpus)
}

// gpuRows is one row per GPU of n: its capabilities joined with its last telemetry by index.
func gpuRows(n api.Node) [][]string {
	caps := map[int]api.GPU{}
	for _, g := range n.Capabilities.GPUs {
		caps[g.Index] = g
	}
	tele := map[int]api.GPUTelemetry{}
	if n.Telemetry != nil {
		for _, t := range n.Telemetry.GPUs {
			tele[t.Index] = t
		}
	}
	idx := slices.Sorted(maps.Keys(caps))
	for i := range tele {
		if _, ok := caps[i]; !ok {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	rows := make([][]string, 0, len(idx))
	for _, i := range idx {
		g, t := caps[i], tele[i]
		_, ok := tele[i]
		cell := func(s string) string {
			if !ok {
				return "-"
			}
			return s
		}
		nvenc := "none"
		if g.EncoderSessions > 0 {
			nvenc = cell(strconv.Itoa(t.EncoderSessions)) + "/" + strconv.Itoa(g.EncoderSessions)
		}
		fps := "-"
		if t.EncoderFPS > 0 {
			fps = strconv.FormatFloat(t.EncoderFPS, 'f', 0, 64)
		}
		mem := "-"
		if ok {
			mem = memGiBText(t.MemoryUsedMB, g.MemoryTotalMB)
		} else if g.MemoryTotalMB > 0 {
			mem = "-/" + gibText(int64(g.MemoryTotalMB)<<20)
		}
		rows = append(rows, []string{strconv.Itoa(i), dashIfEmpty(g.Name),
			cell(pct(t.Utilization)), cell(pct(t.EncoderUtilization)), cell(pct(t.DecoderUtilization)),
			mem, cell(fmt.Sprintf("%.0fC", t.TemperatureC)), cell(fmt.Sprintf("%.0fW", t.PowerWatts)), nvenc, fps})
	}
	return rows
}

func sortedLabels(l map[string]string) []string {
	out := make([]string, 0, len(l))
	for _, k := range slices.Sorted(maps.Keys(l)) {
		out = append(out, k+"="+l[k])
	}
	return out
}

// fieldWriter writes the "Key:  value" lines of a get command, wrapping long values at
// spaces so that every line fits tableWidth.
type fieldWriter struct{ w io.Writer }

const fieldIndent = 14 // "Description:  " is the longest key

func (f fieldWriter) field(key, value string) {
	if key != "" {
		key += ":"
	}
	line := ""
	for _, word := range strings.Split(value, " ") {
		if line != "" && fieldIndent+len(line)+1+len(word) > tableWidth {
			fmt.Fprintf(f.w, "%-*s%s\n", fieldIndent, key, line)
			key, line = "", ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	fmt.Fprintf(f.w, "%-*s%s\n", fieldIndent, key, line)
}

// list writes items separated by commas, or "-" for none.
func (f fieldWriter) list(key string, items []string) {
	f.field(key, dashIfEmpty(strings.Join(items, ", ")))
}
