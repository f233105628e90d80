package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/api"
)

type jobsEventsFlags struct {
	after    int64
	follow   bool
	interval time.Duration
	format   *string
}

func newJobsEventsCmd() *cobra.Command {
	var f jobsEventsFlags
	cmd := &cobra.Command{
		Use:   "events ID",
		Short: "Show a job's history: state changes, progress samples, warnings, log lines",
		Long: `Show a job's history, oldest first: every state change (with who or what caused it),
progress samples, and the warnings and log lines its worker sent.

--after SEQ shows only later events. --follow keeps asking for new events until the job ends
(or Ctrl-C); with -o json it then writes one JSON event per line, with -o yaml one document
per event.`,
		Example: `  ffrtmp jobs events 01JD3F6T9QH2X8Z5M4N7K1B0CA
  ffrtmp jobs events 01JD3F6T9QH2X8Z5M4N7K1B0CA --follow
  ffrtmp jobs events 01JD3F6T9QH2X8Z5M4N7K1B0CA -o json | jq '.events[] | select(.type=="warning")'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeJobIDs,
		RunE:              func(cmd *cobra.Command, args []string) error { return f.run(cmd, args[0]) },
	}
	cmd.Flags().Int64Var(&f.after, "after", 0, "show only events with a sequence number above this")
	cmd.Flags().BoolVarP(&f.follow, "follow", "f", false, "keep showing new events until the job ends")
	cmd.Flags().DurationVar(&f.interval, "interval", time.Second, "how often --follow asks the master")
	f.format = addOutputFlag(cmd)
	return cmd
}

func (f *jobsEventsFlags) run(cmd *cobra.Command, id string) error {
	if err := checkFormat(*f.format); err != nil {
		return err
	}
	if err := checkJobsInterval(f.interval); err != nil {
		return err
	}
	if f.after < 0 {
		return usagef("--after %d: want an event sequence number, 0 or more", f.after)
	}
	c, err := connect(cmd)
	if err != nil {
		return err
	}
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	if !f.follow {
		var all []api.Event
		if _, _, err := jobEventPages(ctx, c, id, f.after, func(e api.Event) { all = append(all, e) }); err != nil {
			return err
		}
		if *f.format != formatTable {
			if all == nil {
				all = []api.Event{}
			}
			return render(out, *f.format, api.EventList{Events: all}, nil)
		}
		v := newJobView(jobNodeNames(ctx, c))
		fmt.Fprintln(out, jobEventHeader())
		for _, e := range all {
			fmt.Fprintln(out, jobEventLine(e, v))
		}
		return nil
	}
	return f.followEvents(ctx, c, id, out)
}

// followEvents streams events as they come until a state event says the job ended.
func (f *jobsEventsFlags) followEvents(ctx context.Context, c *conn, id string, out io.Writer) error {
	v := newJobView(jobNodeNames(ctx, c))
	header := *f.format == formatTable
	emit := func(e api.Event) {
		v.now = time.Now()
		if header {
			fmt.Fprintln(out, jobEventHeader())
			header = false
		}
		switch *f.format {
		case formatJSON:
			b, _ := json.Marshal(e)
			fmt.Fprintf(out, "%s\n", b)
		case formatYAML:
			fmt.Fprintln(out, "---")
			_ = printYAML(out, e)
		default:
			fmt.Fprintln(out, jobEventLine(e, v))
		}
	}
	after, state := f.after, api.Status("")
	for {
		next, last, err := jobEventPages(ctx, c, id, after, emit)
		if ctx.Err() != nil {
			return nil // Ctrl-C ends a follow
		}
		if err != nil {
			return err
		}
		after = next
		if last != "" {
			state = last
		}
		if state == "" {
			// Started past the job's last state change: ask the job itself (once).
			j, err := c.Client.GetJob(ctx, id)
			if err != nil {
				return c.explain(err, "job "+id)
			}
			state = j.Status
		}
		if state.Terminal() {
			return nil
		}
		if !jobsSleep(ctx, f.interval) {
			return nil
		}
	}
}

// jobEventPages calls fn for every event after seq after, following the pages; it returns the
// last seq seen (after when none) and the status of the last state event seen ("" when none).
func jobEventPages(ctx context.Context, c *conn, id string, after int64, fn func(api.Event)) (int64, api.Status, error) {
	var state api.Status
	for {
		page, err := c.Client.JobEvents(ctx, id, after, 0)
		if err != nil {
			return after, state, c.explain(err, "job "+id)
		}
		for _, e := range page.Events {
			fn(e)
			after = max(after, e.Seq)
			if e.Type == api.EventState {
				state = e.To
			}
		}
		if page.Next == 0 || len(page.Events) == 0 {
			return after, state, nil
		}
		after = page.Next
	}
}
