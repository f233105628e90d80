package masterbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ffrtmp/ffrtmp/api"
)

// Fair-share case: tenant team-a queues FairA jobs, then team-b queues FairB; FairSlots
// simulated 1-slot workers lease, hold each job fairHold and complete it. While team-b
// still has jobs queued, the slot grants should split in proportion to the tenants' weights
// (team-a, first in line by age, would otherwise take every slot until its jobs ran out).
const fairHold = 20 * time.Millisecond

// fairShareCase runs the fair-share measurement at weights 1:1 and 2:1.
func (e *env) fairShareCase(ctx context.Context) (CaseResult, error) {
	p := e.opts.Profile
	res := CaseResult{Name: "fairshare", Latencies: map[string]Latency{},
		Description: fmt.Sprintf("tenant team-a submits %d jobs, then team-b %d (same queue and priority); %d workers of 1 slot lease (wait 1 s), hold each job %s and complete it; "+
			"the share of slot grants each tenant got while both had jobs queued (until team-b's last job started), at weights 1:1 and 2:1",
			p.FairA, p.FairB, p.FairSlots, fairHold)}
	if p.FairA <= 0 || p.FairB <= 0 || p.FairSlots <= 0 {
		return res, fmt.Errorf("profile %s sizes no fair-share run (tenant jobs %d and %d, %d slots)", p.Name, p.FairA, p.FairB, p.FairSlots)
	}
	t0 := time.Now()
	for _, w := range [][2]int{{1, 1}, {2, 1}} {
		got, bDone, cpu, err := e.fairShareRun(ctx, w[0], w[1])
		if err != nil {
			return res, fmt.Errorf("weights %d:%d: %w", w[0], w[1], err)
		}
		res.MasterCPUSeconds += cpu.Seconds()
		total := got["team-a"] + got["team-b"]
		if total == 0 {
			return res, errors.New("no slot granted")
		}
		wantA := float64(w[0]) / float64(w[0]+w[1])
		label := fmt.Sprintf("%d:%d", w[0], w[1])
		res.Metrics = append(res.Metrics,
			Within("team-a share of slots, weights "+label, float64(got["team-a"])/float64(total), "", wantA, 0.1),
			Within("team-b share of slots, weights "+label, float64(got["team-b"])/float64(total), "", 1-wantA, 0.1),
			Info("team-b's jobs all started after, weights "+label, float64(bDone.Milliseconds()), "ms"))
	}
	res.Setup = append(res.Setup, fmt.Sprintf("a fresh master and database per weighting, weights in the keys file's tenants section; jobs submitted by the admin key on the tenants' behalf; both runs took %.1f s",
		time.Since(t0).Seconds()))
	return res, nil
}

// fairShareRun measures one weighting: grants per tenant until team-b's last job started,
// how long after the workers started that was, and the master's CPU time meanwhile.
func (e *env) fairShareRun(ctx context.Context, wa, wb int) (got map[string]int, bDone, cpu time.Duration, err error) {
	p := e.opts.Profile
	dir, err := os.MkdirTemp(e.tmp, "fairshare-")
	if err != nil {
		return nil, 0, 0, err
	}
	keys := filepath.Join(dir, "keys.yaml")
	body := fmt.Sprintf("keys: []\ntenants:\n  - {name: team-a, weight: %d}\n  - {name: team-b, weight: %d}\n", wa, wb)
	if err := os.WriteFile(keys, []byte(body), 0o600); err != nil {
		return nil, 0, 0, err
	}
	m, err := e.startMaster(ctx, fmt.Sprintf("fairshare-%d-%d", wa, wb), filepath.Join(dir, "master.db"), "--keys-file", keys)
	if err != nil {
		return nil, 0, 0, err
	}
	defer m.Stop()
	cs, err := newClients(m.URL, max(p.FairSlots, 16))
	if err != nil {
		return nil, 0, 0, err
	}
	defer cs.Close()
	if err := submitAs(ctx, cs, "team-a", p.FairA); err != nil {
		return nil, 0, 0, err
	}
	if err := submitAs(ctx, cs, "team-b", p.FairB); err != nil {
		return nil, 0, 0, err
	}
	nodes, err := registerNodes(ctx, cs, p.FairSlots)
	if err != nil {
		return nil, 0, 0, err
	}

	var mu sync.Mutex
	got = map[string]int{}
	bLeft := p.FairB
	cpu0 := m.CPU()
	start := time.Now()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(runCtx)
	for i, n := range nodes {
		c := cs.c[i%len(cs.c)]
		g.Go(func() error {
			for gctx.Err() == nil {
				l, err := c.Lease(gctx, n.id, time.Second)
				if err != nil {
					if gctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("lease for %s: %w", n.id, err)
				}
				if l == nil {
					continue
				}
				mu.Lock()
				if bLeft > 0 {
					got[l.Job.Tenant]++
					if l.Job.Tenant == "team-b" {
						if bLeft--; bLeft == 0 {
							bDone = time.Since(start)
							stop()
						}
					}
				}
				mu.Unlock()
				select {
				case <-time.After(fairHold):
				case <-gctx.Done():
				}
				// Complete even after the stop, on a context of its own: the slot is freed
				// for the next lease, and the master sees a clean end.
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err = c.Complete(cctx, l.Job.ID, api.CompleteReport{Node: n.id, Result: &api.Result{Frames: 300, Seconds: 1}})
				cancel()
				if err != nil && ctx.Err() == nil {
					return fmt.Errorf("complete %s: %w", l.Job.ID, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, 0, err
	}
	if bLeft > 0 {
		return nil, 0, 0, fmt.Errorf("team-b still had %d jobs waiting when the workers stopped", bLeft)
	}
	return got, bDone, m.CPU() - cpu0, nil
}

// submitAs queues n scenario jobs for tenant through the admin key, with every client.
func submitAs(ctx context.Context, cs *clients, tenant string, n int) error {
	g, ctx := errgroup.WithContext(ctx)
	per := (n + len(cs.c) - 1) / len(cs.c)
	for i, c := range cs.c {
		todo := min(per, n-i*per)
		if todo <= 0 {
			break
		}
		g.Go(func() error {
			for range todo {
				req := api.JobRequest{Scenario: "720p30-h264", Output: "/dev/null.mp4", Tenant: tenant}
				if _, err := c.SubmitJob(ctx, req, ""); err != nil {
					return fmt.Errorf("submit for %s: %w", tenant, err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}
