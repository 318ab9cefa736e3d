package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/internal/pebbletest"
)

// Certificates ordered from Pebble, Let's Encrypt's test CA, which
// validates each challenge for real against the edge's own ports: one
// run answers HTTP-01 on the plain HTTP port, one TLS-ALPN-01 on the
// HTTPS port. Pebble's certificates live 20 s here, so the edge renews
// them while the test watches.
func TestACMEWithPebble(t *testing.T) {
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run(challenge, func(t *testing.T) {
			httpLn, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			peb := pebbletest.Start(t, pebbletest.Options{HTTPPort: portOf(httpLn.Addr()), TLSPort: portOf(tlsLn.Addr()), Validity: 20 * time.Second})
			dir := t.TempDir()
			path := filepath.Join(dir, "edge.yaml")
			os.WriteFile(path, []byte(`public_buckets: [public]
acme:
  ca: `+peb.Directory+`
  email: ops@example.com
  ca_root: `+peb.CAFile+`
  challenges: [`+challenge+`]
  renew_check_interval: 1s
sites:
  - hosts: [secure.test]
    bucket: public
    tls: {acme: true}
`), 0o644)
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
			var logs lockedWriter
			logs.w = &strings.Builder{}
			args := []string{"-config", path, "-data", filepath.Join(dir, "data"), "-listen", httpLn.Addr().String(),
				"-tls-listen", tlsLn.Addr().String(), "-admin", "127.0.0.1:0", "-s3", "127.0.0.1:0"}
			go func() { done <- runListening(ctx, args, io.Discard, &logs, func(a addrs) { ready <- a }, listen) }()
			t.Cleanup(func() {
				cancel()
				<-done
				if t.Failed() || os.Getenv("ACME_TEST_LOG") != "" {
					t.Logf("edge log:\n%s", logs.w.(*strings.Builder).String())
				}
			})
			var a addrs
			select {
			case a = <-ready:
			case err := <-done:
				t.Fatalf("edge stopped at start: %v", err)
			case <-time.After(20 * time.Second):
				t.Fatal("edge did not start")
			}
			putPublic(t, a, filepath.Join(dir, "data"), "doc", "ordered")
			roots := peb.Roots(t)

			// The first certificate: the handshake fails until it is issued.
			serial := func() (string, error) {
				c, err := tls.Dial("tcp", a.HTTPS, &tls.Config{ServerName: "secure.test", RootCAs: roots})
				if err != nil {
					return "", err
				}
				defer c.Close()
				return c.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
			}
			var first string
			deadline := time.Now().Add(60 * time.Second)
			for first, err = serial(); err != nil; first, err = serial() {
				if time.Now().After(deadline) {
					t.Fatalf("no certificate from Pebble within 60 s: %v", err)
				}
				time.Sleep(200 * time.Millisecond)
			}
			if resp, body := get(t, httpsClient(a.HTTPS, roots), "https://secure.test/doc"); resp.StatusCode != 200 || body != "ordered" {
				t.Fatalf("https://secure.test/doc: %d %q", resp.StatusCode, body)
			}
			// A name no site lists gets nothing, and is never ordered.
			if _, err := tls.Dial("tcp", a.HTTPS, &tls.Config{ServerName: "attacker.test", InsecureSkipVerify: true}); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
				t.Errorf("a name no site lists: %v", err)
			}
			// The renewal, ahead of expiry.
			for {
				now, err := serial()
				if err == nil && now != first {
					break
				}
				if time.Now().After(deadline.Add(30 * time.Second)) {
					t.Fatalf("the certificate %s was not renewed (now %s, %v)", first, now, err)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}
