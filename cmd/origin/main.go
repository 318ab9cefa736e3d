// Command origin serves the built-in object store over the S3 API.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/edgecdn/edge/cmd/internal/signals"
)

func main() {
	ctx, stop := signals.Context("origin", os.Stderr, os.Exit) // a second signal exits at once
	defer stop()
	// A signal during the start ends it early: not a failure.
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil && !(ctx.Err() != nil && errors.Is(err, context.Canceled)) {
		fmt.Fprintln(os.Stderr, "origin:", err)
		os.Exit(1)
	}
}
