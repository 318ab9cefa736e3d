package s3

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/origin"
)

// FuzzRange: parseRange never panics, and what it accepts is one range
// the store can resolve without overflow.
func FuzzRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=2-5", "bytes=-3", "bytes=7-", "bytes=5-2", "bytes=0-1,3-4",
		"bytes= 1-2", "items=1-2", "bytes=-", "bytes=--1", "bytes=99999999999999999999-", "bytes=1-2-3", ""} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		spec, ok := origin.ParseRange(h)
		if !ok {
			return
		}
		if size < 0 {
			size = -size
		}
		start, n, err := spec.Resolve(size)
		if err != nil {
			return
		}
		if start < 0 || n <= 0 || start+n > size {
			t.Fatalf("%q on %d bytes resolved to start %d length %d", h, size, start, n)
		}
	})
}

// fuzzHandler serves a fresh engine with bucket "bkt" holding "a" and "b".
func fuzzHandler(f *testing.F) *Handler {
	store, err := origin.Open(f.TempDir(), &origin.Options{MinPartSize: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	if err := store.CreateBucket(context.Background(), "bkt"); err != nil {
		f.Fatal(err)
	}
	h, err := New(store, Config{})
	if err != nil {
		f.Fatal(err)
	}
	return h
}

// call runs one operation of h on a request whose body is body; the
// signature check is not what is under test.
func call(h *Handler, op handlerFunc, bucket, key, query string, body []byte) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/" + bucket + "/" + key + "?" + query)
	req.SetBody(body)
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, nil, nil)
	r := &request{ctx: ctx, id: "fuzz", bucket: bucket, key: key, hasKey: key != ""}
	if err := op(h, r); err != nil {
		h.fail(r, err)
	}
	return ctx
}

// FuzzDeleteObjectsXML: any body gets 200 with a result per key, or a 4xx
// S3 error; never a 5xx or a panic.
func FuzzDeleteObjectsXML(f *testing.F) {
	f.Add([]byte(`<Delete><Object><Key>a</Key></Object><Object><Key>b</Key></Object></Delete>`))
	f.Add([]byte(`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>`))
	f.Add([]byte(`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a/../b</Key><VersionId>x</VersionId></Object></Delete>`))
	f.Add([]byte(`<Delete><Object><Key></Key></Object></Delete>`))
	f.Add([]byte(`<Delete>`))
	f.Add([]byte(``))
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := call(h, (*Handler).deleteObjects, "bkt", "", "delete", body)
		if status := ctx.Response.StatusCode(); status != 200 && (status < 400 || status >= 500) {
			t.Fatalf("status %d for %q: %s", status, body, ctx.Response.Body())
		}
	})
}

// FuzzCompleteMultipartXML: any part list completes the upload or fails
// with a 4xx, and a failure leaves the upload in place and no object.
func FuzzCompleteMultipartXML(f *testing.F) {
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>e</ETag></Part><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload></CompleteMultipartUpload>`))
	f.Add([]byte(`not xml`))
	h := fuzzHandler(f)
	ctx := context.Background()
	n := 0
	f.Fuzz(func(t *testing.T, body []byte) {
		n++
		key := fmt.Sprint("obj", n)
		up, err := h.store.CreateMultipartUpload(ctx, "bkt", key, origin.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.UploadPart(ctx, "bkt", key, up.UploadID, 1, bytes.NewReader([]byte("part")), origin.PartOptions{Size: 4}); err != nil {
			t.Fatal(err)
		}
		rc := call(h, (*Handler).completeUpload, "bkt", key, "uploadId="+up.UploadID, body)
		status := rc.Response.StatusCode()
		_, headErr := h.store.HeadObject(ctx, "bkt", key, origin.GetOptions{})
		switch {
		case status == 200:
			if headErr != nil {
				t.Fatalf("200 for %q but no object: %v", body, headErr)
			}
		case status >= 400 && status < 500:
			if headErr == nil {
				t.Fatalf("%d for %q but the object exists", status, body)
			}
			if _, err := h.store.ListParts(ctx, "bkt", key, up.UploadID, origin.ListPartsOptions{}); err != nil {
				t.Fatalf("failed complete removed the upload: %v", err)
			}
			h.store.AbortMultipartUpload(ctx, "bkt", key, up.UploadID)
		default:
			t.Fatalf("status %d for %q: %s", status, body, rc.Response.Body())
		}
	})
}
