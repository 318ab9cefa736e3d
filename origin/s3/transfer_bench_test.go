package s3_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
)

var benchSizes = []struct {
	name string
	size int
}{{"64KiB", 64 << 10}, {"64MiB", 64 << 20}}

// BenchmarkGet is an anonymous GET of a 64 KiB and of a 64 MiB object over
// loopback, read whole by net/http: the S3 API's download throughput.
func BenchmarkGet(b *testing.B) {
	ts := startServerConfig(b, s3.ServerConfig{})
	ts.mkbucket("public")
	client := &http.Client{Transport: ts.transport}
	for _, bs := range benchSizes {
		body := bytes.Repeat([]byte("0123456789abcdef"), bs.size/16)
		if _, err := ts.store.PutObject(context.Background(), "public", bs.name, bytes.NewReader(body), origin.PutOptions{Size: int64(bs.size)}); err != nil {
			b.Fatal(err)
		}
		b.Run(bs.name, func(b *testing.B) {
			b.SetBytes(int64(bs.size))
			for b.Loop() {
				resp, err := client.Get(ts.url + "/public/" + bs.name)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != int64(bs.size) || resp.StatusCode != 200 {
					b.Fatalf("%d: %d bytes, %v", resp.StatusCode, n, err)
				}
			}
		})
	}
}

// BenchmarkPut is a PUT by presigned URL (UNSIGNED-PAYLOAD: no hashing in
// the client) of a 64 KiB and of a 64 MiB object over loopback: the S3
// API's upload throughput, the store's durable write included.
func BenchmarkPut(b *testing.B) {
	ts := startServerConfig(b, s3.ServerConfig{})
	ts.mkbucket("public")
	client := &http.Client{Transport: ts.transport}
	for _, bs := range benchSizes {
		body := bytes.Repeat([]byte("0123456789abcdef"), bs.size/16)
		url := ts.presignPut("public", bs.name)
		b.Run(bs.name, func(b *testing.B) {
			b.SetBytes(int64(bs.size))
			for b.Loop() {
				req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				answer, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%d: %s", resp.StatusCode, answer)
				}
			}
		})
	}
}
