package consolebench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/bench/masterbench"
)

// farm is a master holding many jobs, with simulated nodes running some of them and
// reporting their progress every second, as a busy farm's workers do.
type farm struct {
	master  *masterbench.Master
	client  *api.Client
	running []runningJob
	reports atomic.Int64 // progress reports accepted
	errs    atomic.Int64 // progress reports refused or failed
	lastErr atomic.Value // string
}

type runningJob struct {
	id, node string
}

// startFarm copies db (a cached database of stored jobs) into dir, starts bin on the copy,
// registers nodes nodes of running/nodes slots each and leases running jobs to them (the
// database's queued jobs, then submitted ones when it holds too few).
func startFarm(ctx context.Context, bin, db, dir string, running, nodes int) (*farm, error) {
	path := filepath.Join(dir, "master.db")
	if err := copyFile(db, path); err != nil {
		return nil, fmt.Errorf("copy the job database: %w", err)
	}
	m, err := masterbench.StartMaster(ctx, bin, path, filepath.Join(dir, "master.log"), "--retention", "0")
	if err != nil {
		return nil, err
	}
	f := &farm{master: m}
	if f.client, err = api.NewClient(m.URL, masterbench.APIKey, api.WithUserAgent("ffrtmp-bench-console")); err != nil {
		m.Stop()
		return nil, err
	}
	if err := f.fill(ctx, running, nodes); err != nil {
		m.Stop()
		return nil, err
	}
	return f, nil
}

// fill registers the nodes and leases running jobs to them.
func (f *farm) fill(ctx context.Context, running, nodes int) error {
	slots := (running + nodes - 1) / nodes
	for i := range nodes {
		id := fmt.Sprintf("console-node-%03d", i)
		reg := api.Registration{ID: id, Name: id, Version: "bench",
			Capabilities: api.Capabilities{CPUs: 64, Slots: slots, Encoders: []string{"libx264", "aac", "libopus", "h264_nvenc", "hevc_nvenc"},
				Hardware: []string{"cuda"}, GPUs: []api.GPU{{Index: 0, Name: "NVIDIA L4", MemoryTotalMB: 23034, EncoderSessions: 8}}}}
		r, err := f.client.Register(ctx, reg)
		if err != nil {
			return fmt.Errorf("register %s: %w", id, err)
		}
		f.client.SetNodeSecret(id, r.Secret)
	}
	for len(f.running) < running {
		node := fmt.Sprintf("console-node-%03d", len(f.running)%nodes)
		l, err := f.client.Lease(ctx, node, 0)
		if err != nil {
			return fmt.Errorf("lease for %s: %w", node, err)
		}
		if l == nil {
			// The database's queue ran dry: submit more.
			if _, err := f.client.SubmitJob(ctx, api.JobRequest{Scenario: "1080p30-h264", Queue: api.QueueMedium}, ""); err != nil {
				return fmt.Errorf("submit: %w", err)
			}
			continue
		}
		f.running = append(f.running, runningJob{id: l.Job.ID, node: node})
	}
	return nil
}

// report sends every running job's progress once a second, spread over the second, until
// ctx ends: percent, fps and speed move as a real encode's do.
func (f *farm) report(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			jobs := f.running[w*len(f.running)/workers : (w+1)*len(f.running)/workers]
			if len(jobs) == 0 {
				return
			}
			t := time.NewTicker(time.Second / time.Duration(len(jobs)))
			defer t.Stop()
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				j := jobs[i%len(jobs)]
				elapsed := time.Since(start).Seconds()
				pct := min(99, float64((i/len(jobs))%100)+float64(i%len(jobs))/float64(len(jobs)))
				_, err := f.client.ReportProgress(ctx, j.id, api.ProgressReport{Node: j.node, Phase: api.PhaseTranscoding,
					Progress: &api.Progress{Percent: pct, Frames: int64(elapsed * 60), FPS: 55 + float64(i%10), Speed: 1.9 + float64(i%5)/10}})
				switch {
				case ctx.Err() != nil:
					return
				case err != nil:
					f.errs.Add(1)
					f.lastErr.Store(err.Error())
				default:
					f.reports.Add(1)
				}
			}
		})
	}
	wg.Wait()
}

// stop stops the master.
func (f *farm) stop() error { return f.master.Stop() }

// copyFile copies src to dst (a cached database is never written by a run).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
