package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/internal/pebbletest"
	"github.com/edgecdn/edge/purge/redistest"
)

// acmeDir is a test's directory for edges that order certificates. It
// is removed once the test's edges have stopped, trying again for a
// while: certmagic runs renewals in one job list per process, which an
// edge that stops cannot wait for, so a renewal may still write its
// storage (a lock file, say) during the first removal.
func acmeDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "edge-acme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for err := os.RemoveAll(dir); err != nil; err = os.RemoveAll(dir) {
			if time.Now().After(deadline) {
				t.Errorf("removing %s: %v", dir, err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dir
}

// acmeEdge runs an edge on config path with pre-bound listeners (the
// ports Pebble validates on) until the test ends.
func acmeEdge(t *testing.T, path, data string, httpLn, tlsLn net.Listener) addrs {
	t.Helper()
	pre := map[string]net.Listener{httpLn.Addr().String(): httpLn, tlsLn.Addr().String(): tlsLn}
	listen := func(network, address string) (net.Listener, error) {
		if ln := pre[address]; ln != nil {
			return ln, nil
		}
		return net.Listen(network, address)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	logs := &lockedWriter{w: &strings.Builder{}}
	args := []string{"-config", path, "-data", data, "-listen", httpLn.Addr().String(),
		"-tls-listen", tlsLn.Addr().String(), "-admin", "127.0.0.1:0", "-s3", "127.0.0.1:0"}
	go func() { done <- runListening(ctx, args, io.Discard, logs, func(a addrs) { ready <- a }, listen) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() || os.Getenv("ACME_TEST_LOG") != "" {
			logs.mu.Lock()
			t.Logf("edge log:\n%s", logs.w.(*strings.Builder).String())
			logs.mu.Unlock()
		}
	})
	select {
	case a := <-ready:
		return a
	case err := <-done:
		t.Fatalf("edge stopped at start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("edge did not start")
	}
	return addrs{}
}

func loopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// servedSerial is the serial of the certificate the edge at addr serves
// for name, verified against roots.
func servedSerial(addr, name string, roots *x509.CertPool) (string, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{ServerName: name, RootCAs: roots})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

// waitServed polls until the edge serves a certificate for name that is
// not old (one is issued, or renewed), within d.
func waitServed(t *testing.T, addr, name, old string, roots *x509.CertPool, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s, err := servedSerial(addr, name, roots)
		if err == nil && s != old {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new certificate for %s on %s within %v (serving %q, %v)", name, addr, d, s, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Certificates ordered from Pebble, Let's Encrypt's test CA, which
// validates each challenge for real against the edge's own ports: one
// run answers HTTP-01 on the plain HTTP port, one TLS-ALPN-01 on the
// HTTPS port. Pebble's certificates live 8 s here, so the edge renews
// them while the test watches.
func TestACMEWithPebble(t *testing.T) {
	t.Parallel() // minutes of waiting on a CA, side by side with the rest
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run(challenge, func(t *testing.T) {
			t.Parallel()
			// Names of their own per run: certmagic queues renewals in one
			// job list per process, by name, and drops a job whose name
			// is queued already, so the other run's edge would renew and
			// this one never.
			site, shops := challenge+".secure.test", challenge+".shops.test"
			httpLn, tlsLn := loopback(t), loopback(t)
			peb := pebbletest.Start(t, pebbletest.Options{HTTPPort: portOf(httpLn.Addr()), TLSPort: portOf(tlsLn.Addr()), Validity: 8 * time.Second})
			dir := acmeDir(t)
			path := filepath.Join(dir, "edge.yaml")
			os.WriteFile(path, []byte(`public_buckets: [public]
acme:
  ca: `+peb.Directory+`
  email: ops@example.com
  ca_root: `+peb.CAFile+`
  challenges: [`+challenge+`]
  renew_check_interval: 1s
  on_demand: ["*.`+shops+`"]
sites:
  - hosts: [`+site+`]
    bucket: public
    tls: {acme: true}
`), 0o644)
			a := acmeEdge(t, path, filepath.Join(dir, "data"), httpLn, tlsLn)
			putPublic(t, a, filepath.Join(dir, "data"), "doc", "ordered")
			roots := peb.Roots(t)
			first := waitServed(t, a.HTTPS, site, "", roots, 60*time.Second) // the handshake fails until then
			if resp, body := get(t, httpsClient(a.HTTPS, roots), "https://"+site+"/doc"); resp.StatusCode != 200 || body != "ordered" {
				t.Fatalf("https://%s/doc: %d %q", site, resp.StatusCode, body)
			}
			// A name no site lists gets nothing, and is never ordered;
			// one the on-demand allow-list admits is, at its first
			// handshake.
			for _, name := range []string{"attacker.test", "a.b." + shops} {
				for _, protos := range [][]string{nil, {"acme-tls/1"}} { // a TLS-ALPN-01 handshake too
					if _, err := tls.Dial("tcp", a.HTTPS, &tls.Config{ServerName: name, NextProtos: protos, InsecureSkipVerify: true}); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
						t.Errorf("%s %v, neither listed nor allowed: %v", name, protos, err)
					}
				}
			}
			waitServed(t, a.HTTPS, "cafe."+shops, "", roots, 60*time.Second)
			waitServed(t, a.HTTPS, site, first, roots, 60*time.Second) // renewed ahead of expiry
		})
	}
}

// Two edges sharing their ACME storage in Redis order the certificate
// once: the CA validates against one edge's port whichever edge ordered
// (it answers from the shared storage), and both serve the same one.
func TestACMESharedStorageOrdersOnce(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	http1, tls1 := loopback(t), loopback(t)
	peb := pebbletest.Start(t, pebbletest.Options{HTTPPort: portOf(http1.Addr()), TLSPort: portOf(tls1.Addr())})
	dir := acmeDir(t)
	path := filepath.Join(dir, "edge.yaml")
	os.WriteFile(path, []byte(`public_buckets: [public]
redis: `+rds.URL()+`
acme:
  ca: `+peb.Directory+`
  email: ops@example.com
  ca_root: `+peb.CAFile+`
  challenges: [http-01]
  storage: redis
sites:
  - hosts: [shared.test]
    bucket: public
    tls: {acme: true}
`), 0o644)
	a1 := acmeEdge(t, path, filepath.Join(dir, "data1"), http1, tls1)
	a2 := acmeEdge(t, path, filepath.Join(dir, "data2"), loopback(t), loopback(t))
	roots := peb.Roots(t)
	s1 := waitServed(t, a1.HTTPS, "shared.test", "", roots, 60*time.Second)
	s2 := waitServed(t, a2.HTTPS, "shared.test", "", roots, 60*time.Second)
	if s1 != s2 {
		t.Fatalf("the edges serve certificates %s and %s: each ordered its own", s1, s2)
	}
	if n := peb.Issued(t); n != 1 {
		t.Fatalf("Pebble issued %d certificates for two edges sharing their storage, want 1", n)
	}
}
