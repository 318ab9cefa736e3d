package s3_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
)

// BenchmarkGet is an anonymous GET of a 64 KiB and of a 64 MiB object over
// loopback, read whole by net/http: the S3 API's download throughput.
func BenchmarkGet(b *testing.B) {
	store, err := origin.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.CreateBucket(ctx, "public"); err != nil {
		b.Fatal(err)
	}
	sizes := map[string]int{"64KiB": 64 << 10, "64MiB": 64 << 20}
	for name, size := range sizes {
		body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
		if _, err := store.PutObject(ctx, "public", name, bytes.NewReader(body), origin.PutOptions{Size: int64(size)}); err != nil {
			b.Fatal(err)
		}
	}
	h, err := s3.New(store, s3.Config{PublicBuckets: []string{"public"}})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := s3.NewServer(h, s3.ServerConfig{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	defer func() {
		client.CloseIdleConnections()
		srv.Shutdown()
		ln.Close()
		<-done
	}()
	for _, name := range []string{"64KiB", "64MiB"} {
		b.Run(name, func(b *testing.B) {
			url, size := "http://"+ln.Addr().String()+"/public/"+name, int64(sizes[name])
			b.SetBytes(size)
			for b.Loop() {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != size || resp.StatusCode != 200 {
					b.Fatalf("%d: %d bytes, %v", resp.StatusCode, n, err)
				}
			}
		})
	}
}
