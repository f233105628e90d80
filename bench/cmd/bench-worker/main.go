// Command bench-worker measures what running jobs in executor processes costs a worker: the
// start-up overhead per job against engine.Run in-process, and N concurrent 1080p→720p
// executor jobs against N concurrent ffmpeg processes with equal settings. It prints a table
// and writes the results as JSON.
//
//	go run ./bench/cmd/bench-worker -out bench/results [-runs 3 | -quick | -full] [-n 1,2]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ffrtmp/ffrtmp/bench/enginebench"
	"github.com/ffrtmp/ffrtmp/bench/workerbench"
	"github.com/ffrtmp/ffrtmp/engine"
)

func main() {
	out := flag.String("out", "bench/results", "folder for the JSON results, the cached input and temporary outputs")
	runs := flag.Int("runs", 3, "measured rounds of each concurrent case, after one warm-up")
	startupRuns := flag.Int("startup-runs", 20, "measured runs of each way of the start-up case, after one warm-up")
	nFlag := flag.String("n", "1,2", "numbers of concurrent jobs, one case each")
	quick := flag.Bool("quick", false, "a smoke run: -runs 1, -startup-runs 5, -n 1")
	full := flag.Bool("full", false, "also 4 concurrent jobs (-n 1,2,4)")
	workerBin := flag.String("worker", "", "use this ffrtmp-worker binary instead of building one (to compare builds)")
	strict := flag.Bool("strict", false, "exit with status 3 when a target is missed")
	flag.Parse()
	switch {
	case *quick:
		*runs, *startupRuns, *nFlag = 1, 5, "1"
	case *full:
		*nFlag = "1,2,4"
	}
	ns, err := parseN(*nFlag)
	if err != nil {
		fail(err)
	}
	if *runs < 1 || *startupRuns < 1 {
		fail(fmt.Errorf("-runs %d, -startup-runs %d: want at least 1", *runs, *startupRuns))
	}
	// The in-process side runs as the executor child does (one P; see engine.TuneProcess).
	engine.TuneProcess()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	pass, err := run(ctx, *out, *workerBin, workerbench.Options{Runs: *runs, StartupRuns: *startupRuns, N: ns, Log: os.Stderr})
	if err != nil {
		fail(err)
	}
	if !pass && *strict {
		os.Exit(3)
	}
}

func run(ctx context.Context, out, workerBin string, opt workerbench.Options) (bool, error) {
	ff, err := enginebench.FindFFmpeg(ctx)
	if err != nil {
		return false, err
	}
	machine := enginebench.DetectMachine(ff)
	fmt.Printf("machine: %s, %d cores, %s, engine FFmpeg %s, %s (load %s)\n",
		machine.CPU, machine.Cores, machine.GoVersion, machine.Engine.FFmpeg, ff.Version, machine.LoadAverage)

	src, err := enginebench.EnsureSource(ctx, filepath.Join(out, "input"))
	if err != nil {
		return false, err
	}
	fmt.Printf("input: %s (%.1f MB, %.1f Mb/s)\n", src.Path, float64(src.Bytes)/1e6, float64(src.BitRate)/1e6)

	tmp, err := os.MkdirTemp(out, "tmp-worker-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	opt.TempDir = tmp
	opt.Worker = workerBin
	if opt.Worker == "" {
		fmt.Println("building ffrtmp-worker ...")
		if opt.Worker, err = workerbench.BuildWorker(ctx, tmp); err != nil {
			return false, err
		}
	}

	rep, err := workerbench.Run(ctx, machine, src, ff, opt)
	if err != nil {
		return false, err
	}
	path, err := rep.WriteJSON(out)
	if err != nil {
		return false, err
	}
	fmt.Println()
	rep.WriteTable(os.Stdout)
	fmt.Printf("results: %s (and %s)\n", path, filepath.Join(out, "worker-latest.json"))
	if !rep.Pass {
		fmt.Println("some targets were missed (see the ok column)")
	}
	return rep.Pass, nil
}

func parseN(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-n %q: want a list of positive numbers, e.g. 1,2,4", s)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-worker:", err)
	os.Exit(1)
}
