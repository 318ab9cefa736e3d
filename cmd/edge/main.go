// Command edge is the all-in-one CDN edge: the caching edge on :8080, the
// embedded origin store with its S3 API on :9000 and the admin endpoints
// (/healthz, /readyz, /metrics, the purge API) on 127.0.0.1:8081.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/edgecdn/edge/cmd/internal/signals"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Args[2:], os.Stderr))
	}
	ctx, stop := signals.Context("edge", os.Stderr, os.Exit) // a second signal exits at once
	defer stop()
	// A signal during the start ends it early: not a failure.
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil && !(ctx.Err() != nil && errors.Is(err, context.Canceled)) {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}
