// Command edgectl administers running edges through their admin API: it
// purges cached responses (edgectl purge). It also checks, explains and
// tests TTL policy files (edgectl policy), reading only the files.
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
		fmt.Fprintln(os.Stderr, "edgectl:", err)
		os.Exit(exitStatus(err))
	}
}
