package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ffrtmp/ffrtmp/api"
)

// newJobsCmd is `ffrtmp jobs`: submit, list, get, watch, cancel, retry and events, against
// the master that the connection flags (or FFRTMP_*, the config file, ./ffrtmp-data) name.
func newJobsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Submit, list, watch and manage jobs on the master",
		Long: `Jobs are transcodes the master queues and its workers run.

The master and API key come from --master/--api-key, FFRTMP_MASTER/FFRTMP_API_KEY, the config
file (~/.config/ffrtmp/config.yaml, or --config/FFRTMP_CONFIG), or, run in the folder where
` + "`ffrtmp run`" + ` keeps ffrtmp-data/, from that folder.

Exit codes: 0 ok, 1 the operation or the job failed, 2 usage, 3 not found, 4 API key refused.`,
		Example: `  ffrtmp jobs submit --scenario 720p30-h264 --duration 3 --wait
  ffrtmp jobs submit --preset abr-720p --input in.mp4 --output out/ --queue high
  ffrtmp jobs list --status running,queued
  ffrtmp jobs watch
  ffrtmp jobs get 01JD3F6T9QH2X8Z5M4N7K1B0CA -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	addClientFlags(cmd)
	cmd.AddCommand(newJobsSubmitCmd(), newJobsListCmd(), newJobsGetCmd(), newJobsWatchCmd(),
		newJobsActionCmd("cancel"), newJobsActionCmd("retry"), newJobsEventsCmd())
	return cmd
}

// jobStatusNames are the statuses, for help text and completion.
func jobStatusNames() []string {
	var s []string
	for _, st := range api.Statuses {
		s = append(s, string(st))
	}
	return s
}

// checkJobsInterval refuses a polling interval that is not positive.
func checkJobsInterval(d time.Duration) error {
	if d <= 0 {
		return usagef("--interval %s: want a positive duration like 1s or 500ms", d)
	}
	return nil
}

// jobsTerminal reports whether w is a terminal, and its file descriptor.
func jobsTerminal(w any) (int, bool) {
	f, ok := w.(*os.File)
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// ---- jobs list ----

type jobsListFlags struct {
	status              []string
	queue, node, cursor string
	tenant, text        string
	since, until        string
	limit               int
	all, quiet          bool
	format              *string
}

func newJobsListCmd() *cobra.Command {
	var f jobsListFlags
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List jobs, newest first",
		Long: `List jobs, newest first, one page at a time (--limit, default the master's 50).

When there are more, the table is followed (on stderr) by the --cursor that fetches the next
page; --all follows every page. --since and --until take an RFC 3339 time or an age such as
30m, 2h or 7d ("created at most 2h ago"). --node takes a node ID or name. --text finds jobs
by their ID, input, outputs, preset, scenario, node, error or labels (key=value), ignoring
case; a search that is sparse on a big farm may print short or empty pages before --all
reaches the oldest job.

A submitter's key lists only its tenant's jobs; an admin's lists every tenant's, and
--tenant keeps one. The table has a TENANT column when the page holds several tenants.`,
		Example: `  ffrtmp jobs list
  ffrtmp jobs list --status running --status queued --queue live
  ffrtmp jobs list --status failed --since 24h -o json | jq -r '.jobs[].id'
  ffrtmp jobs list --text holiday.mov --all
  ffrtmp jobs list --all -q`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(cmd) },
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.status, "status", nil, "only jobs in these states (repeat or comma-separate): "+strings.Join(jobStatusNames(), ", "))
	fl.StringVar(&f.queue, "queue", "", "only jobs of this queue: "+strings.Join(api.Queues, ", "))
	fl.StringVar(&f.node, "node", "", "only jobs placed on this node (ID or name)")
	fl.StringVar(&f.tenant, "tenant", "", "only jobs of this tenant (admin keys; a submitter sees only its own)")
	fl.StringVar(&f.since, "since", "", "only jobs created at or after this time (RFC 3339, or an age like 1h)")
	fl.StringVar(&f.until, "until", "", "only jobs created before this time (RFC 3339, or an age like 1h)")
	fl.StringVar(&f.text, "text", "", "only jobs with this text in their ID, input, outputs, preset, scenario, node, error or labels, ignoring case")
	fl.IntVar(&f.limit, "limit", 0, "jobs per page (default: the master's, 50; at most 1000)")
	fl.StringVar(&f.cursor, "cursor", "", "start at this page (the next cursor a previous list printed)")
	fl.BoolVar(&f.all, "all", false, "follow the pages to the last one")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only job IDs")
	f.format = addOutputFlag(cmd)
	jobsCompleteFlag(cmd, "status", jobStatusNames())
	jobsCompleteFlag(cmd, "queue", api.Queues)
	return cmd
}

func (f *jobsListFlags) options(now time.Time) (api.ListJobsOptions, error) {
	opts := api.ListJobsOptions{Queue: f.queue, Node: f.node, Tenant: f.tenant, Text: f.text, Cursor: f.cursor, Limit: f.limit}
	for _, s := range f.status {
		st := api.Status(strings.TrimSpace(s))
		if !st.Valid() {
			return opts, usagef("--status %q: want one of %s", s, strings.Join(jobStatusNames(), ", "))
		}
		opts.Status = append(opts.Status, st)
	}
	if f.queue != "" && !slices.Contains(api.Queues, f.queue) {
		return opts, usagef("--queue %q: want one of %s", f.queue, strings.Join(api.Queues, ", "))
	}
	if f.limit < 0 {
		return opts, usagef("--limit %d: want a page size of at least 1", f.limit)
	}
	var err error
	if opts.CreatedAfter, err = parseJobsWhen("since", f.since, now); err != nil {
		return opts, err
	}
	if opts.CreatedBefore, err = parseJobsWhen("until", f.until, now); err != nil {
		return opts, err
	}
	return opts, nil
}

// parseJobsWhen reads an RFC 3339 time or an age ("90s", "2h", "7d": that long before now).
func parseJobsWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n float64
		n, err = strconv.ParseFloat(days, 64)
		d = time.Duration(n * 24 * float64(time.Hour))
	}
	if err != nil || d < 0 {
		return time.Time{}, usagef("--%s %q: want an RFC 3339 time (2026-01-02T15:04:05Z) or an age like 30m, 2h or 7d", flag, s)
	}
	return now.Add(-d), nil
}

func (f *jobsListFlags) run(cmd *cobra.Command) error {
	if err := checkFormat(*f.format); err != nil {
		return err
	}
	opts, err := f.options(time.Now())
	if err != nil {
		return err
	}
	c, err := connect(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	nodes := jobNodeNames(ctx, c)
	if f.node != "" {
		opts.Node = jobNodeID(f.node, nodes)
	}
	var list api.JobList
	if f.all {
		err = c.Client.ListAllJobs(ctx, opts, func(j api.Job) error {
			list.Jobs = append(list.Jobs, j)
			return nil
		})
	} else {
		var page *api.JobList
		if page, err = c.Client.ListJobs(ctx, opts); err == nil {
			list = *page
		}
	}
	if err != nil {
		return c.explain(err, "")
	}
	if list.Jobs == nil {
		list.Jobs = []api.Job{}
	}
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	switch {
	case f.quiet:
		for _, j := range list.Jobs {
			fmt.Fprintln(out, j.ID)
		}
	case *f.format != formatTable:
		return render(out, *f.format, list, nil)
	case len(list.Jobs) == 0 && list.NextCursor != "":
		fmt.Fprintln(errOut, "no jobs match on this page (the master examined as many as one page may)")
	case len(list.Jobs) == 0:
		fmt.Fprintln(errOut, "no jobs match")
	default:
		header, rows := jobRows(list.Jobs, newJobView(nodes))
		writeTable(out, header, rows)
	}
	if list.NextCursor != "" && *f.format == formatTable {
		fmt.Fprintf(errOut, "more jobs: add --cursor %s for the next page, or --all for every page\n", list.NextCursor)
	}
	return nil
}

// jobNodeNames maps the master's node IDs to their names. It is a nicety for tables: when the
// master does not answer, jobs show node IDs instead.
func jobNodeNames(ctx context.Context, c *conn) map[string]string {
	list, err := c.Client.ListNodes(ctx)
	if err != nil {
		return nil
	}
	m := make(map[string]string, len(list.Nodes))
	for _, n := range list.Nodes {
		m[n.ID] = n.Name
	}
	return m
}

// jobNodeID turns a node name into its ID when exactly one node has that name and none has
// it as its ID.
func jobNodeID(s string, nodes map[string]string) string {
	if _, ok := nodes[s]; ok {
		return s
	}
	id := ""
	for nid, name := range nodes {
		if name == s {
			if id != "" {
				return s
			}
			id = nid
		}
	}
	if id == "" {
		return s
	}
	return id
}

// ---- jobs get ----

func newJobsGetCmd() *cobra.Command {
	var format *string
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show one job: status, progress, node, error, result",
		Long: `Show one job. The table view is a readable summary: status and phase, queue and priority,
what it runs and where it writes, its node and attempts, progress with ETA, timestamps, the
error of a failed job, and the result of a finished one with the encoders that really ran
(after any hardware fallback). -o json or -o yaml print the master's full job object.`,
		Example: `  ffrtmp jobs get 01JD3F6T9QH2X8Z5M4N7K1B0CA
  ffrtmp jobs get 01JD3F6T9QH2X8Z5M4N7K1B0CA -o json | jq .result.encoders`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeJobIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			c, err := connect(cmd)
			if err != nil {
				return err
			}
			j, err := c.Client.GetJob(cmd.Context(), args[0])
			if err != nil {
				return c.explain(err, "job "+args[0])
			}
			if *format != formatTable {
				return render(cmd.OutOrStdout(), *format, j, nil)
			}
			writeJobDetail(cmd.OutOrStdout(), *j, newJobView(jobNodeNames(cmd.Context(), c)))
			return nil
		},
	}
	format = addOutputFlag(cmd)
	return cmd
}

// ---- jobs cancel / retry ----

func newJobsActionCmd(action string) *cobra.Command {
	var format *string
	cmd := &cobra.Command{
		Use:               action + " ID...",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeJobIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			return jobsAction(cmd, action, args, *format)
		},
	}
	switch action {
	case "cancel":
		cmd.Short = "Cancel jobs that have not finished"
		cmd.Long = `Cancel jobs that have not finished. A running job's worker stops it at its next heartbeat
or progress report. Prints each job's new status; a job that already ended cannot be canceled
(exit 1), an unknown ID exits 3. The others are still canceled.`
		cmd.Example = `  ffrtmp jobs cancel 01JD3F6T9QH2X8Z5M4N7K1B0CA
  ffrtmp jobs list --status queued --queue batch -q | xargs ffrtmp jobs cancel`
	case "retry":
		cmd.Short = "Queue failed or canceled jobs again"
		cmd.Long = `Queue failed or canceled jobs again, with a fresh retry budget. Prints each job's new status;
a job that is not failed or canceled cannot be retried (exit 1), an unknown ID exits 3.`
		cmd.Example = `  ffrtmp jobs retry 01JD3F6T9QH2X8Z5M4N7K1B0CA
  ffrtmp jobs list --status failed --since 1h -q | xargs ffrtmp jobs retry`
	}
	format = addOutputFlag(cmd)
	return cmd
}

// jobsAction cancels or retries each job, printing each new status as it goes; the errors
// come back together (the exit code is the kind exitCode ranks first: not found before
// failed).
func jobsAction(cmd *cobra.Command, action string, ids []string, format string) error {
	c, err := connect(cmd)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	var done []api.Job
	var errs []error
	for _, id := range ids {
		var j *api.Job
		if action == "cancel" {
			j, err = c.Client.CancelJob(cmd.Context(), id)
		} else {
			j, err = c.Client.RetryJob(cmd.Context(), id)
		}
		var e *api.Error
		switch {
		case errors.As(err, &e) && e.Status == http.StatusConflict && strings.Contains(e.Message, id):
			errs = append(errs, fmt.Errorf("cannot %s: %s", action, e.Message))
		case errors.As(err, &e) && e.Status == http.StatusConflict:
			errs = append(errs, fmt.Errorf("cannot %s job %s: %s", action, id, e.Message))
		case err != nil:
			errs = append(errs, c.explain(err, "job "+id))
		case format == formatTable:
			fmt.Fprintf(out, "%s  %s\n", j.ID, j.Status)
		default:
			done = append(done, *j)
		}
	}
	if format != formatTable {
		if done == nil {
			done = []api.Job{}
		}
		if err := render(out, format, api.JobList{Jobs: done}, nil); err != nil {
			return err
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	if len(errs) > 1 {
		return jobsErrors(errs)
	}
	return nil
}

// jobsErrors are the failures of a command on several jobs, one line each as main prints
// them; exitCode finds the most telling of them through Unwrap.
type jobsErrors []error

func (e jobsErrors) Error() string {
	var s []string
	for _, err := range e {
		s = append(s, err.Error())
	}
	return strings.Join(s, "\nffrtmp: ")
}

func (e jobsErrors) Unwrap() []error { return e }

// ---- completion ----

// completeJobIDs offers the IDs of the latest jobs, with their status and work.
func completeJobIDs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	c, err := connect(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	list, err := c.Client.ListJobs(cmd.Context(), api.ListJobsOptions{Limit: 100})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var ids []string
	for _, j := range list.Jobs {
		if strings.HasPrefix(j.ID, toComplete) && !slices.Contains(args, j.ID) {
			ids = append(ids, j.ID+"\t"+string(j.Status)+" "+jobWork(j))
		}
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}

// jobsCompleteFlag completes flag name from a fixed list.
func jobsCompleteFlag(cmd *cobra.Command, name string, values []string) {
	_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}
