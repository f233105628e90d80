package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/internal/table"
)

// How jobs read in tables, the key: value view, event lines and progress lines. Everything
// here is a pure function of the job and a jobView, so golden tests pin the output.

// jobView is what rendering a job depends on besides the job: the time now (for AGE and
// "ago"), the time zone timestamps are shown in, and the node names the master knows.
type jobView struct {
	now   time.Time
	loc   *time.Location
	nodes map[string]string // node ID → name; IDs without a name show as themselves
}

// newJobView is the view for a user: now, local time, node names from nodes.
func newJobView(nodes map[string]string) jobView {
	return jobView{now: time.Now(), loc: time.Local, nodes: nodes}
}

// node names node id for a person: its name when the master has one, else the ID.
func (v jobView) node(id string) string {
	if n := v.nodes[id]; n != "" {
		return n
	}
	return id
}

// stamp is a timestamp in the view's zone.
func (v jobView) stamp(t time.Time) string {
	loc := v.loc
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// jobListHeader are the columns of `jobs list` and of submit's one-row table.
var jobListHeader = []string{"ID", "STATUS", "QUEUE", "PRI", "WORK", "PROGRESS", "FPS", "NODE", "AGE"}

// jobRows is the table of jobs; ID is never cut: NODE, then WORK, give way first. A TENANT
// column follows STATUS when the jobs belong to several tenants (an admin's view of a shared
// farm); with one tenant it would repeat what the reader knows.
func jobRows(jobs []api.Job, v jobView) ([]string, [][]string) {
	rows := make([][]string, 0, len(jobs))
	tenants := map[string]bool{}
	for _, j := range jobs {
		tenants[jobTenant(j)] = true
		node := "-"
		if j.Node != "" {
			node = v.node(j.Node)
		}
		rows = append(rows, []string{j.ID, string(j.Status), j.Queue, fmt.Sprint(j.Priority), jobWork(j),
			jobPercent(j), jobFPS(j), node, jobAge(v.now.Sub(j.CreatedAt))})
	}
	if len(tenants) < 2 {
		jobShrinkColumns(jobListHeader, rows, tableWidth, 7, 4)
		return jobListHeader, rows
	}
	header := slices.Insert(slices.Clone(jobListHeader), 2, "TENANT")
	for i, j := range jobs {
		rows[i] = slices.Insert(rows[i], 2, jobTenant(j))
	}
	jobShrinkColumns(header, rows, tableWidth, 8, 5, 2)
	return header, rows
}

// jobTenant is the tenant that owns j (jobs from before tenants carry none: the default).
func jobTenant(j api.Job) string {
	if j.Tenant == "" {
		return api.DefaultTenant
	}
	return j.Tenant
}

// jobShrinkColumns cuts the widest of the given columns, a rune at a time and to no less than
// 8 runes, until the table fits in width, so that writeTable has no need to cut the others
// (the job ID above all).
func jobShrinkColumns(header []string, rows [][]string, width int, cols ...int) {
	const gap, least = 2, 8
	widths := table.Widths(header, rows)
	total := gap * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	for ; total > width; total-- {
		widest := -1
		for _, c := range cols {
			if widths[c] > least && (widest < 0 || widths[c] > widths[widest]) {
				widest = c
			}
		}
		if widest < 0 {
			break
		}
		widths[widest]--
	}
	for _, c := range cols {
		for _, r := range rows {
			r[c] = table.Fit(r[c], widths[c])
		}
	}
}

// jobWork is what a job runs: its scenario, its preset, or "spec".
func jobWork(j api.Job) string {
	switch {
	case j.Scenario != "":
		return j.Scenario
	case j.Preset != "":
		return j.Preset
	}
	return "spec"
}

func jobPercent(j api.Job) string {
	switch {
	case j.Status == api.StatusCompleted:
		return "100%"
	case j.Progress != nil:
		return fmt.Sprintf("%.1f%%", j.Progress.Percent)
	}
	return "-"
}

func jobFPS(j api.Job) string {
	switch {
	case j.Status == api.StatusCompleted && j.Result != nil && j.Result.FPS > 0:
		return jobFPSText(j.Result.FPS)
	case j.Progress != nil && !j.Status.Terminal():
		return jobFPSText(j.Progress.FPS)
	}
	return "-"
}

func jobFPSText(f float64) string {
	if f < 10 {
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.0f", f)
}

// jobAge is a short age: 45s, 12m, 5h, 3d.
func jobAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// jobSeconds turns a float number of seconds into a Duration.
func jobSeconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// jobProgressText is a progress sample in one line: 45.0%  frame 1350  120.0 fps  4.00x  ETA 0:12.
func jobProgressText(p *api.Progress) string {
	s := fmt.Sprintf("%.1f%%  frame %d  %.1f fps  %.2fx", p.Percent, p.Frames, p.FPS, p.Speed)
	if p.ETA != nil {
		s += "  ETA " + clock(jobSeconds(*p.ETA))
	}
	return s
}

func jobBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, "kMGTP"[i-1])
}

// ---- jobs get ----

// jobDetailWidth is the width of the labels in the key: value view.
const jobDetailWidth = 14

// writeJobDetail writes the key: value view of `jobs get`, every line within tableWidth.
func writeJobDetail(w io.Writer, j api.Job, v jobView) {
	line := func(key, value string) {
		if value == "" {
			return
		}
		label := ""
		if key != "" {
			label = key + ":"
		}
		for _, l := range jobWrap(value, tableWidth-jobDetailWidth) {
			fmt.Fprintf(w, "%-*s%s\n", jobDetailWidth, label, l)
			label = ""
		}
	}
	lines := func(key string, values []string) {
		for i, val := range values {
			if i > 0 {
				key = ""
			}
			line(key, val)
		}
	}
	line("ID", j.ID)
	if t := jobTenant(j); t != api.DefaultTenant {
		line("Tenant", t)
	}
	line("Status", jobStatusText(j, v))
	line("Queue", fmt.Sprintf("%s, priority %d", j.Queue, j.Priority))
	line("Work", jobWorkText(j))
	line("Input", jobInputText(j))
	line("Output", j.Output)
	lines("Outputs", jobOutputsText(j.Spec))
	if j.Node != "" {
		node := v.node(j.Node)
		if node != j.Node {
			node += " (" + j.Node + ")"
		}
		if j.GPU != nil {
			node += fmt.Sprintf(", GPU %d", *j.GPU)
		}
		line("Node", node)
	}
	line("Attempts", fmt.Sprintf("%d (max retries %d)", j.Attempts, j.MaxRetries))
	if p := j.Progress; p != nil && !j.Status.Terminal() {
		line("Progress", jobProgressText(p)+fmt.Sprintf("  (%s ago)", jobAge(v.now.Sub(p.At))))
	}
	line("Requirements", jobRequirementsText(j.Requirements))
	line("Labels", jobLabelsText(j.Labels))
	if j.MaxRunTime > 0 {
		line("Max run time", time.Duration(j.MaxRunTime).String())
	}
	line("Callback", j.CallbackURL)
	times := []struct {
		key string
		t   *time.Time
	}{{"Created", &j.CreatedAt}, {"Assigned", j.AssignedAt}, {"Started", j.StartedAt}, {"Finished", j.FinishedAt}}
	for _, t := range times {
		if t.t != nil && !t.t.IsZero() {
			line(t.key, fmt.Sprintf("%s (%s ago)", v.stamp(*t.t), jobAge(v.now.Sub(*t.t))))
		}
	}
	if e := j.Error; e != nil {
		kind := "terminal"
		if e.Transient {
			kind = "transient"
		}
		line("Error", fmt.Sprintf("%s (%s, %s)", e.Message, e.Code, kind))
	}
	if r := j.Result; r != nil {
		writeJobResult(line, lines, r)
	}
}

func writeJobResult(line func(string, string), lines func(string, []string), r *api.Result) {
	sum := fmt.Sprintf("%d frames in %.1fs, %s fps, %.2fx realtime", r.Frames, r.Seconds, jobFPSText(r.FPS), r.Speed)
	if r.Bytes > 0 {
		sum += ", " + jobBytes(r.Bytes)
	}
	line("Result", sum)
	var enc []string
	for _, name := range slices.Sorted(maps.Keys(r.Encoders)) {
		enc = append(enc, name+" "+r.Encoders[name])
	}
	line("Encoders", strings.Join(enc, ", "))
	line("Decoder", r.Decoder)
	line("Fallback", r.Fallback)
	var dropped []string
	for _, t := range r.DroppedTracks {
		dropped = append(dropped, fmt.Sprintf("stream %d (%s): %s", t.Stream, t.Media, t.Reason))
	}
	lines("Dropped", dropped)
	var written []string // a ladder's renditions share a folder: name it once
	for _, o := range r.Outputs {
		if !slices.Contains(written, o) {
			written = append(written, o)
		}
	}
	lines("Written", written)
}

func jobStatusText(j api.Job, v jobView) string {
	s := string(j.Status)
	switch {
	case j.Phase != "" && !j.Status.Terminal():
		s += " (" + string(j.Phase) + ")"
	case j.Status == api.StatusRetrying && j.RetryAt != nil:
		s += fmt.Sprintf(" (back in the queue at %s)", v.stamp(*j.RetryAt))
	}
	return s
}

func jobWorkText(j api.Job) string {
	var s string
	switch {
	case j.Scenario != "":
		s = "scenario " + j.Scenario
	case j.Preset != "":
		s = "preset " + j.Preset
	default:
		return "spec"
	}
	if p := j.Parameters; p != nil {
		var par []string
		if p.Duration > 0 {
			par = append(par, fmt.Sprintf("duration %gs", p.Duration))
		}
		if p.Bitrate > 0 {
			par = append(par, "bitrate "+p.Bitrate.String())
		}
		if p.Encoder != "" {
			par = append(par, "encoder "+p.Encoder)
		}
		if p.EncoderPreset != "" {
			par = append(par, "encoder preset "+p.EncoderPreset)
		}
		if p.Hardware != "" {
			par = append(par, "hardware "+p.Hardware)
		}
		if len(par) > 0 {
			s += " (" + strings.Join(par, ", ") + ")"
		}
	}
	return s
}

func jobInputText(j api.Job) string {
	if j.Input != "" {
		return j.Input
	}
	if syn := j.Spec.Input.Synthetic; syn != nil {
		s := fmt.Sprintf("synthetic %dx%d", syn.Width, syn.Height)
		if !syn.FPS.IsZero() {
			s += " at " + syn.FPS.String() + " fps"
		}
		return s + fmt.Sprintf(", %gs", syn.Duration)
	}
	return j.Spec.Input.URL
}

// jobOutputsText is one line per output of the spec the worker runs.
func jobOutputsText(s spec.Spec) []string {
	var out []string
	for i, o := range s.Outputs {
		name := o.Name
		if name == "" {
			name = fmt.Sprintf("out%d", i)
		}
		enc := "libx264"
		if o.Video != nil {
			if o.Video.Codec != "" {
				enc = o.Video.Codec
			}
			if o.Video.Width > 0 && o.Video.Height > 0 {
				enc += fmt.Sprintf(" %dx%d", o.Video.Width, o.Video.Height)
			} else if o.Video.Height > 0 {
				enc += fmt.Sprintf(" %dp", o.Video.Height)
			}
			if o.Video.Bitrate > 0 {
				enc += " " + o.Video.Bitrate.String()
			}
		}
		where := o.Target
		switch {
		case o.Container == "null":
			where = "discarded (null)"
		case o.Container != "":
			where = o.Container + " " + where
		}
		out = append(out, fmt.Sprintf("%s: %s → %s", name, enc, where))
	}
	return out
}

func jobRequirementsText(r api.Requirements) string {
	var s []string
	if r.Encoder != "" {
		s = append(s, "encoder "+r.Encoder)
	}
	if r.Hardware != "" {
		s = append(s, "hardware "+r.Hardware)
	}
	if r.MinGPUMemoryMB > 0 {
		s = append(s, fmt.Sprintf("GPU memory ≥ %d MB", r.MinGPUMemoryMB))
	}
	if len(r.Labels) > 0 {
		s = append(s, "labels "+jobLabelsText(r.Labels))
	}
	return strings.Join(s, ", ")
}

func jobLabelsText(l map[string]string) string {
	var s []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		s = append(s, k+"="+l[k])
	}
	return strings.Join(s, ",")
}

// ---- jobs events ----

// jobEventHeader and jobEventLine are fixed-width, so `events --follow` can stream rows.
const jobEventDetailWidth = tableWidth - 5 - 2 - 19 - 2 - 8 - 2

func jobEventHeader() string {
	return fmt.Sprintf("%-5s  %-19s  %-8s  %s", "SEQ", "TIME", "TYPE", "DETAIL")
}

// jobEventLine is an event as table lines: a long detail wraps onto lines of its own.
func jobEventLine(e api.Event, v jobView) string {
	var b strings.Builder
	for i, d := range jobWrap(jobEventDetail(e, v), jobEventDetailWidth) {
		if i == 0 {
			fmt.Fprintf(&b, "%-5d  %-19s  %-8s  %s", e.Seq, v.stamp(e.Time), e.Type, d)
		} else {
			fmt.Fprintf(&b, "\n%-37s%s", "", d)
		}
	}
	return b.String()
}

// jobWrap breaks s into lines of at most width runes, between words where it can.
func jobWrap(s string, width int) []string {
	if utf8.RuneCountInString(s) <= width {
		return []string{s}
	}
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		if len(cur) > 0 && len(cur)+1+len(w) > width {
			lines, cur = append(lines, string(cur)), nil
		}
		if len(cur) > 0 {
			cur = append(cur, ' ')
		}
		for len(cur)+len(w) > width {
			n := width - len(cur)
			lines, cur, w = append(lines, string(append(cur, w[:n]...))), nil, w[n:]
		}
		cur = append(cur, w...)
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

func jobEventDetail(e api.Event, v jobView) string {
	var s string
	switch e.Type {
	case api.EventState:
		if e.From != "" {
			s = string(e.From) + " → "
		}
		s += string(e.To)
		if e.Message != "" {
			s += ": " + e.Message
		}
	case api.EventProgress:
		if e.Progress != nil {
			s = jobProgressText(e.Progress)
		}
		if e.Node != "" {
			s += " on " + v.node(e.Node)
		}
	default:
		s = e.Message
	}
	if e.Error != nil && e.Type == api.EventState {
		if strings.Contains(s, e.Error.Message) {
			s += " (" + e.Error.Code + ")"
		} else {
			s += fmt.Sprintf(" (%s: %s)", e.Error.Code, e.Error.Message)
		}
	}
	return s
}

// ---- progress lines (jobs watch, submit --wait) ----

// jobWatchLine is a job's progress in one plain line, without the timestamp: status, percent,
// fps, speed, ETA, node; the error or result when it has ended. The display cuts it to fit.
func jobWatchLine(j api.Job, v jobView) string {
	parts := []string{j.ID, jobStatusWord(j)}
	switch {
	case j.Status == api.StatusCompleted:
		parts = append(parts, "100%")
		if r := j.Result; r != nil {
			parts = append(parts, fmt.Sprintf("%s fps", jobFPSText(r.FPS)), fmt.Sprintf("%.2fx", r.Speed),
				fmt.Sprintf("in %.1fs", r.Seconds))
		}
	case j.Status == api.StatusQueued:
		parts = append(parts, fmt.Sprintf("queue %s, priority %d", j.Queue, j.Priority))
	case j.Progress != nil && !j.Status.Terminal():
		p := j.Progress
		parts = append(parts, fmt.Sprintf("%.1f%%", p.Percent), fmt.Sprintf("%s fps", jobFPSText(p.FPS)),
			fmt.Sprintf("%.2fx", p.Speed))
		if p.ETA != nil {
			parts = append(parts, "ETA "+clock(jobSeconds(*p.ETA)))
		}
	case j.Status == api.StatusRetrying && j.RetryAt != nil:
		parts = append(parts, "retry in "+clock(max(j.RetryAt.Sub(v.now), 0)))
	}
	if j.Node != "" && !j.Status.Terminal() || j.Status == api.StatusCompleted && j.Node != "" {
		parts = append(parts, "on "+v.node(j.Node))
	}
	if e := j.Error; e != nil && (j.Status == api.StatusFailed || j.Status == api.StatusRetrying) {
		parts = append(parts, fmt.Sprintf("error %s: %s", e.Code, e.Message))
	}
	return strings.Join(parts, "  ")
}

// jobStatusWord is the status, with the phase of a running job when it is not the usual
// transcoding: running/probing, running/finalizing.
func jobStatusWord(j api.Job) string {
	if j.Status == api.StatusRunning && j.Phase != "" && j.Phase != api.PhaseTranscoding {
		return string(j.Status) + "/" + string(j.Phase)
	}
	return string(j.Status)
}

// jobBarRest is the room a bar line keeps after the bar for fps, speed, ETA and node.
const jobBarRest = 40

// jobBarLine is a job's progress as a bar, in less than width columns (for terminals). Every
// line of a board has its bar at the same place and of the same size:
//
//	01J…  running    [====>     ]   45.0%  120 fps  4.00x  ETA 0:12  node-a
func jobBarLine(j api.Job, v jobView, width int) string {
	pct, rest := -1.0, ""
	switch {
	case j.Status == api.StatusCompleted:
		pct = 100
		if r := j.Result; r != nil {
			rest = fmt.Sprintf("%s fps  %.2fx  in %.1fs", jobFPSText(r.FPS), r.Speed, r.Seconds)
		}
	case j.Progress != nil && !j.Status.Terminal():
		p := j.Progress
		pct = p.Percent
		rest = fmt.Sprintf("%s fps  %.2fx", jobFPSText(p.FPS), p.Speed)
		if p.ETA != nil {
			rest += "  ETA " + clock(jobSeconds(*p.ETA))
		}
	case j.Status == api.StatusQueued:
		rest = fmt.Sprintf("queue %s, priority %d", j.Queue, j.Priority)
	case j.Status == api.StatusRetrying && j.RetryAt != nil:
		rest = "retry in " + clock(max(j.RetryAt.Sub(v.now), 0))
	case j.Error != nil:
		rest = fmt.Sprintf("%s: %s", j.Error.Code, j.Error.Message)
	}
	if j.Node != "" && (!j.Status.Terminal() || j.Status == api.StatusCompleted) {
		rest += "  " + v.node(j.Node)
	}
	head := fmt.Sprintf("%s  %-9s  ", j.ID, jobStatusWord(j))
	pctText := "     -    "
	if pct >= 0 {
		pctText = fmt.Sprintf("  %5.1f%%  ", pct)
	}
	bar := min(max(width-1-len(head)-len(pctText)-jobBarRest, 10), 40)
	return table.Fit(head+jobProgressBar(max(pct, 0), bar)+pctText+strings.TrimLeft(rest, " "), max(width-1, 20))
}

// jobProgressBar draws pct in n columns: [=====>    ].
func jobProgressBar(pct float64, n int) string {
	inner := n - 2
	done := int(min(max(pct, 0), 100) / 100 * float64(inner))
	var b strings.Builder
	b.WriteByte('[')
	b.WriteString(strings.Repeat("=", done))
	if done < inner {
		if done > 0 {
			b.WriteByte('>')
			done++
		}
		b.WriteString(strings.Repeat(" ", inner-done))
	}
	b.WriteByte(']')
	return b.String()
}
