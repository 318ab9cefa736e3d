// Package serving runs a command's servers as one: each serves until the
// command stops, and a server that stops by itself (its listener failed)
// stops the command instead of leaving it half up.
package serving

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// A Group is the servers of one process.
type Group struct {
	log     *zap.Logger
	stopped chan error    // a server that stopped by itself
	done    chan struct{} // closed by Shutdown: stops are expected
	serving sync.WaitGroup
	servers []server
	once    sync.Once
	stuck   bool // a server's requests outlived its drain time
}

type server struct {
	name     string
	ln       net.Listener
	shutdown func(context.Context) error
}

// New is an empty group that logs to log.
func New(log *zap.Logger) *Group {
	return &Group{log: log, stopped: make(chan error), done: make(chan struct{})}
}

// Go starts serve on ln and keeps shutdown for Shutdown. Servers are shut
// down in the reverse order of Go: start the admin port first, so that it
// answers (not ready) while traffic drains.
func (g *Group) Go(name string, ln net.Listener, serve func(net.Listener) error, shutdown func(context.Context) error) {
	g.servers = append(g.servers, server{name, ln, shutdown})
	g.serving.Add(1)
	go func() {
		defer g.serving.Done()
		err := serve(ln)
		if err == nil || errors.Is(err, http.ErrServerClosed) {
			err = errors.New("stopped serving")
		}
		select {
		case g.stopped <- fmt.Errorf("%s server: %w", name, err):
		case <-g.done:
		}
	}()
}

// Wait returns nil when ctx ends, or the error of the first server that
// stopped by itself. Either way, call Shutdown next.
func (g *Group) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-g.stopped:
		return err
	}
}

// Shutdown stops the servers, the last started first, each letting its
// requests in flight finish within timeout, and returns once every Serve
// has. Calls after the first do nothing.
func (g *Group) Shutdown(timeout time.Duration) {
	g.once.Do(func() { g.shutdown(timeout) })
}

func (g *Group) shutdown(timeout time.Duration) {
	close(g.done)
	for i := len(g.servers) - 1; i >= 0; i-- {
		s := g.servers[i]
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		if err := s.shutdown(ctx); err != nil {
			g.stuck = true
			g.log.Warn("shutdown", zap.String("server", s.name), zap.Error(err))
		}
		cancel()
		// A server shut down before its Serve registered the listener
		// (fasthttp's) does not know to stop: a closed listener makes
		// that Serve return at once.
		s.ln.Close()
		g.log.Info("stopped", zap.String("server", s.name), zap.Duration("took", time.Since(start)))
	}
	g.serving.Wait()
}

// Drained is false when Shutdown gave up on requests still running: what
// they use must then not be closed under them.
func (g *Group) Drained() bool { return !g.stuck }
