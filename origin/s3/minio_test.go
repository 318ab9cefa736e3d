package s3_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/edgecdn/edge/origin"
)

// The minio-go client over plain HTTP streams PutObject and UploadPart bodies
// as aws-chunked with a signature per 64 KiB chunk
// (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD), which the
// server must verify and strip.

// wireRecorder is a minio client's transport: it notes what each request
// put on the wire, and can alter one byte of PUT bodies in transit.
type wireRecorder struct {
	base http.RoundTripper
	// flipAt, when positive, is the offset of the PUT body byte to invert.
	flipAt int64

	mu   sync.Mutex
	reqs []wireRequest
}

type wireRequest struct {
	method, path, query string
	contentSHA256       string // x-amz-content-sha256
	decodedLength       string // x-amz-decoded-content-length
	contentLength       int64
}

func (w *wireRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	w.mu.Lock()
	w.reqs = append(w.reqs, wireRequest{
		method: req.Method, path: req.URL.EscapedPath(), query: req.URL.RawQuery,
		contentSHA256: req.Header.Get("X-Amz-Content-Sha256"),
		decodedLength: req.Header.Get("X-Amz-Decoded-Content-Length"),
		contentLength: req.ContentLength,
	})
	w.mu.Unlock()
	if w.flipAt > 0 && req.Method == http.MethodPut && req.Body != nil {
		req = req.Clone(req.Context())
		req.Body = &byteFlipper{ReadCloser: req.Body, at: w.flipAt}
		req.GetBody = nil
	}
	return w.base.RoundTrip(req)
}

// puts returns the recorded PUT requests that carried a body.
func (w *wireRecorder) puts() []wireRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []wireRequest
	for _, r := range w.reqs {
		if r.method == http.MethodPut && r.contentLength != 0 {
			out = append(out, r)
		}
	}
	return out
}

// byteFlipper inverts the byte at offset at of the stream it reads.
type byteFlipper struct {
	io.ReadCloser
	at, pos int64
}

func (f *byteFlipper) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if f.at >= f.pos && f.at < f.pos+int64(n) {
		p[f.at-f.pos] ^= 0xff
	}
	f.pos += int64(n)
	return n, err
}

// newMinio is a minio-go client for ts, path-style over plain HTTP, that
// does not retry, with its requests recorded by the returned recorder.
func newMinio(t *testing.T, ts *testServer, secret string) (*minio.Client, *wireRecorder) {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	rec := &wireRecorder{base: tr}
	mc, err := minio.New(strings.TrimPrefix(ts.url, "http://"), &minio.Options{
		Creds:        credentials.NewStaticV4(testKeyID, secret, ""),
		Secure:       false,
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
		Transport:    rec,
		MaxRetries:   1,
	})
	if err != nil {
		t.Fatalf("minio.New: %v", err)
	}
	return mc, rec
}

// requireChunkSigned fails unless every PUT with a body that rec saw was
// sent as aws-chunked with chunk signatures, and logs the modes used.
func requireChunkSigned(t *testing.T, rec *wireRecorder, wantPuts int) {
	t.Helper()
	puts := rec.puts()
	if len(puts) != wantPuts {
		t.Fatalf("minio-go sent %d PUT requests with a body, want %d: %+v", len(puts), wantPuts, puts)
	}
	for _, p := range puts {
		t.Logf("PUT %s?%s: x-amz-content-sha256 %s, x-amz-decoded-content-length %s, Content-Length %d",
			p.path, p.query, p.contentSHA256, p.decodedLength, p.contentLength)
		if !strings.HasPrefix(p.contentSHA256, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
			t.Fatalf("PUT %s?%s was sent with x-amz-content-sha256 %q, not as signed aws-chunked: the chunk signature path is not exercised",
				p.path, p.query, p.contentSHA256)
		}
	}
}

// readMinioObject reads a whole object through minio-go.
func readMinioObject(t *testing.T, mc *minio.Client, bucket, key string) []byte {
	t.Helper()
	obj, err := mc.GetObject(t.Context(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("minio GetObject %s/%s: %v", bucket, key, err)
	}
	defer obj.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, obj); err != nil {
		t.Fatalf("minio GetObject %s/%s: reading: %v", bucket, key, err)
	}
	return buf.Bytes()
}

func minioCode(err error) string { return minio.ToErrorResponse(err).Code }

// A known-size PutObject is one chunk-signed PUT; what is stored is the
// payload alone, without the chunk framing.
func TestMinioStreamingSignedPut(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	mc, rec := newMinio(t, ts, testSecret)
	const size = 3 << 20
	data := patternBytes("minio-3mib", size)

	info, err := mc.PutObject(t.Context(), "bkt", "streamed.bin", bytes.NewReader(data), size,
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatalf("PutObject of 3 MiB: %v", err)
	}
	requireChunkSigned(t, rec, 1)
	if p := rec.puts()[0]; p.contentLength <= size || p.decodedLength != "3145728" {
		t.Errorf("the PUT carried Content-Length %d and x-amz-decoded-content-length %q; want framing on top of 3145728 bytes",
			p.contentLength, p.decodedLength)
	}
	if info.Size != size {
		t.Errorf("PutObject reported size %d, want %d", info.Size, size)
	}

	got := readMinioObject(t, mc, "bkt", "streamed.bin")
	if len(got) != size || sha256Hex(got) != sha256Hex(data) {
		t.Fatalf("GetObject returned %d bytes with sha256 %s; uploaded %d bytes with sha256 %s",
			len(got), sha256Hex(got), size, sha256Hex(data))
	}
	st, err := mc.StatObject(t.Context(), "bkt", "streamed.bin", minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject: %v", err)
	}
	stored, err := ts.store.HeadObject(t.Context(), "bkt", "streamed.bin", origin.GetOptions{})
	if err != nil {
		t.Fatalf("store HeadObject: %v", err)
	}
	if st.Size != size || stored.Size != size {
		t.Fatalf("object size: StatObject %d, store %d; want %d (the chunk framing must not be stored)", st.Size, stored.Size, size)
	}
	if st.ETag != info.ETag || stored.ETag != info.ETag {
		t.Errorf("ETag: PutObject %s, StatObject %s, store %s", info.ETag, st.ETag, stored.ETag)
	}
}

// With an unknown size minio-go uploads parts of PartSize, each one a
// chunk-signed PUT, and completes them into one object.
func TestMinioUnknownSizeMultipart(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	mc, rec := newMinio(t, ts, testSecret)
	const size = 12 << 20
	data := patternBytes("minio-12mib", size)

	// io.MultiReader hides the length: minio-go cannot learn the size.
	info, err := mc.PutObject(t.Context(), "bkt", "unknown-size.bin", io.MultiReader(bytes.NewReader(data)), -1,
		minio.PutObjectOptions{PartSize: 5 << 20})
	if err != nil {
		t.Fatalf("PutObject of unknown size: %v", err)
	}
	requireChunkSigned(t, rec, 3)
	for _, p := range rec.puts() {
		if !strings.Contains(p.query, "uploadId=") {
			t.Errorf("PUT %s?%s is not an UploadPart", p.path, p.query)
		}
	}
	if !strings.HasSuffix(info.ETag, "-3") {
		t.Errorf("multipart ETag %q, want the -3 suffix of three parts", info.ETag)
	}
	got := readMinioObject(t, mc, "bkt", "unknown-size.bin")
	if len(got) != size || sha256Hex(got) != sha256Hex(data) {
		t.Fatalf("GetObject returned %d bytes with sha256 %s; uploaded %d bytes with sha256 %s",
			len(got), sha256Hex(got), size, sha256Hex(data))
	}
	st, err := mc.StatObject(t.Context(), "bkt", "unknown-size.bin", minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject: %v", err)
	}
	if st.Size != size || !strings.HasSuffix(st.ETag, "-3") {
		t.Fatalf("StatObject: size %d ETag %q; want %d and a -3 suffix", st.Size, st.ETag, size)
	}
}

// User metadata, listing, copy and batch delete as minio-go users do them.
func TestMinioMetadataListCopyRemove(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	mc, _ := newMinio(t, ts, testSecret)
	c := t.Context()

	meta := map[string]string{"Color": "blue", "Owner": "edge team", "Note": "héllo wörld"}
	if _, err := mc.PutObject(c, "bkt", "docs/a.txt", strings.NewReader("alpha"), 5,
		minio.PutObjectOptions{ContentType: "text/plain", UserMetadata: meta}); err != nil {
		t.Fatalf("PutObject docs/a.txt: %v", err)
	}
	st, err := mc.StatObject(c, "bkt", "docs/a.txt", minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject: %v", err)
	}
	for k, v := range meta {
		if st.UserMetadata[k] != v {
			t.Errorf("StatObject user metadata %s = %q, want %q (all: %v)", k, st.UserMetadata[k], v, st.UserMetadata)
		}
	}
	if st.ContentType != "text/plain" || st.Size != 5 {
		t.Errorf("StatObject: Content-Type %q size %d, want text/plain and 5", st.ContentType, st.Size)
	}

	for _, k := range []string{"docs/b c.txt", "docs/sub/d.txt", "other.txt"} {
		if _, err := mc.PutObject(c, "bkt", k, strings.NewReader(k), int64(len(k)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject %s: %v", k, err)
		}
	}
	list := func(prefix string, recursive bool) []string {
		t.Helper()
		var keys []string
		for o := range mc.ListObjects(c, "bkt", minio.ListObjectsOptions{Prefix: prefix, Recursive: recursive}) {
			if o.Err != nil {
				t.Fatalf("ListObjects prefix %q recursive %v: %v", prefix, recursive, o.Err)
			}
			keys = append(keys, o.Key)
		}
		return keys
	}
	if got, want := list("docs/", true), []string{"docs/a.txt", "docs/b c.txt", "docs/sub/d.txt"}; !slices.Equal(got, want) {
		t.Errorf("recursive listing of docs/ = %q, want %q", got, want)
	}
	// Non-recursive: one level, common prefixes as entries. minio-go hands
	// out a page's objects before its prefixes, so compare sorted.
	sorted := func(s []string) []string { slices.Sort(s); return s }
	if got, want := sorted(list("docs/", false)), []string{"docs/a.txt", "docs/b c.txt", "docs/sub/"}; !slices.Equal(got, want) {
		t.Errorf("listing of docs/ with delimiter = %q, want %q", got, want)
	}
	if got, want := sorted(list("", false)), []string{"docs/", "other.txt"}; !slices.Equal(got, want) {
		t.Errorf("top-level listing = %q, want %q", got, want)
	}

	// Copy keeps the content and the metadata.
	up, err := mc.CopyObject(c, minio.CopyDestOptions{Bucket: "bkt", Object: "copies/a.txt"},
		minio.CopySrcOptions{Bucket: "bkt", Object: "docs/a.txt"})
	if err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	if got := readMinioObject(t, mc, "bkt", "copies/a.txt"); string(got) != "alpha" {
		t.Fatalf("the copy reads %q, want %q", got, "alpha")
	}
	cst, err := mc.StatObject(c, "bkt", "copies/a.txt", minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject of the copy: %v", err)
	}
	if cst.UserMetadata["Color"] != "blue" || cst.ETag != st.ETag || up.ETag != st.ETag {
		t.Errorf("copy: metadata %v ETag %s (CopyObject said %s); want Color=blue and the source's ETag %s",
			cst.UserMetadata, cst.ETag, up.ETag, st.ETag)
	}

	// Batch delete, including a key that does not exist.
	toRemove := []string{"docs/a.txt", "docs/b c.txt", "docs/sub/d.txt", "never-existed"}
	objs := make(chan minio.ObjectInfo, len(toRemove))
	for _, k := range toRemove {
		objs <- minio.ObjectInfo{Key: k}
	}
	close(objs)
	for e := range mc.RemoveObjects(c, "bkt", objs, minio.RemoveObjectsOptions{}) {
		t.Errorf("RemoveObjects: %s: %v", e.ObjectName, e.Err)
	}
	if got, want := list("", true), []string{"copies/a.txt", "other.txt"}; !slices.Equal(got, want) {
		t.Fatalf("after RemoveObjects the bucket holds %q, want %q", got, want)
	}
	_, err = mc.StatObject(c, "bkt", "docs/a.txt", minio.StatObjectOptions{})
	if code := minioCode(err); code != "NoSuchKey" {
		t.Fatalf("StatObject of a removed object: code %q (%v), want NoSuchKey", code, err)
	}
}

// A client with the wrong secret is refused with SignatureDoesNotMatch,
// for a chunk-signed PUT as for a plain GET, and stores nothing.
func TestMinioWrongSecret(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	bad, rec := newMinio(t, ts, testSecret+"x")
	_, err := bad.PutObject(t.Context(), "bkt", "k", strings.NewReader("forged"), 6, minio.PutObjectOptions{})
	if resp := minio.ToErrorResponse(err); resp.Code != "SignatureDoesNotMatch" || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("PutObject with the wrong secret: code %q status %d (%v), want SignatureDoesNotMatch 403", resp.Code, resp.StatusCode, err)
	}
	requireChunkSigned(t, rec, 1)
	var listed []minio.ObjectInfo
	for o := range bad.ListObjects(t.Context(), "bkt", minio.ListObjectsOptions{}) {
		listed = append(listed, o)
	}
	if len(listed) != 1 || minioCode(listed[0].Err) != "SignatureDoesNotMatch" {
		t.Fatalf("ListObjects with the wrong secret yielded %+v; want one entry with error SignatureDoesNotMatch", listed)
	}
	if _, err := ts.store.HeadObject(t.Context(), "bkt", "k", origin.GetOptions{}); !errors.Is(err, origin.ErrNoSuchKey) {
		t.Fatalf("after a PUT signed with the wrong secret, the store's HeadObject says %v; want ErrNoSuchKey", err)
	}
}

// One byte of the payload altered in transit breaks that chunk's
// signature: the PUT fails with SignatureDoesNotMatch and nothing is stored,
// although the request's seed signature and every earlier chunk are valid.
func TestMinioTamperedChunkRejected(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	mc, rec := newMinio(t, ts, testSecret)
	// 1 MiB goes as 16 chunks of 64 KiB, each framed as
	// "10000;chunk-signature=<64 hex>\r\n" (88 bytes) + data + "\r\n", then
	// the final empty chunk. The byte flipped lies in the data of the last
	// non-empty chunk: the server has read nearly all of the body when it
	// finds the bad signature. (Rejecting earlier, while the client is still
	// sending, the server closes the connection under the client, which may
	// then see a reset instead of the answer.)
	const chunkFrame = 88 + 64<<10 + 2
	rec.flipAt = 15*chunkFrame + 88 + 1000
	const size = 1 << 20
	data := patternBytes("minio-tamper", size)
	_, err := mc.PutObject(t.Context(), "bkt", "tampered", bytes.NewReader(data), size, minio.PutObjectOptions{})
	if resp := minio.ToErrorResponse(err); resp.Code != "SignatureDoesNotMatch" || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("PutObject with a payload byte altered in chunk 16: code %q status %d (%v), want SignatureDoesNotMatch 403",
			resp.Code, resp.StatusCode, err)
	}
	requireChunkSigned(t, rec, 1)
	if info, err := ts.store.HeadObject(t.Context(), "bkt", "tampered", origin.GetOptions{}); !errors.Is(err, origin.ErrNoSuchKey) {
		t.Fatalf("after the tampered upload the store's HeadObject says %d bytes, ETag %q, error %v; want ErrNoSuchKey", info.Size, info.ETag, err)
	}

	// The same client, untampered, succeeds: the failure was the flipped byte.
	rec.flipAt = 0
	if _, err := mc.PutObject(t.Context(), "bkt", "tampered", bytes.NewReader(data), size, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject without tampering: %v", err)
	}
	if got := readMinioObject(t, mc, "bkt", "tampered"); sha256Hex(got) != sha256Hex(data) {
		t.Fatalf("the untampered upload reads back %d bytes with sha256 %s, want %s", len(got), sha256Hex(got), sha256Hex(data))
	}
}
