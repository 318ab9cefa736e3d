package serving

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
)

// httpServer serves on a loopback port and records when it is shut down.
func httpServer(t *testing.T, g *Group, name string, order *[]string, mu *sync.Mutex) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(name)) })}
	g.Go(name, ln, srv.Serve, func(ctx context.Context) error {
		mu.Lock()
		*order = append(*order, name)
		mu.Unlock()
		return srv.Shutdown(ctx)
	})
	return ln
}

func get(addr string) error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/")
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func TestWaitEndsWithTheContextAndShutdownGoesInReverse(t *testing.T) {
	g := New(zap.NewNop())
	var order []string
	var mu sync.Mutex
	admin := httpServer(t, g, "admin", &order, &mu)
	edge := httpServer(t, g, "edge", &order, &mu)
	if err := get(edge.Addr().String()); err != nil {
		t.Fatalf("edge not serving: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Wait(ctx); err != nil {
		t.Fatalf("Wait after the context ended: %v, want nil", err)
	}
	g.Shutdown(5 * time.Second)
	g.Shutdown(5 * time.Second) // a second call is a no-op
	if strings.Join(order, ",") != "edge,admin" {
		t.Fatalf("shutdown order %v, want the last started first", order)
	}
	for _, ln := range []net.Listener{admin, edge} {
		if get(ln.Addr().String()) == nil {
			t.Fatalf("%s still answers after Shutdown", ln.Addr())
		}
	}
}

// A server whose listener fails is reported by name, and Shutdown stops
// the others.
func TestWaitReportsAServerThatStopsByItself(t *testing.T) {
	g := New(zap.NewNop())
	var order []string
	var mu sync.Mutex
	admin := httpServer(t, g, "admin", &order, &mu)
	edge := httpServer(t, g, "edge", &order, &mu)
	edge.Close() // what a failed accept loop looks like to Serve

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := g.Wait(ctx)
	if err == nil || !strings.Contains(err.Error(), "edge server") {
		t.Fatalf("Wait: %v, want the edge server's stop", err)
	}
	if get(admin.Addr().String()) != nil {
		t.Fatal("the admin server stopped before Shutdown")
	}
	g.Shutdown(5 * time.Second)
	if get(admin.Addr().String()) == nil {
		t.Fatal("the admin server still answers after Shutdown")
	}
}

// A request that outlives the drain time makes Drained false, so what it
// uses is not closed under it.
func TestDrainedIsFalseWhenARequestOutlivesShutdown(t *testing.T) {
	g := New(zap.NewNop())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		close(entered)
		<-release
	})}
	g.Go("slow", ln, srv.Serve, srv.Shutdown)
	go get(ln.Addr().String())
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the handler")
	}
	if !g.Drained() {
		t.Fatal("Drained before any shutdown")
	}
	g.Shutdown(50 * time.Millisecond)
	close(release)
	if g.Drained() {
		t.Fatal("Drained after a shutdown that gave up on a running request")
	}
}

// A fasthttp server shut down before its Serve has registered the
// listener would serve on forever; Shutdown still returns, since it
// closes the listener too.
func TestShutdownBeforeServeStarts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(*fasthttp.RequestCtx) {}}
	shutDown := make(chan struct{})
	g := New(zap.NewNop())
	g.Go("late", ln, func(ln net.Listener) error {
		<-shutDown
		return srv.Serve(ln)
	}, func(ctx context.Context) error {
		defer close(shutDown)
		return srv.ShutdownWithContext(ctx)
	})
	done := make(chan struct{})
	go func() { g.Shutdown(time.Second); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return: the late Serve kept serving")
	}
}
