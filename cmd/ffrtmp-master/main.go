// Command ffrtmp-master runs the farm's master: the job API, the scheduler and the bbolt
// store. It links no C (CGO_ENABLED=0 builds it).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ffrtmp/ffrtmp/cmd/internal/mastercmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := mastercmd.New("ffrtmp-master")
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ffrtmp-master: %v\n", err)
		os.Exit(1)
	}
}
