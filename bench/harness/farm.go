package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// FarmClient is what farm mode needs of the master's API (api.Client has it).
type FarmClient interface {
	ListNodes(ctx context.Context) (*api.NodeList, error)
	SubmitJob(ctx context.Context, req api.JobRequest, idempotencyKey string) (*api.Job, error)
	GetJob(ctx context.Context, id string) (*api.Job, error)
	CancelJob(ctx context.Context, id string) (*api.Job, error)
}

// FarmOptions tune farm mode.
type FarmOptions struct {
	// Master is the master's URL, for the results.
	Master string
	// Labels keeps the workers that have all of them.
	Labels map[string]string
	// Poll is how often a job is looked at [250ms].
	Poll time.Duration
	// JobTimeout bounds one job, queueing included [10m].
	JobTimeout time.Duration
	// Runs is how many jobs run per case and node, one after the other [1].
	Runs int
}

// RunFarm runs every case of opts.Scenarios as a job pinned to each online worker (those
// with fo.Labels), one job at a time per worker so a machine's numbers are its own, all
// workers at once. Each job encodes the scenario's synthetic source on the worker and
// discards the output; the worker reports the encoder that ran, fps, speed and the frames'
// encode latency. A case whose encoder a worker does not offer is skipped there.
func RunFarm(ctx context.Context, c FarmClient, opts Options, fo FarmOptions) (*Results, error) {
	opts.defaults()
	if fo.Poll <= 0 {
		fo.Poll = 250 * time.Millisecond
	}
	if fo.JobTimeout <= 0 {
		fo.JobTimeout = 10 * time.Minute
	}
	list, err := c.ListNodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the farm's workers: %w", err)
	}
	var nodes []api.Node
	for _, n := range list.Nodes {
		if n.Status == api.NodeOnline && hasLabels(n.Labels, fo.Labels) {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) == 0 {
		return nil, errors.New("no online worker in the farm matches (see `ffrtmp nodes list`)")
	}
	for _, sc := range opts.Scenarios {
		if sc.Source.File != "" {
			return nil, fmt.Errorf("scenario %s: farm mode runs synthetic sources only (workers cannot read this machine's files)", sc.Name)
		}
	}
	cases, err := expandCases(opts.Scenarios)
	if err != nil {
		return nil, err
	}
	runs := max(fo.Runs, 1)
	r := &Results{Schema: SchemaVersion, Started: time.Now().UTC(), Profile: "farm", Command: opts.Command,
		Machine: detectMachine(Options{Version: opts.Version}), Options: Settings{Runs: runs}}
	farm := &Farm{Master: fo.Master, Nodes: make([]FarmNode, len(nodes))}
	var wg sync.WaitGroup
	var done, total int
	var mu sync.Mutex
	total = len(nodes) * len(cases)
	for i, n := range nodes {
		fn := FarmNode{ID: n.ID, Name: n.Name, Labels: n.Labels}
		for _, g := range n.Capabilities.GPUs {
			fn.GPUs = append(fn.GPUs, g.Name)
		}
		wg.Go(func() {
			for j := range cases {
				fc := runFarmRuns(ctx, c, &cases[j], n, opts.Duration, fo, runs)
				fn.Cases = append(fn.Cases, fc)
				mu.Lock()
				done++
				opts.Progress(Progress{Case: done, Cases: total, ID: n.Name + " " + cases[j].id, Step: "done", Fraction: 1})
				mu.Unlock()
			}
			fn.FPS = medianFPS(fn.Cases)
			farm.Nodes[i] = fn
		})
	}
	wg.Wait()
	r.Finished = time.Now().UTC()
	farm.Seconds = r.Finished.Sub(r.Started).Seconds()
	var frames int64
	for _, n := range farm.Nodes {
		for _, fc := range n.Cases {
			if fc.Status == "" {
				continue // skipped
			}
			farm.Jobs += fc.Runs // completed
			if fc.Status != string(api.StatusCompleted) {
				farm.Jobs++
				farm.Failed++
			}
			frames += fc.Frames * int64(fc.Runs)
		}
	}
	if farm.Seconds > 0 {
		farm.FPS = float64(frames) / farm.Seconds
	}
	sort.Slice(farm.Nodes, func(a, b int) bool { return farm.Nodes[a].Name < farm.Nodes[b].Name })
	r.Farm = farm
	return r, ctx.Err()
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// runFarmRuns runs case c on node n runs times, one job after the other, and keeps the
// median of each figure (fps min and max too). The first failure ends the case.
func runFarmRuns(ctx context.Context, cl FarmClient, c *caseRun, n api.Node, duration float64, fo FarmOptions, runs int) FarmCase {
	var done []FarmCase
	for range runs {
		fc := runFarmCase(ctx, cl, c, n, duration, fo)
		if fc.Status != string(api.StatusCompleted) {
			fc.Runs = len(done)
			return fc
		}
		done = append(done, fc)
	}
	col := func(f func(FarmCase) float64) Stat {
		xs := make([]float64, len(done))
		for i, d := range done {
			xs[i] = f(d)
		}
		return stat(xs)
	}
	out := done[len(done)-1]
	out.Runs = len(done)
	fps := col(func(d FarmCase) float64 { return d.FPS })
	out.FPS, out.FPSMin, out.FPSMax = fps.Median, fps.Min, fps.Max
	out.Speed = col(func(d FarmCase) float64 { return d.Speed }).Median
	out.Seconds = col(func(d FarmCase) float64 { return d.Seconds }).Median
	out.P50ms = col(func(d FarmCase) float64 { return d.P50ms }).Median
	out.P95ms = col(func(d FarmCase) float64 { return d.P95ms }).Median
	out.P99ms = col(func(d FarmCase) float64 { return d.P99ms }).Median
	return out
}

// runFarmCase submits c pinned to node n and waits for it.
func runFarmCase(ctx context.Context, cl FarmClient, c *caseRun, n api.Node, duration float64, fo FarmOptions) FarmCase {
	fc := FarmCase{Scenario: c.id}
	if !slices.Contains(n.Capabilities.Encoders, c.encoder) {
		fc.Error = fmt.Sprintf("skipped: %s does not open on this node", c.encoder)
		return fc
	}
	src := c.sc.Source
	if duration > 0 {
		src.Duration = duration
	}
	s := c.spec("")
	s.Input = spec.Input{Synthetic: &spec.Synthetic{Width: src.Width, Height: src.Height, FPS: spec.Rate{Num: int(src.FPS*1000 + 0.5), Den: 1000},
		Duration: src.Duration, NoAudio: true}}
	for i := range s.Outputs {
		s.Outputs[i].Container, s.Outputs[i].Target = "null", ""
	}
	req := api.JobRequest{Spec: &s, Requirements: api.Requirements{Node: n.ID, Encoder: c.encoder},
		Labels: map[string]string{"bench": c.id}}
	jctx, cancel := context.WithTimeout(ctx, fo.JobTimeout)
	defer cancel()
	job, err := cl.SubmitJob(jctx, req, "")
	if err != nil {
		fc.Status, fc.Error = "refused", err.Error()
		return fc
	}
	fc.Job = job.ID
	t := time.NewTicker(fo.Poll)
	defer t.Stop()
	for !job.Status.Terminal() {
		select {
		case <-jctx.Done():
			// Do not leave a bench job behind on the farm.
			cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
			cl.CancelJob(cctx, job.ID)
			ccancel()
			fc.Status, fc.Error = string(job.Status), "gave up waiting: "+jctx.Err().Error()
			return fc
		case <-t.C:
		}
		if j, err := cl.GetJob(jctx, job.ID); err == nil {
			job = j
		}
	}
	fc.Status = string(job.Status)
	if job.Error != nil {
		fc.Error = job.Error.Message
	}
	if res := job.Result; res != nil {
		fc.Frames, fc.FPS, fc.Speed, fc.Seconds = res.Frames, res.FPS, res.Speed, res.Seconds
		encs := slices.Sorted(maps.Values(res.Encoders))
		if len(encs) > 0 {
			fc.EncoderUsed = encs[0]
		}
		if l := res.EncodeLatency; l != nil {
			fc.P50ms, fc.P95ms, fc.P99ms = l.P50ms, l.P95ms, l.P99ms
		}
	}
	return fc
}

// medianFPS is the median fps of a node's completed jobs.
func medianFPS(cs []FarmCase) float64 {
	var xs []float64
	for _, c := range cs {
		if c.Status == string(api.StatusCompleted) {
			xs = append(xs, c.FPS)
		}
	}
	return stat(xs).Median
}
