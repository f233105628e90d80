// Command ffrtmp-worker turns a machine into farm capacity: it probes what the hardware can
// really do, registers with the master, and runs leased jobs, each in an executor process of
// this same binary. `ffrtmp worker` is the same command (package workercmd).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ffrtmp/ffrtmp/cmd/internal/workercmd"
	"github.com/ffrtmp/ffrtmp/worker/executor"
)

func main() {
	// The executor child: no flags, no config, the job on stdin.
	if len(os.Args) > 1 && os.Args[1] == workercmd.ExecArg {
		os.Exit(executor.Main(os.Stdin, os.Stdout))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := workercmd.New("ffrtmp-worker").ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ffrtmp-worker: %v\n", err)
		os.Exit(1)
	}
}
