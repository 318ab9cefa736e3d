package origintest

import (
	"fmt"
	"time"

	"github.com/edgecdn/edge/origin"
)

var copyTests = []test{
	{"SameBucket", testCopySameBucket},
	{"OtherBucket", testCopyOtherBucket},
	{"ReplaceMetadata", testCopyReplaceMetadata},
	{"OntoItself", testCopyOntoItself},
	{"MissingSource", testCopyMissingSource},
	{"SourceConditions", testCopySourceConditions},
	{"DestinationConditions", testCopyDestinationConditions},
	{"Independent", testCopyIndependent},
	{"Overwrite", testCopyOverwrite},
}

// copyOK copies, which must succeed, and checks the result against the
// source body and metadata.
func (h *harness) copyOK(sb, sk, db, dk string, opts origin.CopyOptions, body []byte) origin.ObjectInfo {
	h.t.Helper()
	what := fmt.Sprintf("CopyObject(%s/%s -> %s/%s)", sb, sk, db, dk)
	info, err := h.s.CopyObject(h.ctx, sb, sk, db, dk, opts)
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
	h.wrote(what, info)
	checkInfo(h.t, what, info, db, dk, body)
	return info
}

func testCopySameBucket(h *harness) {
	h.bucket("bkt")
	body := randomBytes(100_000, 9)
	m := fullMeta("src")
	src := h.putWith("bkt", "src", body, m.putOptions(int64(len(body))))
	dst := h.copyOK("bkt", "src", "bkt", "dst", origin.CopyOptions{}, body)
	if dst.ETag != src.ETag {
		h.t.Errorf("copy ETag %q, source ETag %q; want identical", dst.ETag, src.ETag)
	}
	if dst.Generation <= src.Generation {
		h.t.Errorf("copy generation %d, want > source generation %d", dst.Generation, src.Generation)
	}
	checkMeta(h.t, "CopyObject result (COPY directive)", dst, m)
	got := h.expectObject("bkt", "dst", body, dst.Generation)
	checkMeta(h.t, "GetObject of the copy", got, m)
	// The source is untouched.
	h.expectObject("bkt", "src", body, src.Generation)
	expectStrings(h.t, "keys", h.keys("bkt", ""), []string{"dst", "src"})
}

func testCopyOtherBucket(h *harness) {
	h.bucket("from")
	h.bucket("dest")
	body := []byte("cross-bucket copy")
	m := fullMeta("x")
	src := h.putWith("from", "a/b", body, m.putOptions(int64(len(body))))
	dst := h.copyOK("from", "a/b", "dest", "c/d", origin.CopyOptions{}, body)
	if dst.ETag != src.ETag {
		h.t.Errorf("copy ETag %q, source ETag %q; want identical", dst.ETag, src.ETag)
	}
	checkMeta(h.t, "HeadObject of the copy", h.expectObject("dest", "c/d", body, dst.Generation), m)
	// The same key name in the other bucket is another object.
	h.expectMissing("from", "c/d")
	h.expectMissing("dest", "a/b")
	// An empty object copies too.
	h.put("from", "empty", nil)
	h.copyOK("from", "empty", "dest", "empty", origin.CopyOptions{}, nil)
	h.expectObject("dest", "empty", []byte{}, 0)
}

func testCopyReplaceMetadata(h *harness) {
	h.bucket("bkt")
	body := []byte("body")
	old := fullMeta("old")
	h.putWith("bkt", "src", body, old.putOptions(4))
	repl := meta{
		Headers:  origin.Headers{ContentType: "application/json", CacheControl: "no-store"},
		UserMeta: map[string]string{"new": "yes"},
		Tags:     []string{"fresh"},
	}
	opts := origin.CopyOptions{ReplaceMetadata: true, Headers: repl.Headers, UserMeta: repl.UserMeta, Tags: repl.Tags}
	dst := h.copyOK("bkt", "src", "bkt", "dst", opts, body)
	// REPLACE takes everything from the request: headers left empty there
	// are not inherited from the source.
	checkMeta(h.t, "CopyObject result (REPLACE directive)", dst, repl)
	checkMeta(h.t, "HeadObject of the copy (REPLACE directive)", h.head("bkt", "dst"), repl)
	checkMeta(h.t, "HeadObject of the source", h.head("bkt", "src"), old)

	// COPY ignores the metadata in the options.
	opts.ReplaceMetadata = false
	h.copyOK("bkt", "src", "bkt", "dst2", opts, body)
	checkMeta(h.t, "HeadObject of a copy with the COPY directive and metadata in the options", h.head("bkt", "dst2"), old)
}

func testCopyOntoItself(h *harness) {
	h.bucket("bkt")
	body := randomBytes(10_000, 10)
	src := h.putWith("bkt", "k", body, fullMeta("v1").putOptions(int64(len(body))))
	v2 := fullMeta("v2")
	opts := origin.CopyOptions{ReplaceMetadata: true, Headers: v2.Headers, UserMeta: v2.UserMeta, Tags: v2.Tags}
	upd := h.copyOK("bkt", "k", "bkt", "k", opts, body)
	if upd.Generation <= src.Generation {
		h.t.Errorf("metadata update: generation %d, want > %d", upd.Generation, src.Generation)
	}
	if upd.ETag != src.ETag {
		h.t.Errorf("metadata update: ETag %q, want unchanged %q", upd.ETag, src.ETag)
	}
	got := h.expectObject("bkt", "k", body, upd.Generation)
	checkMeta(h.t, "GetObject after the metadata update", got, v2)
	checkMeta(h.t, "HeadObject after the metadata update", h.head("bkt", "k"), v2)
	objs, _ := h.listAll("bkt", origin.ListOptions{})
	if len(objs) != 1 {
		h.t.Fatalf("ListObjects after the metadata update: %v, want just k", keysOf(objs))
	}
	checkMeta(h.t, "ListObjects after the metadata update", objs[0], v2)
}

func testCopyMissingSource(h *harness) {
	h.bucket("bkt")
	_, err := h.s.CopyObject(h.ctx, "bkt", "nothere", "bkt", "dst", origin.CopyOptions{})
	expectErr(h.t, "CopyObject of a missing source", err, origin.ErrNoSuchKey)
	h.put("bkt", "deleted", []byte("x"))
	h.del("bkt", "deleted")
	_, err = h.s.CopyObject(h.ctx, "bkt", "deleted", "bkt", "dst", origin.CopyOptions{})
	expectErr(h.t, "CopyObject of a deleted source", err, origin.ErrNoSuchKey)
	h.expectMissing("bkt", "dst")
}

func testCopySourceConditions(h *harness) {
	h.bucket("bkt")
	body := []byte("source")
	src := h.put("bkt", "src", body)
	_, err := h.s.CopyObject(h.ctx, "bkt", "src", "bkt", "dst", origin.CopyOptions{SourceConditions: origin.Conditions{IfMatch: md5hex([]byte("other"))}})
	expectErr(h.t, "CopyObject with a failing source If-Match", err, origin.ErrPreconditionFailed)
	h.expectMissing("bkt", "dst")
	_, err = h.s.CopyObject(h.ctx, "bkt", "src", "bkt", "dst", origin.CopyOptions{SourceConditions: origin.Conditions{IfGenerationMatch: ptr(src.Generation + 1000)}})
	expectErr(h.t, "CopyObject with a failing source generation match", err, origin.ErrPreconditionFailed)
	h.expectMissing("bkt", "dst")

	// As x-amz-copy-source-if-none-match and -if-modified-since do in S3,
	// a source that is "not modified" fails the copy's precondition.
	_, err = h.s.CopyObject(h.ctx, "bkt", "src", "bkt", "dst", origin.CopyOptions{SourceConditions: origin.Conditions{IfNoneMatch: src.ETag}})
	expectErr(h.t, "CopyObject with a failing source If-None-Match", err, origin.ErrPreconditionFailed)
	_, err = h.s.CopyObject(h.ctx, "bkt", "src", "bkt", "dst", origin.CopyOptions{SourceConditions: origin.Conditions{IfModifiedSince: time.Now().Add(time.Hour)}})
	expectErr(h.t, "CopyObject with a failing source If-Modified-Since", err, origin.ErrPreconditionFailed)
	_, err = h.s.CopyObject(h.ctx, "bkt", "src", "bkt", "dst", origin.CopyOptions{SourceConditions: origin.Conditions{IfUnmodifiedSince: src.LastModified.Add(-time.Hour)}})
	expectErr(h.t, "CopyObject with a failing source If-Unmodified-Since", err, origin.ErrPreconditionFailed)
	h.expectMissing("bkt", "dst")

	h.copyOK("bkt", "src", "bkt", "dst", origin.CopyOptions{SourceConditions: origin.Conditions{IfMatch: `"` + src.ETag + `"`}}, body)
	h.copyOK("bkt", "src", "bkt", "dst2", origin.CopyOptions{SourceConditions: origin.Conditions{IfGenerationMatch: ptr(src.Generation)}}, body)
}

func testCopyDestinationConditions(h *harness) {
	h.bucket("bkt")
	h.put("bkt", "src", []byte("new"))
	dst := h.put("bkt", "dst", []byte("old"))
	_, err := h.s.CopyObject(h.ctx, "bkt", "src", "bkt", "dst", origin.CopyOptions{Conditions: origin.Conditions{IfNoneMatch: "*"}})
	expectErr(h.t, "CopyObject onto an existing key with If-None-Match *", err, origin.ErrPreconditionFailed)
	h.expectObject("bkt", "dst", []byte("old"), dst.Generation)
	_, err = h.s.CopyObject(h.ctx, "bkt", "src", "bkt", "dst", origin.CopyOptions{Conditions: origin.Conditions{IfMatch: md5hex([]byte("nope"))}})
	expectErr(h.t, "CopyObject with a failing destination If-Match", err, origin.ErrPreconditionFailed)
	h.expectObject("bkt", "dst", []byte("old"), dst.Generation)

	h.copyOK("bkt", "src", "bkt", "dst", origin.CopyOptions{Conditions: origin.Conditions{IfMatch: dst.ETag}}, []byte("new"))
	h.copyOK("bkt", "src", "bkt", "fresh", origin.CopyOptions{Conditions: origin.Conditions{IfNoneMatch: "*"}}, []byte("new"))
}

func testCopyIndependent(h *harness) {
	h.bucket("bkt")
	orig := randomBytes(50_000, 11)
	h.put("bkt", "src", orig)
	cp := h.copyOK("bkt", "src", "bkt", "dst", origin.CopyOptions{}, orig)
	// Overwriting, then deleting the source leaves the copy as it was.
	h.put("bkt", "src", []byte("replaced"))
	h.expectObject("bkt", "dst", orig, cp.Generation)
	h.del("bkt", "src")
	h.expectObject("bkt", "dst", orig, cp.Generation)
	// And overwriting the copy leaves a second copy alone.
	cp2 := h.copyOK("bkt", "dst", "bkt", "dst2", origin.CopyOptions{}, orig)
	h.put("bkt", "dst", []byte("changed"))
	h.expectObject("bkt", "dst2", orig, cp2.Generation)
}

func testCopyOverwrite(h *harness) {
	h.bucket("bkt")
	h.put("bkt", "src", []byte("short"))
	old := h.putWith("bkt", "dst", []byte("a much longer old body"), fullMeta("old").putOptions(22))
	cp := h.copyOK("bkt", "src", "bkt", "dst", origin.CopyOptions{}, []byte("short"))
	if cp.Generation <= old.Generation {
		h.t.Errorf("copy over an object: generation %d, want > %d", cp.Generation, old.Generation)
	}
	got := h.expectObject("bkt", "dst", []byte("short"), cp.Generation)
	checkMeta(h.t, "copy over an object with metadata", got, meta{})
}
