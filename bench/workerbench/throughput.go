package workerbench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/bench/enginebench"
	"github.com/ffrtmp/ffrtmp/worker/executor"
	"golang.org/x/sync/errgroup"
)

// ThroughputTarget is the bound on ffmpeg's batch time ÷ the worker's.
const ThroughputTarget = 1.00

// jobFile is job i's output in a batch's folder.
func jobFile(i int) string { return fmt.Sprintf("720p-job%d.mp4", i+1) }

// ConcurrentCase is N 1080p→720p jobs at once on one worker, each in an executor child of
// bin, against N ffmpeg processes at once with equal settings: the batch's wall time both
// ways, measured by enginebench.RunCase (warm-up, alternating rounds, CPU time).
func ConcurrentCase(n int, bin string, src enginebench.Source, ff enginebench.FFmpeg) (enginebench.Case, error) {
	if n < 1 {
		return enginebench.Case{}, fmt.Errorf("%d concurrent jobs: want at least 1", n)
	}
	ffArgs := func(dir string, i int) ([]string, error) {
		o := enginebench.Rendition720p(filepath.Join(dir, jobFile(i)))
		return enginebench.SingleOutputArgs(src.Path, o, src.FPS, o.Target)
	}
	shown, err := ffArgs("$DIR", 0)
	if err != nil {
		return enginebench.Case{}, err
	}
	var files []string
	for i := range n {
		files = append(files, jobFile(i))
	}
	cmd := Executor(bin)
	batch := func(ctx context.Context, job func(ctx context.Context, i int) error) error {
		g, ctx := errgroup.WithContext(ctx)
		for i := range n {
			g.Go(func() error { return job(ctx, i) })
		}
		return g.Wait()
	}
	id := fmt.Sprintf("n%d", n)
	return enginebench.Case{
		ID: id, Name: fmt.Sprintf("%d concurrent", n),
		Description: fmt.Sprintf("%d concurrent jobs, each 1080p30 10 s H.264+AAC -> 720p libx264 veryfast 3 Mb/s + AAC 128k in mp4: "+
			"one worker's executor children vs ffmpeg processes; batch wall time", n),
		Variants: []enginebench.Variant{
			{
				Name:    "ffrtmp",
				Command: fmt.Sprintf("%d x executor.Run(%s %s, spec %s -> 720p.mp4)", n, bin, execSubcommand, src.Path),
				Outputs: files,
				Run: func(ctx context.Context, dir string) error {
					return batch(ctx, func(ctx context.Context, i int) error {
						s := spec.Spec{Input: spec.Input{URL: src.Path}, Outputs: []spec.Output{enginebench.Rendition720p(filepath.Join(dir, jobFile(i)))}}
						return runExecutor(ctx, cmd, executor.Request{JobID: fmt.Sprintf("job%d", i+1), Spec: s})
					})
				},
			},
			{
				Name:    "ffmpeg",
				Command: fmt.Sprintf("%d x %s &", n, strings.ReplaceAll(ff.CommandLine(shown), "job1", "job$I")),
				Outputs: files,
				Run: func(ctx context.Context, dir string) error {
					return batch(ctx, func(ctx context.Context, i int) error {
						a, err := ffArgs(dir, i)
						if err != nil {
							return err
						}
						return ff.Run(ctx, a)
					})
				},
			},
		},
		Comparisons: []enginebench.Comparison{
			{ID: id, Label: fmt.Sprintf("%d x 1080p->720p, batch", n), Candidate: "ffrtmp", Baseline: "ffmpeg", Target: ThroughputTarget},
		},
	}, nil
}
