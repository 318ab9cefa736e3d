// Command origin serves the built-in object store over the S3 API.
package main

import (
	"fmt"
	"os"

	"github.com/edgecdn/edge/cmd/internal/signals"
)

func main() {
	ctx, stop := signals.Context("origin", os.Stderr, os.Exit) // a second signal exits at once
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "origin:", err)
		os.Exit(1)
	}
}
