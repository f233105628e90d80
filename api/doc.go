// Package api holds the master's wire types, shared by the master, the worker and the CLI,
// and a Go client for them. It is a Go module of its own, github.com/ffrtmp/ffrtmp/api, that
// needs only the standard library and no cgo: a program that talks to a farm requires this
// module alone, and none of the farm's dependencies (libav bindings, tracing, plotting) come
// with it.
//
// A program that submits a job (a synthetic workload, its output discarded) and waits for
// it to end, with the master's URL (or every master of a cluster, comma-separated: see
// Client) and an API key from the environment the ffrtmp command line reads them from:
//
//	package main
//
//	import (
//		"context"
//		"fmt"
//		"log"
//		"os"
//		"time"
//
//		"github.com/ffrtmp/ffrtmp/api"
//	)
//
//	func main() {
//		ctx := context.Background()
//		c, err := api.NewClient(os.Getenv("FFRTMP_MASTER"), os.Getenv("FFRTMP_API_KEY"))
//		if err != nil {
//			log.Fatal(err)
//		}
//		job, err := c.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264"}, "")
//		for err == nil && !job.Status.Terminal() {
//			time.Sleep(time.Second)
//			job, err = c.GetJob(ctx, job.ID)
//		}
//		if err != nil {
//			log.Fatal(err)
//		}
//		fmt.Println(job.ID, job.Status)
//	}
package api
