package s3

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"mime/multipart"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/origin"
)

// FuzzPostPolicy: any policy document parses or is refused with a
// policyError, never a panic; a parsed one evaluates any form without a
// panic, consistently, and its pieces keep their invariants.
func FuzzPostPolicy(f *testing.F) {
	for _, doc := range []string{
		`{"expiration": "2030-01-01T00:00:00.000Z", "conditions": [{"bucket": "bkt"}, ["starts-with", "$key", "user/"], ["content-length-range", 1, 10]]}`,
		`{"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "$Content-Type", "image/png"], ["starts-with", "$Content-Type", "image/"], {"x-amz-meta-a": ""}]}`,
		`{"expiration": "2030-01-01T00:00:00Z", "conditions": [["StArTs-WiTh", "$KeY", "\$foo\\\v"], ["content-length-range", "5", "x"]]}`,
		`{"expiration": "2030-01-01T00:00:00Z", "conditions": [[], {}, ["in", "$key", []], ["eq", "key", "v"]]}`,
		`{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", -1, 1e3, 3]]}`,
		`{"expiration": 5, "conditions": {}}`,
		`{"EXPIRATION": "x", "Statement": []}`,
		`[1, "a", null, true]`,
		`{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"a": "b"}]} trailing`,
		"",
	} {
		f.Add([]byte(doc), "user/photo.jpg", "image/png,image/gif", int64(7))
	}
	f.Fuzz(func(t *testing.T, doc []byte, key, contentType string, size int64) {
		p, err := parsePostPolicy(doc)
		if err != nil {
			if _, ok := err.(policyError); !ok || p != nil {
				t.Fatalf("parsePostPolicy = %v, %v (%T)", p, err, err)
			}
			return
		}
		fields := map[string]string{"bucket": "bkt", "key": key, "content-type": contentType, "x-amz-meta-a": ""}
		c1, c2 := p.failedCondition(fields), p.failedCondition(fields)
		if c1 != c2 {
			t.Fatalf("two evaluations disagree: %v, %v", c1, c2)
		}
		for _, c := range p.conditions {
			if c.text == "" || !strings.HasPrefix(c.text, "[") {
				t.Fatalf("condition %+v has no text", c)
			}
			if c.op != opContentLengthRange && c.field != strings.ToLower(c.field) {
				t.Fatalf("condition field %q is not lower case", c.field)
			}
		}
		lo, hi := p.sizeRange()
		if lo < 0 || hi < -1 {
			t.Fatalf("size range [%d, %d]", lo, hi)
		}
		for _, name := range p.extraFields([]string{"Key", "Content-Type", "policy", "x-ignore-z", "bucket"}) {
			if exemptFromPolicy(strings.ToLower(name)) || p.covers(strings.ToLower(name)) {
				t.Fatalf("%q reported extra", name)
			}
		}
		// The document is a function of its bytes.
		again, err := parsePostPolicy(doc)
		if err != nil || len(again.conditions) != len(p.conditions) || !again.expiration.Equal(p.expiration) {
			t.Fatalf("second parse differs: %v", err)
		}
		_ = startsWith("content-type", contentType, key)
	})
}

// The POST form fuzz target runs postObject on a handler whose clock is
// fixed, with fuzzPostKeyID's secret, against bucket "bkt".
const (
	fuzzPostKeyID    = "FUZZPOSTKEY"
	fuzzPostSecret   = "fuzz/post/secret"
	fuzzPostBoundary = "FuzzBoundary7MA4YWxkTrZu0gW"
)

var fuzzPostNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fuzzPostForm is a multipart body with a policy signed for its fields:
// starts-with "" on each of them, the size at most 1000 bytes. uncovered
// fields are sent but not named by the policy; after follow the file.
func fuzzPostForm(fields [][2]string, file string, uncovered, after [][2]string) []byte {
	conds := []string{`{"bucket": "bkt"}`, `["content-length-range", 0, 1000]`,
		`{"x-amz-algorithm": "AWS4-HMAC-SHA256"}`, `{"x-amz-credential": "FUZZPOSTKEY/20260102/us-east-1/s3/aws4_request"}`,
		`{"x-amz-date": "20260102T030405Z"}`}
	for _, kv := range fields {
		conds = append(conds, `["starts-with", "$`+kv[0]+`", ""]`)
	}
	policy := base64.StdEncoding.EncodeToString([]byte(`{"expiration": "2030-01-01T00:00:00.000Z", "conditions": [` + strings.Join(conds, ", ") + `]}`))
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	k := mac([]byte("AWS4"+fuzzPostSecret), "20260102")
	for _, s := range []string{"us-east-1", "s3", "aws4_request"} {
		k = mac(k, s)
	}
	all := append([][2]string{
		{"x-amz-algorithm", "AWS4-HMAC-SHA256"},
		{"x-amz-credential", "FUZZPOSTKEY/20260102/us-east-1/s3/aws4_request"},
		{"x-amz-date", "20260102T030405Z"},
		{"policy", policy},
		{"x-amz-signature", hex.EncodeToString(mac(k, policy))},
	}, fields...)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.SetBoundary(fuzzPostBoundary)
	for _, kv := range append(all, uncovered...) {
		mw.WriteField(kv[0], kv[1])
	}
	fw, _ := mw.CreateFormFile("file", "fuzz.txt")
	fw.Write([]byte(file))
	for _, kv := range after {
		mw.WriteField(kv[0], kv[1])
	}
	mw.Close()
	return b.Bytes()
}

// FuzzPostObjectForm: any body posted to a bucket gets a success (200,
// 201, 204, 303) with the object stored, or a 4xx S3 error with the
// store unchanged (no commit at all); never a 5xx, a panic or a partial
// object.
func FuzzPostObjectForm(f *testing.F) {
	f.Add(fuzzPostForm([][2]string{{"key", "a"}}, "hello", nil, nil))
	f.Add(fuzzPostForm([][2]string{{"key", "dir/${filename}"}, {"Content-Type", "text/plain"}, {"x-amz-meta-a", "1"}}, "hello", nil, [][2]string{{"submit", "go"}}))
	f.Add(fuzzPostForm([][2]string{{"key", "b"}, {"success_action_status", "201"}}, strings.Repeat("x", 999), nil, nil))
	f.Add(fuzzPostForm([][2]string{{"key", "c"}, {"success_action_redirect", "http://example.com/?q=1"}}, "", nil, nil))
	f.Add(fuzzPostForm([][2]string{{"key", "d"}}, "x", [][2]string{{"x-amz-meta-b", "not covered"}}, nil))
	f.Add(fuzzPostForm([][2]string{{"key", "e"}}, strings.Repeat("y", 1001), nil, nil))
	f.Add([]byte("--" + fuzzPostBoundary + "\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--" + fuzzPostBoundary + "--\r\n"))
	f.Add([]byte("garbage"))

	// Every stored upload fsyncs; on tmpfs that costs nothing, which keeps
	// the minimizer (it replays accepted forms thousands of times) fast.
	dir := f.TempDir()
	if shm, err := os.MkdirTemp("/dev/shm", "fuzz-post-"); err == nil {
		dir = shm
		f.Cleanup(func() { os.RemoveAll(shm) })
	}
	store, err := origin.Open(dir, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	ctx := context.Background()
	if err := store.CreateBucket(ctx, "bkt"); err != nil {
		f.Fatal(err)
	}
	h, err := New(store, Config{
		Credentials: map[string]string{fuzzPostKeyID: fuzzPostSecret},
		Now:         func() time.Time { return fuzzPostNow },
	})
	if err != nil {
		f.Fatal(err)
	}
	lastSeq := func() uint64 {
		seq, err := store.LastSeq()
		if err != nil {
			f.Fatal(err)
		}
		return seq
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := lastSeq()
		var req fasthttp.Request
		req.Header.SetMethod("POST")
		req.SetRequestURI("/bkt")
		req.Header.SetContentType("multipart/form-data; boundary=" + fuzzPostBoundary)
		req.SetBody(body)
		rc := &fasthttp.RequestCtx{}
		rc.Init(&req, nil, nil)
		r := &request{ctx: rc, id: "fuzz", bucket: "bkt", op: opPostObject}
		if err := h.postObject(r); err != nil {
			h.fail(r, err)
		}
		status := rc.Response.StatusCode()
		switch {
		case status == 200 || status == 201 || status == 204 || status == 303:
			info, err := store.HeadObject(ctx, "bkt", r.key, origin.GetOptions{})
			if err != nil || quoteETag(info.ETag) != string(rc.Response.Header.Peek("ETag")) {
				t.Fatalf("%d for %q but object %q: %v", status, body, r.key, err)
			}
		case status >= 400 && status < 500:
			if after := lastSeq(); after != before {
				t.Fatalf("%d for %q committed changes %d to %d", status, body, before+1, after)
			}
		default:
			t.Fatalf("status %d for %q: %s", status, body, rc.Response.Body())
		}
	})
}
