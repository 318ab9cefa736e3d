// Package systemtest starts, for one test, an origin store with its S3
// API and an edge over it on loopback ports: what the load test drives.
package systemtest

import (
	"context"
	"net"
	"testing"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
)

// The key pair the S3 API accepts, and the site's Host and bucket.
const (
	AccessKey = "LOADTESTKEY000000001"
	SecretKey = "loadtest/secret/0123456789abcdefghij"
	Host      = "cdn.test"
	Bucket    = "loadtest"
)

// System is an origin store with its S3 API and an edge over it, on
// loopback ports, for one test; consistency is the edge site's.
type System struct {
	S3URL, EdgeURL string
}

func Start(t testing.TB, c edge.Consistency) System {
	t.Helper()
	var ed *edge.Edge
	engine, err := origin.Open(t.TempDir(), &origin.Options{Sink: origin.EventSinkFunc(func(ev origin.Event) {
		if ed != nil {
			ed.ApplyEvent(ev) // the store's writes purge in process, before they return
		}
	})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	if err := engine.CreateBucket(context.Background(), Bucket); err != nil {
		t.Fatal(err)
	}
	h, err := s3.New(engine, s3.Config{Credentials: map[string]string{AccessKey: SecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(srvServe func(net.Listener) error, shutdown func() error) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { srvServe(ln); close(done) }()
		t.Cleanup(func() {
			shutdown()
			ln.Close() // a shutdown before Serve began would leave it serving
			<-done
		})
		return "http://" + ln.Addr().String()
	}
	s3srv := s3.NewServer(h, s3.ServerConfig{})
	sys := System{S3URL: serve(s3srv.Serve, s3srv.Shutdown)}
	ed, err = edge.New(edge.Config{Sites: []edge.Site{{Hosts: []string{Host}, Bucket: Bucket, Consistency: c}}}, edge.FromStore(engine))
	if err != nil {
		t.Fatal(err)
	}
	edsrv := edge.NewServer(ed, edge.ServerConfig{})
	sys.EdgeURL = serve(edsrv.Serve, edsrv.Shutdown)
	t.Cleanup(ed.Close)
	return sys
}
