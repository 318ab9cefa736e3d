package s3

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// sdkPutRequest carries the headers aws-sdk-go-v2 sends with a PutObject.
func sdkPutRequest() *request {
	ctx := &fasthttp.RequestCtx{}
	h := &ctx.Request.Header
	h.SetMethod("PUT")
	h.SetRequestURI("/bkt/key")
	for _, kv := range [][2]string{
		{"Host", "127.0.0.1:9000"}, {"User-Agent", "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 md/GOOS#linux api/s3#1.114.10"},
		{"Content-Length", "1024"}, {"Content-Type", "text/plain"}, {"Accept-Encoding", "identity"},
		{"Amz-Sdk-Invocation-Id", "0f4e0c6e-1d3a-4f38-9a6e-1c1c9e7f0a11"}, {"Amz-Sdk-Request", "attempt=1; max=1"},
		{"Authorization", "AWS4-HMAC-SHA256 Credential=EDGETESTKEY0000001/20261125/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("0", 64)},
		{"X-Amz-Checksum-Crc32", "DUoRhQ=="}, {"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"},
		{"X-Amz-Date", "20261125T120000Z"}, {"X-Amz-Sdk-Checksum-Algorithm", "CRC32"},
		{"X-Amz-Meta-Owner", "team-a"}, {"X-Amz-Storage-Class", "STANDARD"},
	} {
		h.Set(kv[0], kv[1])
	}
	return &request{ctx: ctx}
}

// BenchmarkCheckRequestHeaders is the header table's cost per request;
// BenchmarkHeaderWalk, a bare walk over the same headers, is its floor.
func BenchmarkCheckRequestHeaders(b *testing.B) {
	r := sdkPutRequest()
	b.ReportAllocs()
	for b.Loop() {
		if err := checkRequestHeaders(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHeaderWalk(b *testing.B) {
	r := sdkPutRequest()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for k := range r.ctx.Request.Header.All() {
			n += len(k)
		}
	}
	_ = n
}
