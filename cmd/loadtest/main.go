// Command loadtest drives one or more edges with a named scenario — reads
// through the edges, writes and deletes through the S3 API — and reports
// throughput, latency, hit ratio and what the consistency observer saw:
//
//	go run ./cmd/loadtest -scenario NAME -duration D -edges URL[,URL…] -host HOST -s3 URL -bucket B -out DIR
//
// The S3 key pair comes from EDGE_ACCESS_KEY_ID and EDGE_SECRET_ACCESS_KEY.
// It writes DIR/result.json and DIR/report.html (charts, self-contained)
// and prints a table; with no flags it runs a
// short scenario against the all-in-one (make run) on its default ports.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}
