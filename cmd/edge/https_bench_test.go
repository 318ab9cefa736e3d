package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkHitHTTPSvsHTTP: 1 KiB hits of the all-in-one over plain HTTP
// and over HTTPS (TLS 1.3, kept-alive connections), in one run, so their
// ratio is the cost of TLS on the hit path:
//
//	go test -run '^$' -bench HitHTTPSvsHTTP ./cmd/edge
func BenchmarkHitHTTPSvsHTTP(b *testing.B) {
	a, dir := startAllInOne(b)
	putPublic(b, a, dir, "bench", strings.Repeat("x", 1024))
	crts, _ := filepath.Glob(filepath.Join(dir, "tls", "self-signed-*.crt"))
	pemData, _ := os.ReadFile(crts[0])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	run := func(b *testing.B, url string, client *http.Client) {
		if resp, err := client.Get(url); err != nil || resp.StatusCode != 200 {
			b.Fatalf("%s: %v", url, err)
		} else {
			resp.Body.Close()
		}
		b.SetBytes(1024)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	b.Run("http", func(b *testing.B) {
		run(b, "http://"+a.Edge+"/bench", &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}})
	})
	b.Run("https", func(b *testing.B) {
		tr := &http.Transport{MaxIdleConnsPerHost: 64, TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
		run(b, "https://"+a.HTTPS+"/bench", &http.Client{Transport: tr})
	})
}
