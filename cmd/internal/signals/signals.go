// Package signals is how the commands stop: the first SIGINT or SIGTERM
// starts a graceful shutdown (the returned context ends), and a second
// one ends the process at once, for an operator who will not wait for
// the drain.
package signals

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Context ends at the first signal; at the second, exit(1) runs after a
// line on stderr naming the command. stop releases the signals.
func Context(name string, stderr io.Writer, exit func(int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		cancel()
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "%s: a second %v: exiting now, without waiting for the shutdown\n", name, s)
			exit(1)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel()
		})
	}
}
