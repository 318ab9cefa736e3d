package redisbus_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/purge"
	"github.com/edgecdn/edge/purge/bustest"
	"github.com/edgecdn/edge/purge/redisbus"
	"github.com/edgecdn/edge/purge/redistest"
)

func open(t *testing.T, cfg redisbus.Config) *redisbus.Bus {
	t.Helper()
	b, err := redisbus.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestRedisBusConformance(t *testing.T) {
	srv := redistest.Start(t)
	bustest.Run(t, func(t *testing.T) purge.Bus {
		return open(t, redisbus.Config{URL: srv.URL(), Channel: "conformance:" + t.Name()})
	})
}

// A killed and restarted Redis breaks the subscription, which then
// reconnects by itself and says so with a Reset; a paused Redis is a
// silent fault: reads just time out, and a publish gives up at its deadline.
func TestRedisFaults(t *testing.T) {
	srv := redistest.Start(t)
	b := open(t, redisbus.Config{URL: srv.URL()})
	ctx := context.Background()
	sub, err := b.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	recv := func(timeout time.Duration) (purge.Delivery, error) {
		c, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return sub.Receive(c)
	}
	if d, err := recv(5 * time.Second); err != nil || !d.Reset {
		t.Fatalf("first delivery %+v, %v", d, err)
	}

	srv.Kill()
	if _, err := recv(2 * time.Second); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive after the kill: %v, want a connection error", err)
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := recv(200 * time.Millisecond)
		if err == nil && d.Reset {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Reset after the restart (last: %+v, %v)", d, err)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := b.Publish(pctx, []byte("back")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if d, err := recv(5 * time.Second); err != nil || string(d.Data) != "back" {
		t.Fatalf("after the restart: %+v, %v", d, err)
	}

	srv.Pause()
	if _, err := recv(200 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive from a paused Redis: %v, want a plain timeout", err)
	}
	pctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
	start := time.Now()
	err = b.Publish(pctx, []byte("lost"))
	cancel()
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Publish to a paused Redis: %v after %v, want an error at its deadline", err, time.Since(start))
	}
	srv.Resume()
}

// Credentials and TLS come from the URL and the config.
func TestRedisAuthAndTLS(t *testing.T) {
	srv := redistest.StartWith(t, redistest.Options{Users: []redistest.User{{Name: "edge", Password: "s3cret-pass"}}, TLS: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	withUser := strings.Replace(srv.URL(), "redis://", "redis://edge:s3cret-pass@", 1)
	if err := open(t, redisbus.Config{URL: withUser}).Ping(ctx); err != nil {
		t.Fatalf("ACL user: %v", err)
	}
	wrong := strings.Replace(srv.URL(), "redis://", "redis://edge:wrong@", 1)
	if err := open(t, redisbus.Config{URL: wrong}).Ping(ctx); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeCA(t, srv, ca)
	tlsURL := strings.Replace(srv.TLSURL(), "rediss://", "rediss://edge:s3cret-pass@", 1)
	if err := open(t, redisbus.Config{URL: tlsURL, TLSCAFile: ca}).Ping(ctx); err != nil {
		t.Fatalf("TLS with the CA: %v", err)
	}
	if err := open(t, redisbus.Config{URL: tlsURL}).Ping(ctx); err == nil {
		t.Fatal("TLS without the CA was accepted")
	}
}

func TestOpenRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:6379", "http://localhost:6379", "redis://", "redis://:pw@host:1/notanumber"} {
		if _, err := redisbus.Open(redisbus.Config{URL: u}); err == nil {
			t.Errorf("Open(%q) accepted it", u)
		} else if strings.Contains(err.Error(), ":pw@") {
			t.Errorf("Open(%q) error shows the password: %v", u, err)
		}
	}
}

func writeCA(t *testing.T, srv *redistest.Server, path string) {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(srv.Dir(), "ca.crt"))
	if err != nil {
		t.Fatalf("the harness's CA: %v", err)
	}
	if err := os.WriteFile(path, pem, 0o644); err != nil {
		t.Fatal(err)
	}
}

// applyTarget signals every purge it applies.
type applyTarget struct{ applied chan struct{} }

func (a *applyTarget) Apply(*purge.Message) { a.applied <- struct{}{} }
func (a *applyTarget) Flush()               {}
func (a *applyTarget) SetDegraded(bool)     {}

// BenchmarkPropagation is the time from publishing a purge to its apply on
// a subscribing edge, through a real Redis, with its p50 and p99; its
// baseline, BenchmarkRawPubSub, is a bare go-redis PUBLISH to RECEIVE on
// the same server.
//
//	go test -run '^$' -bench 'Propagation|RawPubSub' -benchtime=2000x ./purge/redisbus/
func BenchmarkPropagation(b *testing.B) {
	srv := redistest.Start(b)
	pubBus, err := redisbus.Open(redisbus.Config{URL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer pubBus.Close()
	subBus, err := redisbus.Open(redisbus.Config{URL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer subBus.Close()
	target := &applyTarget{applied: make(chan struct{}, 1)}
	sub := purge.NewSubscriber(purge.SubscriberConfig{Bus: subBus, Target: target})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sub.Run(ctx)
	for sub.Stats().Resets == 0 {
		time.Sleep(time.Millisecond)
	}
	pub := purge.NewPublisher(pubBus, nil)
	items := []purge.Item{{Kind: purge.KindURL, Host: "cdn.example.com", Key: "/img/a.png"}}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := pub.Purge(ctx, items, false, nil); err != nil {
			b.Fatal(err)
		}
		<-target.applied
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

func BenchmarkRawPubSub(b *testing.B) {
	srv := redistest.Start(b)
	pubc, subc := srv.Client(), srv.Client()
	ctx := context.Background()
	ps := subc.Subscribe(ctx, "raw")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := pubc.Publish(ctx, "raw", "purge").Err(); err != nil {
			b.Fatal(err)
		}
		if _, err := ps.ReceiveMessage(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
