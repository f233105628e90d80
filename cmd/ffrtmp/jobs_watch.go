package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/table"
)

// Following jobs: `jobs watch` and `jobs submit --wait` poll the master and hand what they
// see to a jobsDisplay, which draws bars in place on a terminal and writes timestamped lines
// elsewhere.

type jobsWatchFlags struct {
	interval     time.Duration
	exitWhenIdle bool
}

func newJobsWatchCmd() *cobra.Command {
	var f jobsWatchFlags
	cmd := &cobra.Command{
		Use:   "watch [ID]",
		Short: "Follow one job, or every active job, with live progress bars",
		Long: `Follow a job's progress: status, percent, fps, speed, ETA and node.

On a terminal, progress bars are redrawn in place; otherwise (a pipe, a file, CI logs) one
timestamped line is written per change. With an ID, watch ends when the job ends and exits
0 when it completed, 1 when it failed or was canceled. Without one, it shows every job that
is assigned, running or retrying, and the newest queued ones, until Ctrl-C (or, with
--exit-when-idle, until none is left).`,
		Example: `  ffrtmp jobs watch 01JD3F6T9QH2X8Z5M4N7K1B0CA
  ffrtmp jobs watch
  ffrtmp jobs watch --exit-when-idle --interval 5s > farm.log`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeJobIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkJobsInterval(f.interval); err != nil {
				return err
			}
			c, err := connect(cmd)
			if err != nil {
				return err
			}
			d := newJobsDisplay(cmd.OutOrStdout(), len(args) == 0)
			if len(args) == 1 {
				j, err := followJob(cmd.Context(), c, args[0], f.interval, d)
				if err != nil {
					return err
				}
				return jobOutcome(j)
			}
			return watchAllJobs(cmd.Context(), c, f, d)
		},
	}
	cmd.Flags().DurationVar(&f.interval, "interval", time.Second, "how often to redraw the board (and to ask a master without an event stream)")
	cmd.Flags().BoolVar(&f.exitWhenIdle, "exit-when-idle", false, "without an ID: exit once no job is queued, assigned, running or retrying")
	return cmd
}

// followJob shows job id, from the master's event stream, until it ends; it returns the
// final job. Interrupted, it says how to pick the job up again. A master without
// GET /v1/events is polled every interval.
func followJob(ctx context.Context, c *conn, id string, interval time.Duration, d jobsDisplay) (api.Job, error) {
	defer d.close()
	names := newJobNamer(c)
	var last *api.Job
	// show shows j and reports whether it ended.
	show := func(j api.Job) bool {
		last = &j
		v := names.view(ctx, j)
		if j.Status.Terminal() {
			d.show(v, nil, []api.Job{j}, "")
			return true
		}
		d.show(v, []api.Job{j}, nil, "")
		return false
	}
	// reload reads the job whole (at the start, after events were missed).
	reload := func() (bool, error) {
		for {
			j, err := c.Client.GetJob(ctx, id)
			switch {
			case ctx.Err() != nil:
				return false, ctx.Err()
			case err != nil:
				wait, ok := jobsRetryLater(err, interval)
				if !ok {
					return false, c.explain(err, "job "+id)
				}
				jobsSleep(ctx, wait)
				continue
			}
			return show(*j), nil
		}
	}
	resume := ""
	for {
		es, err := c.Client.Events(ctx, api.EventsOptions{Types: []string{api.ServerEventJob}, LastEventID: resume})
		switch {
		case ctx.Err() != nil:
			return stoppedWatching(id, last)
		case noEventStream(err):
			return pollJob(ctx, c, id, interval, d, names, last)
		case err != nil:
			wait, ok := jobsRetryLater(err, interval)
			if !ok {
				return api.Job{}, c.explain(err, "")
			}
			jobsSleep(ctx, wait)
			continue
		}
		// Subscribed first, read second: no change falls between the two.
		if resume == "" {
			done, err := reload()
			if err != nil || done {
				es.Close()
				if ctx.Err() != nil {
					return stoppedWatching(id, last)
				}
				return derefJob(last), err
			}
		}
		for {
			ev, err := es.Next()
			if err != nil {
				break // the master ended the stream (a restart, a new leader): resume
			}
			var done bool
			switch {
			case ev.Reset != nil:
				if done, err = reload(); err != nil {
					es.Close()
					if ctx.Err() != nil {
						return stoppedWatching(id, last)
					}
					return api.Job{}, err
				}
			case ev.Job != nil && ev.Job.ID == id:
				done = show(*ev.Job)
			}
			if done {
				es.Close()
				return *last, nil
			}
		}
		resume = es.LastID()
		es.Close()
		if ctx.Err() != nil {
			return stoppedWatching(id, last)
		}
		jobsSleep(ctx, interval)
	}
}

// stoppedWatching is what an interrupted watch of job id says, last being what it saw.
func stoppedWatching(id string, last *api.Job) (api.Job, error) {
	if last == nil {
		return api.Job{}, fmt.Errorf("stopped before the master answered for job %s", id)
	}
	return *last, fmt.Errorf("stopped watching: job %s is %s; follow it again with `ffrtmp jobs watch %s`, or stop it with `ffrtmp jobs cancel %s`",
		id, last.Status, id, id)
}

func derefJob(j *api.Job) api.Job {
	if j == nil {
		return api.Job{}
	}
	return *j
}

// noEventStream reports whether err says the master has no GET /v1/events (an older one).
func noEventStream(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// watchAllJobs shows the farm's active and queued jobs until ctx ends (or nothing is active,
// with --exit-when-idle), from the master's event stream, redrawn at most every interval.
// Jobs that leave the active set are shown once more as they ended. A master without
// GET /v1/events is polled every interval.
func watchAllJobs(ctx context.Context, c *conn, f jobsWatchFlags, d jobsDisplay) error {
	defer d.close()
	names := newJobNamer(c)
	b := &jobBoard{}
	var es *api.EventStream
	defer func() {
		if es != nil {
			es.Close()
		}
	}()
	evs := make(chan api.ServerEvent, 64)
	ended := make(chan struct{}, 1)
	resume := ""
	stale := true // the board must be listed again (the start, missed events)
	var lastDraw time.Time
	for {
		if es == nil {
			var err error
			es, err = c.Client.Events(ctx, api.EventsOptions{Types: []string{api.ServerEventJob}, LastEventID: resume})
			switch {
			case ctx.Err() != nil:
				return nil
			case noEventStream(err):
				return pollAllJobs(ctx, c, f, d, names)
			case err != nil:
				if wait, ok := jobsRetryLater(err, f.interval); ok {
					jobsSleep(ctx, wait)
					continue
				}
				return c.explain(err, "")
			}
			go readJobEvents(es, evs, ended)
		}
		if stale {
			active, queued, more, err := activeJobs(ctx, c)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				if wait, ok := jobsRetryLater(err, f.interval); ok {
					jobsSleep(ctx, wait)
					continue
				}
				return c.explain(err, "")
			}
			for _, id := range b.load(active, queued, more) {
				// Gone from the lists: ended while events were missed, or a queued job pushed
				// out of the newest few.
				if j, err := c.Client.GetJob(ctx, id); err == nil && j.Status.Terminal() {
					b.ended = append(b.ended, *j)
				}
			}
			stale = false
			b.dirty = true
		}
		if wait := f.interval - time.Since(lastDraw); b.dirty && wait <= 0 {
			all, ended := b.take()
			d.show(names.view(ctx, slices.Concat(all, ended)...), all, ended, b.summary(f.exitWhenIdle))
			lastDraw = time.Now()
			if f.exitWhenIdle && len(all) == 0 {
				return nil
			}
		}
		var tick <-chan time.Time
		if b.dirty {
			tick = time.After(max(f.interval-time.Since(lastDraw), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case ev := <-evs:
			switch {
			case ev.Reset != nil:
				stale = true
			case ev.Job != nil:
				stale = b.apply(*ev.Job) || stale
			}
		case <-ended:
			resume = es.LastID()
			es.Close()
			es = nil // its reader is gone; what it read waits in evs
			if !jobsSleep(ctx, f.interval) {
				return nil
			}
		case <-tick:
		}
	}
}

// readJobEvents hands es's events to evs until the stream ends, then says so on ended.
func readJobEvents(es *api.EventStream, evs chan<- api.ServerEvent, ended chan<- struct{}) {
	for {
		ev, err := es.Next()
		if err != nil {
			select { // one reader at a time: the signal before it was taken
			case ended <- struct{}{}:
			default:
			}
			return
		}
		evs <- ev
	}
}

// jobBoard is what the all-jobs watch shows: the active jobs, the newest queued ones, and
// the jobs that ended since the last draw.
type jobBoard struct {
	active, queued map[string]api.Job
	more           bool // queued jobs beyond those shown
	ended          []api.Job
	dirty          bool // changed since the last draw
}

// load replaces the board with lists the master gave; gone are the IDs shown before that
// are in neither.
func (b *jobBoard) load(active, queued []api.Job, more bool) (gone []string) {
	fresh := map[string]bool{}
	for _, j := range slices.Concat(active, queued) {
		fresh[j.ID] = true
	}
	for _, id := range slices.Concat(slices.Collect(maps.Keys(b.active)), slices.Collect(maps.Keys(b.queued))) {
		if !fresh[id] {
			gone = append(gone, id)
		}
	}
	b.active, b.queued, b.more = map[string]api.Job{}, map[string]api.Job{}, more
	for _, j := range active {
		b.active[j.ID] = j
	}
	for _, j := range queued {
		b.queued[j.ID] = j
	}
	return gone
}

// apply takes a job's event into the board; it reports whether the board must be listed
// again (a shown queued job left while others wait unseen).
func (b *jobBoard) apply(j api.Job) (relist bool) {
	_, wasActive := b.active[j.ID]
	_, wasQueued := b.queued[j.ID]
	delete(b.active, j.ID)
	delete(b.queued, j.ID)
	switch {
	case j.Status == api.StatusQueued:
		b.queued[j.ID] = j
		if len(b.queued) > maxQueuedJobsShown {
			oldest := slices.Min(slices.Collect(maps.Keys(b.queued)))
			delete(b.queued, oldest)
			b.more = true
		}
	case j.Status.Terminal():
		if wasActive || wasQueued {
			b.ended = append(b.ended, j)
		}
	default:
		b.active[j.ID] = j
	}
	b.dirty = b.dirty || wasActive || wasQueued || !j.Status.Terminal()
	return wasQueued && j.Status != api.StatusQueued && b.more
}

// take returns the board to draw (running first, then assigned, retrying, each oldest
// first, then the queued oldest first) and the jobs that ended since the last draw.
func (b *jobBoard) take() (all, ended []api.Job) {
	active, queued := b.lists()
	ended = b.ended
	slices.SortFunc(ended, func(x, y api.Job) int { return strings.Compare(x.ID, y.ID) })
	b.ended, b.dirty = nil, false
	return slices.Concat(active, queued), ended
}

func (b *jobBoard) lists() (active, queued []api.Job) {
	active = slices.Collect(maps.Values(b.active))
	rank := map[api.Status]int{api.StatusRunning: 0, api.StatusAssigned: 1, api.StatusRetrying: 2}
	slices.SortStableFunc(active, func(x, y api.Job) int {
		if r := rank[x.Status] - rank[y.Status]; r != 0 {
			return r
		}
		return strings.Compare(x.ID, y.ID)
	})
	queued = slices.Collect(maps.Values(b.queued))
	slices.SortFunc(queued, func(x, y api.Job) int { return strings.Compare(x.ID, y.ID) })
	return active, queued
}

func (b *jobBoard) summary(exitWhenIdle bool) string {
	active, queued := b.lists()
	return jobsWatchSummary(active, queued, b.more, exitWhenIdle)
}

// pollJob polls job id every interval, showing each view of it, until it ends; it returns
// the final job (a master without GET /v1/events).
func pollJob(ctx context.Context, c *conn, id string, interval time.Duration, d jobsDisplay, names *jobNamer, last *api.Job) (api.Job, error) {
	for {
		j, err := c.Client.GetJob(ctx, id)
		switch {
		case ctx.Err() != nil:
			return stoppedWatching(id, last)
		case err != nil:
			wait, ok := jobsRetryLater(err, interval)
			if !ok {
				return api.Job{}, c.explain(err, "job "+id)
			}
			jobsSleep(ctx, wait) // when ctx ends meanwhile, the next round says so
			continue
		}
		last = j
		v := names.view(ctx, *j)
		if j.Status.Terminal() {
			d.show(v, nil, []api.Job{*j}, "")
			return *j, nil
		}
		d.show(v, []api.Job{*j}, nil, "")
		jobsSleep(ctx, interval)
	}
}

// pollAllJobs is watchAllJobs against a master without GET /v1/events: it lists the jobs
// every interval.
func pollAllJobs(ctx context.Context, c *conn, f jobsWatchFlags, d jobsDisplay, names *jobNamer) error {
	seen := map[string]bool{}
	for {
		active, queued, more, err := activeJobs(ctx, c)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if wait, ok := jobsRetryLater(err, f.interval); ok {
				jobsSleep(ctx, wait)
				continue
			}
			return c.explain(err, "")
		}
		all := slices.Concat(active, queued)
		var ended []api.Job
		now := map[string]bool{}
		for _, j := range all {
			now[j.ID] = true
		}
		for id := range seen {
			if now[id] {
				continue
			}
			// Gone from the lists: ended, or a queued job pushed out of the newest few.
			if j, err := c.Client.GetJob(ctx, id); err == nil && j.Status.Terminal() {
				ended = append(ended, *j)
			}
		}
		slices.SortFunc(ended, func(a, b api.Job) int { return strings.Compare(a.ID, b.ID) })
		seen = now
		d.show(names.view(ctx, slices.Concat(all, ended)...), all, ended, jobsWatchSummary(active, queued, more, f.exitWhenIdle))
		if f.exitWhenIdle && len(all) == 0 {
			return nil
		}
		if !jobsSleep(ctx, f.interval) {
			return nil
		}
	}
}

// maxQueuedJobsShown bounds the queued jobs the all-jobs watch shows.
const maxQueuedJobsShown = 20

// activeJobs returns the assigned, running and retrying jobs (running first, each group
// oldest first) and the newest queued ones (oldest first; more says there are others): one
// page, so that a deep queue does not cost a full listing every interval.
func activeJobs(ctx context.Context, c *conn) (active, queued []api.Job, more bool, err error) {
	err = c.Client.ListAllJobs(ctx, api.ListJobsOptions{Status: []api.Status{api.StatusRunning, api.StatusAssigned, api.StatusRetrying}},
		func(j api.Job) error {
			active = append(active, j)
			return nil
		})
	if err != nil {
		return nil, nil, false, err
	}
	rank := map[api.Status]int{api.StatusRunning: 0, api.StatusAssigned: 1, api.StatusRetrying: 2}
	slices.SortStableFunc(active, func(a, b api.Job) int {
		if r := rank[a.Status] - rank[b.Status]; r != 0 {
			return r
		}
		return strings.Compare(a.ID, b.ID)
	})
	page, err := c.Client.ListJobs(ctx, api.ListJobsOptions{Status: []api.Status{api.StatusQueued}, Limit: maxQueuedJobsShown})
	if err != nil {
		return nil, nil, false, err
	}
	queued = page.Jobs
	slices.SortFunc(queued, func(a, b api.Job) int { return strings.Compare(a.ID, b.ID) })
	return active, queued, page.NextCursor != "", nil
}

// jobsWatchSummary is the head line of the all-jobs board: counts per status.
func jobsWatchSummary(active, queued []api.Job, more, exitWhenIdle bool) string {
	if len(active)+len(queued) == 0 {
		if exitWhenIdle {
			return "no active jobs"
		}
		return "no active jobs; watching (Ctrl-C to stop)"
	}
	count := map[api.Status]int{}
	for _, j := range active {
		count[j.Status]++
	}
	var parts []string
	for _, st := range []api.Status{api.StatusRunning, api.StatusAssigned, api.StatusRetrying} {
		if count[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[st], st))
		}
	}
	if len(queued) > 0 {
		plus := ""
		if more {
			plus = "+"
		}
		parts = append(parts, fmt.Sprintf("%d%s queued", len(queued), plus))
	}
	return strings.Join(parts, ", ")
}

// jobsRetryLater reports whether err is the master asking to be asked again later (429, 503),
// and after how long.
func jobsRetryLater(err error, interval time.Duration) (time.Duration, bool) {
	var e *api.Error
	if !errors.As(err, &e) || (e.Status != http.StatusTooManyRequests && e.Status != http.StatusServiceUnavailable) {
		return 0, false
	}
	return max(time.Duration(e.RetryAfter)*time.Second, interval), true
}

// jobsSleep waits d; false when ctx ended first.
func jobsSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// jobNamer keeps node names for the jobs on screen, asking the master again when a job
// names a node it has not seen.
type jobNamer struct {
	c     *conn
	names map[string]string
}

func newJobNamer(c *conn) *jobNamer { return &jobNamer{c: c} }

func (n *jobNamer) view(ctx context.Context, jobs ...api.Job) jobView {
	for _, j := range jobs {
		if _, ok := n.names[j.Node]; j.Node == "" || ok {
			continue
		}
		m := jobNodeNames(ctx, n.c)
		if m == nil {
			m = map[string]string{}
		}
		for id, name := range n.names {
			if _, ok := m[id]; !ok {
				m[id] = name
			}
		}
		if _, ok := m[j.Node]; !ok {
			m[j.Node] = "" // unknown: show the ID, and do not ask again for it
		}
		n.names = m
	}
	return newJobView(n.names)
}

// ---- displays ----

// jobsDisplay shows what a watch sees: the jobs still going (redrawn), the ones that just
// ended (shown once, for good) and, for the all-jobs board, a summary line.
type jobsDisplay interface {
	show(v jobView, going, ended []api.Job, summary string)
	close()
}

// newJobsDisplay draws bars in place when w is a terminal, else writes plain lines.
// board says there is a summary line to show (the all-jobs watch).
func newJobsDisplay(w io.Writer, board bool) jobsDisplay {
	if fd, ok := jobsTerminal(w); ok {
		return &ttyJobsDisplay{w: w, size: func() (int, int, error) { return term.GetSize(fd) }, board: board}
	}
	return &plainJobsDisplay{w: w, last: map[string]string{}}
}

type nopJobsDisplay struct{}

func (nopJobsDisplay) show(jobView, []api.Job, []api.Job, string) {}
func (nopJobsDisplay) close()                                     {}

// plainJobsDisplay writes one line per job, stamped with the time of day and within
// tableWidth, whenever what it shows changes.
type plainJobsDisplay struct {
	w    io.Writer
	last map[string]string // job ID → its last line
	idle string            // the last summary written while nothing was going
}

func (d *plainJobsDisplay) show(v jobView, going, ended []api.Job, summary string) {
	stamp := v.now.In(v.loc).Format(time.TimeOnly)
	room := tableWidth - len(stamp) - 2
	var b strings.Builder
	for _, j := range ended {
		fmt.Fprintf(&b, "%s  %s\n", stamp, table.Fit(jobWatchLine(j, v), room))
		delete(d.last, j.ID)
	}
	for _, j := range going {
		line := table.Fit(jobWatchLine(j, v), room)
		if d.last[j.ID] != line {
			fmt.Fprintf(&b, "%s  %s\n", stamp, line)
			d.last[j.ID] = line
		}
	}
	if len(going) == 0 && summary != "" && summary != d.idle {
		fmt.Fprintf(&b, "%s  %s\n", stamp, summary)
	}
	d.idle = ""
	if len(going) == 0 {
		d.idle = summary
	}
	io.WriteString(d.w, b.String())
}

func (d *plainJobsDisplay) close() {}

// ttyJobsDisplay redraws a board of bars in place: each frame moves the cursor back to the
// board's first line and overwrites it in one write (no clear, no flicker); lines that ended
// are written above the board and stay.
type ttyJobsDisplay struct {
	w     io.Writer
	size  func() (width, height int, err error)
	board bool
	lines int // lines of the board drawn last
	drawn bool
}

// Terminal control sequences (ANSI/VT100).
const (
	ttyHideCursor = "\033[?25l"
	ttyShowCursor = "\033[?25h"
	ttyClearLine  = "\033[K" // to the end of the line
	ttyClearBelow = "\033[J" // to the end of the screen
)

func (d *ttyJobsDisplay) show(v jobView, going, ended []api.Job, summary string) {
	width, height, err := d.size()
	if err != nil || width <= 0 {
		width, height = 100, 24
	}
	var b bytes.Buffer
	if !d.drawn {
		b.WriteString(ttyHideCursor)
		d.drawn = true
	}
	if d.lines > 0 {
		fmt.Fprintf(&b, "\r\033[%dA", d.lines)
	}
	for _, j := range ended {
		b.WriteString(jobBarLine(j, v, width) + ttyClearLine + "\n")
	}
	var board []string
	if d.board {
		board = append(board, table.Fit(summary+"  ("+v.now.In(v.loc).Format("15:04:05")+")", max(width-1, 20)))
	}
	for _, j := range going {
		board = append(board, jobBarLine(j, v, width))
	}
	// A board taller than the screen cannot be redrawn: the cursor cannot go above the top.
	if room := max(height-1, 2); len(board) > room {
		hidden := len(board) - room + 1
		board = append(board[:room-1], fmt.Sprintf("… and %d more", hidden))
	}
	for _, l := range board {
		b.WriteString(l + ttyClearLine + "\n")
	}
	b.WriteString(ttyClearBelow)
	d.lines = len(board)
	d.w.Write(b.Bytes())
}

func (d *ttyJobsDisplay) close() {
	if d.drawn {
		io.WriteString(d.w, ttyShowCursor)
	}
}
