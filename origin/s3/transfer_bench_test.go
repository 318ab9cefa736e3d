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

// BenchmarkGet is an anonymous GET of a 64 KiB and of a 64 MiB object over
// loopback, read whole by net/http: the S3 API's download throughput.
func BenchmarkGet(b *testing.B) {
	benchTransfers(b, func(ts *testServer, name string, body []byte) *http.Request {
		if _, err := ts.store.PutObject(context.Background(), "public", name, bytes.NewReader(body), origin.PutOptions{Size: int64(len(body))}); err != nil {
			b.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, ts.url+"/public/"+name, nil)
		return req
	}, true)
}

// BenchmarkPut is a PUT by presigned URL (UNSIGNED-PAYLOAD: no hashing in
// the client) of a 64 KiB and of a 64 MiB object over loopback: the S3
// API's upload throughput, the store's durable write included.
func BenchmarkPut(b *testing.B) {
	benchTransfers(b, func(ts *testServer, name string, body []byte) *http.Request {
		req, _ := http.NewRequest(http.MethodPut, ts.presignPut("public", name), nil)
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		return req
	}, false)
}

// benchTransfers runs, for a 64 KiB and a 64 MiB body, the request that
// prepare makes for it (bucket "public" exists), each answered 200; the
// answer's body must be the object when download is true.
func benchTransfers(b *testing.B, prepare func(ts *testServer, name string, body []byte) *http.Request, download bool) {
	ts := startServerConfig(b, s3.ServerConfig{})
	ts.mkbucket("public")
	client := &http.Client{Transport: ts.transport}
	for _, bs := range []struct {
		name string
		size int
	}{{"64KiB", 64 << 10}, {"64MiB", 64 << 20}} {
		body := bytes.Repeat([]byte("0123456789abcdef"), bs.size/16)
		req := prepare(ts, bs.name, body)
		b.Run(bs.name, func(b *testing.B) {
			b.SetBytes(int64(bs.size))
			for b.Loop() {
				if req.GetBody != nil {
					req.Body, _ = req.GetBody()
				}
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body) // not kept: 64 MiB a request
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || download && n != int64(bs.size) {
					b.Fatalf("%d: %d bytes, %v", resp.StatusCode, n, err)
				}
			}
		})
	}
}
