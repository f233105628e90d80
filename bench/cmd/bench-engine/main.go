// Command bench-engine compares the in-process engine with the ffmpeg program of the same
// FFmpeg build on one machine and one input, and writes the results as JSON.
//
//	go run ./bench/cmd/bench-engine -out bench/results [-runs 5 | -quick] [-cases 1,2,3]
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/ffrtmp/ffrtmp/engine"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/ffrtmp/ffrtmp/bench/enginebench"
)

func main() {
	out := flag.String("out", "bench/results", "folder for the JSON results, the cached input and temporary outputs")
	runs := flag.Int("runs", 5, "measured runs of each variant, after one warm-up")
	quick := flag.Bool("quick", false, "2 runs per variant (a quick look; use the default for numbers to keep)")
	casesFlag := flag.String("cases", "1,2,3", "cases to run, by number or name: 1 (720p), 2 (ladder), 3 (metrics)")
	strict := flag.Bool("strict", false, "exit with status 3 when a target is missed")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process (the engine's runs) to this file")
	flag.Parse()
	if *quick {
		*runs = 2
	}
	if *runs < 1 {
		fail(fmt.Errorf("-runs %d: want at least 1", *runs))
	}
	// Measure the engine as the transcode command runs it (one P; see engine.TuneProcess).
	engine.TuneProcess()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	pass, err := run(ctx, *out, *runs, strings.Split(*casesFlag, ","), *cpuProfile)
	if err != nil {
		fail(err)
	}
	if !pass && *strict {
		os.Exit(3)
	}
}

func run(ctx context.Context, out string, runs int, caseIDs []string, cpuProfile string) (bool, error) {
	// Names are checked before the input is generated, which takes a while.
	for _, id := range caseIDs {
		if _, err := enginebench.CaseID(id); err != nil {
			return false, err
		}
	}
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
	how := "cached"
	if src.Generated {
		how = "generated"
	}
	fmt.Printf("input: %s (%s, %.1f MB, %.1f Mb/s)\n", src.Path, how, float64(src.Bytes)/1e6, float64(src.BitRate)/1e6)

	cases, err := enginebench.Cases(caseIDs, src, ff)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp(out, "tmp-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return false, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return false, err
		}
		defer pprof.StopCPUProfile()
	}

	rep, err := enginebench.RunAll(ctx, cases, machine, src, enginebench.Options{Runs: runs, TempDir: tmp, Log: os.Stderr})
	if err != nil {
		return false, err
	}
	path, err := rep.WriteJSON(out)
	if err != nil {
		return false, err
	}
	fmt.Println()
	rep.WriteTable(os.Stdout)
	fmt.Printf("results: %s (and %s)\n", path, filepath.Join(out, "engine-latest.json"))
	if !rep.Pass {
		fmt.Println("some targets were missed (see the ok column)")
	}
	return rep.Pass, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-engine:", err)
	os.Exit(1)
}
