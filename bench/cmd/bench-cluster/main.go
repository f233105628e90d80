// Command bench-cluster measures replicated masters beside a single one in the same run: it
// builds ffrtmp-master with CGO_ENABLED=0, runs one master and then a three-member cluster
// on loopback with fsync on, drives them from this process (submits through the leader and
// through a follower, leases with a deep queue, leader SIGKILLs), prints a table and writes
// the results as JSON.
//
//	go run ./bench/cmd/bench-cluster -out bench/results [-quick] [-kills 20] [-cases submit,lease,failover]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ffrtmp/ffrtmp/bench/clusterbench"
)

func main() {
	out := flag.String("out", "bench/results", "folder for the JSON results (and, while it runs, the masters' temporary folder)")
	quick := flag.Bool("quick", false, "small sizes for a smoke run (2 s of submits, 10k queued, 100 workers, 3 kills)")
	duration := flag.Duration("duration", 0, "measured submit time (default 10s, 2s with -quick)")
	clients := flag.Int("clients", 0, "concurrent submit clients (default 64)")
	kills := flag.Int("kills", 0, "leader SIGKILLs (default 20, 3 with -quick)")
	timeout := flag.Duration("cluster-timeout", 0, "the members' --cluster-timeout (default 500ms, the master's own default)")
	casesFlag := flag.String("cases", strings.Join(clusterbench.Cases, ","), "cases to run: "+strings.Join(clusterbench.Cases, ", "))
	masterBin := flag.String("master", "", "run this ffrtmp-master binary instead of building one (to compare builds)")
	keep := flag.Bool("keep", false, "keep the temporary folder (master binary, databases, raft logs, master logs)")
	strict := flag.Bool("strict", false, "exit with status 3 when a target is missed")
	flag.Parse()

	p := clusterbench.FullProfile()
	if *quick {
		p = clusterbench.QuickProfile()
	}
	if *duration < 0 || *clients < 0 || *kills < 0 || *timeout < 0 {
		fail(fmt.Errorf("-duration, -clients, -kills and -cluster-timeout must not be negative"))
	}
	if *duration > 0 {
		p.Duration = *duration
	}
	if *clients > 0 {
		p.Clients = *clients
	}
	if *kills > 0 {
		p.Kills = *kills
	}
	if *timeout > 0 {
		p.ClusterTimeout = *timeout
	}
	cases := strings.Split(*casesFlag, ",")
	if err := clusterbench.CheckCases(cases); err != nil {
		fail(err)
	}
	pass, err := run(clusterbench.Options{Profile: p, Cases: cases, OutDir: *out, KeepTemp: *keep, MasterBin: *masterBin, Log: os.Stderr})
	if err != nil {
		fail(err)
	}
	if !pass && *strict {
		os.Exit(3)
	}
}

func run(opts clusterbench.Options) (bool, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := clusterbench.Run(ctx, opts)
	if err != nil {
		return false, err
	}
	path, err := rep.WriteJSON(opts.OutDir)
	if err != nil {
		return false, err
	}
	fmt.Println()
	for _, c := range rep.Cases {
		fmt.Printf("%s via %s: %s\n", c.Name, c.Via, c.Description)
		for _, s := range c.Setup {
			fmt.Printf("  %s\n", s)
		}
	}
	fmt.Printf("machine: %s, %d cores, %s, commit %s, load %s, fsync %.2f ms\n\n", rep.Machine.CPU, rep.Machine.Cores,
		rep.Machine.GoVersion, rep.Machine.Commit, rep.Machine.LoadAverage, rep.Machine.FsyncMs)
	rep.WriteTable(os.Stdout)
	fmt.Printf("results: %s (and %s)\n", path, filepath.Join(opts.OutDir, "cluster-latest.json"))
	if !rep.Pass {
		fmt.Println("some targets were missed (see the met? column)")
	}
	return rep.Pass, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-cluster:", err)
	os.Exit(1)
}
