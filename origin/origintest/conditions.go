package origintest

import (
	"bytes"
	"fmt"
	"time"

	"github.com/edgecdn/edge/origin"
)

var readConditionTests = []test{
	{"Table", testReadConditions},
	{"MissingObject", testReadConditionsMissing},
}

var writeConditionTests = []test{
	{"IfNoneMatchStar", testWriteIfNoneMatchStar},
	{"IfMatch", testWriteIfMatch},
	{"IfGenerationMatchZero", testWriteIfGenerationMatchZero},
	{"IfGenerationMatch", testWriteIfGenerationMatch},
	{"IfGenerationNotMatch", testWriteIfGenerationNotMatch},
	{"IfUnmodifiedSince", testWriteIfUnmodifiedSince},
	{"Delete", testDeleteConditions},
}

func testReadConditions(h *harness) {
	h.bucket("bkt")
	body := []byte("conditional body")
	h.put("bkt", "other", []byte("other"))
	info := h.put("bkt", "k", body)
	e := info.ETag
	lm := h.head("bkt", "k").LastModified
	// HTTP dates have one-second resolution: a client sends back the
	// Last-Modified it was given, truncated.
	lmHTTP := lm.Truncate(time.Second)
	past := lm.Add(-time.Hour)
	future := time.Now().Add(time.Hour)
	otherETag := md5hex([]byte("other"))
	gen := info.Generation

	cases := []struct {
		name string
		c    origin.Conditions
		want error // nil: the read succeeds
	}{
		{"If-Match etag", origin.Conditions{IfMatch: e}, nil},
		{"If-Match quoted", origin.Conditions{IfMatch: `"` + e + `"`}, nil},
		{"If-Match weak", origin.Conditions{IfMatch: `W/"` + e + `"`}, nil},
		{"If-Match list", origin.Conditions{IfMatch: `"x", "` + e + `"`}, nil},
		{"If-Match list unspaced", origin.Conditions{IfMatch: `"x",` + e}, nil},
		{"If-Match star", origin.Conditions{IfMatch: "*"}, nil},
		{"If-Match mismatch", origin.Conditions{IfMatch: otherETag}, origin.ErrPreconditionFailed},
		{"If-Match quoted mismatch", origin.Conditions{IfMatch: `"` + otherETag + `"`}, origin.ErrPreconditionFailed},
		{"If-Match list mismatch", origin.Conditions{IfMatch: `"x", "y"`}, origin.ErrPreconditionFailed},
		{"If-Match prefix of etag", origin.Conditions{IfMatch: e[:10]}, origin.ErrPreconditionFailed},
		{"If-None-Match etag", origin.Conditions{IfNoneMatch: e}, origin.ErrNotModified},
		{"If-None-Match quoted", origin.Conditions{IfNoneMatch: `"` + e + `"`}, origin.ErrNotModified},
		{"If-None-Match weak", origin.Conditions{IfNoneMatch: `W/"` + e + `"`}, origin.ErrNotModified},
		{"If-None-Match list", origin.Conditions{IfNoneMatch: `"x", "` + e + `"`}, origin.ErrNotModified},
		{"If-None-Match star", origin.Conditions{IfNoneMatch: "*"}, origin.ErrNotModified},
		{"If-None-Match other", origin.Conditions{IfNoneMatch: otherETag}, nil},
		{"If-None-Match list other", origin.Conditions{IfNoneMatch: `"x", "y"`}, nil},
		{"If-Modified-Since future", origin.Conditions{IfModifiedSince: future}, origin.ErrNotModified},
		{"If-Modified-Since Last-Modified", origin.Conditions{IfModifiedSince: lmHTTP}, origin.ErrNotModified},
		{"If-Modified-Since past", origin.Conditions{IfModifiedSince: past}, nil},
		{"If-Unmodified-Since past", origin.Conditions{IfUnmodifiedSince: past}, origin.ErrPreconditionFailed},
		{"If-Unmodified-Since Last-Modified", origin.Conditions{IfUnmodifiedSince: lmHTTP}, nil},
		{"If-Unmodified-Since future", origin.Conditions{IfUnmodifiedSince: future}, nil},
		// RFC 9110 §13.2.2: If-Match, when present, replaces If-Unmodified-Since.
		{"If-Match true, If-Unmodified-Since false", origin.Conditions{IfMatch: e, IfUnmodifiedSince: past}, nil},
		{"If-Match false, If-Unmodified-Since true", origin.Conditions{IfMatch: otherETag, IfUnmodifiedSince: future}, origin.ErrPreconditionFailed},
		// If-None-Match, when present, replaces If-Modified-Since.
		{"If-None-Match other, If-Modified-Since future", origin.Conditions{IfNoneMatch: otherETag, IfModifiedSince: future}, nil},
		{"If-None-Match etag, If-Modified-Since past", origin.Conditions{IfNoneMatch: e, IfModifiedSince: past}, origin.ErrNotModified},
		// 412 conditions come before 304 ones.
		{"If-Match false, If-None-Match etag", origin.Conditions{IfMatch: otherETag, IfNoneMatch: e}, origin.ErrPreconditionFailed},
		{"If-Unmodified-Since false, If-Modified-Since future", origin.Conditions{IfUnmodifiedSince: past, IfModifiedSince: future}, origin.ErrPreconditionFailed},
		{"If-Generation-Match current", origin.Conditions{IfGenerationMatch: ptr(gen)}, nil},
		{"If-Generation-Match stale", origin.Conditions{IfGenerationMatch: ptr(gen - 1)}, origin.ErrPreconditionFailed},
		{"If-Generation-Match zero", origin.Conditions{IfGenerationMatch: ptr(int64(0))}, origin.ErrPreconditionFailed},
		{"If-Generation-Not-Match current", origin.Conditions{IfGenerationNotMatch: ptr(gen)}, origin.ErrNotModified},
		{"If-Generation-Not-Match other", origin.Conditions{IfGenerationNotMatch: ptr(gen + 1)}, nil},
		{"all true", origin.Conditions{IfMatch: e, IfNoneMatch: otherETag, IfUnmodifiedSince: future, IfModifiedSince: past, IfGenerationMatch: ptr(gen), IfGenerationNotMatch: ptr(gen + 1)}, nil},
	}
	for _, c := range cases {
		h.run(c.name, func(h *harness) {
			obj, data, err := h.tryGet("bkt", "k", origin.GetOptions{Conditions: c.c})
			what := fmt.Sprintf("GetObject with %+v", c.c)
			if c.want != nil {
				expectErr(h.t, what, err, c.want)
			} else if err != nil {
				h.t.Errorf("%s: %v, want success", what, err)
			} else {
				expectBytes(h.t, what, data, body)
				checkInfo(h.t, what, obj.Info, "bkt", "k", body)
			}
			hi, err := h.s.HeadObject(h.ctx, "bkt", "k", origin.GetOptions{Conditions: c.c})
			what = fmt.Sprintf("HeadObject with %+v", c.c)
			if c.want != nil {
				expectErr(h.t, what, err, c.want)
			} else if err != nil {
				h.t.Errorf("%s: %v, want success", what, err)
			} else {
				checkInfo(h.t, what, hi, "bkt", "k", body)
			}
		})
	}
}

func testReadConditionsMissing(h *harness) {
	h.bucket("bkt")
	for _, c := range []origin.Conditions{
		{IfMatch: "*"},
		{IfMatch: emptyETag},
		{IfNoneMatch: "*"},
		{IfUnmodifiedSince: time.Now().Add(-time.Hour)},
		{IfGenerationMatch: ptr(int64(7))},
	} {
		_, _, err := h.tryGet("bkt", "missing", origin.GetOptions{Conditions: c})
		expectErr(h.t, fmt.Sprintf("GetObject of a missing key with %+v", c), err, origin.ErrNoSuchKey)
	}
}

// condPut is a write of body under c that must fail with want and leave
// bucket/key as prev (nil: missing) with generation prevGen.
func (h *harness) condPutFails(what, key string, c origin.Conditions, want error, prev []byte, prevGen int64) {
	h.t.Helper()
	h.putFails(what, "bkt", key, bytes.NewReader([]byte("rejected")), origin.PutOptions{Size: 8, Conditions: c}, want, prev, prevGen)
}

func (h *harness) condPut(what, key string, body []byte, c origin.Conditions) origin.ObjectInfo {
	h.t.Helper()
	info, err := h.tryPut("bkt", key, body, origin.PutOptions{Size: int64(len(body)), Conditions: c})
	mustNoErr(h.t, what, err)
	h.expectObject("bkt", key, body, info.Generation)
	return info
}

func testWriteIfNoneMatchStar(h *harness) {
	h.bucket("bkt")
	first := h.condPut("first PutObject with If-None-Match *", "k", []byte("one"), origin.Conditions{IfNoneMatch: "*"})
	h.condPutFails("second PutObject with If-None-Match *", "k", origin.Conditions{IfNoneMatch: "*"}, origin.ErrPreconditionFailed, []byte("one"), first.Generation)
	// After a delete the key can be created once more.
	h.del("bkt", "k")
	h.condPut("PutObject with If-None-Match * after a delete", "k", []byte("two"), origin.Conditions{IfNoneMatch: "*"})
}

func testWriteIfMatch(h *harness) {
	h.bucket("bkt")
	v1 := h.put("bkt", "k", []byte("v1"))
	v2 := h.condPut("PutObject with the current ETag", "k", []byte("v2"), origin.Conditions{IfMatch: `"` + v1.ETag + `"`})
	h.condPutFails("PutObject with the previous ETag", "k", origin.Conditions{IfMatch: v1.ETag}, origin.ErrPreconditionFailed, []byte("v2"), v2.Generation)
	h.condPutFails("PutObject with a list not naming the ETag", "k", origin.Conditions{IfMatch: `"a", "b"`}, origin.ErrPreconditionFailed, []byte("v2"), v2.Generation)
	h.condPut("PutObject with a list naming the ETag", "k", []byte("v3"), origin.Conditions{IfMatch: `"a", "` + v2.ETag + `"`})
	h.condPutFails("PutObject with If-Match on a missing key", "missing", origin.Conditions{IfMatch: v1.ETag}, origin.ErrNoSuchKey, nil, 0)
	h.condPutFails("PutObject with If-Match * on a missing key", "missing", origin.Conditions{IfMatch: "*"}, origin.ErrNoSuchKey, nil, 0)
}

func testWriteIfGenerationMatchZero(h *harness) {
	h.bucket("bkt")
	zero := ptr(int64(0))
	first := h.condPut("PutObject with generation match 0 on a new key", "k", []byte("one"), origin.Conditions{IfGenerationMatch: zero})
	h.condPutFails("PutObject with generation match 0 on an existing key", "k", origin.Conditions{IfGenerationMatch: zero}, origin.ErrPreconditionFailed, []byte("one"), first.Generation)
}

func testWriteIfGenerationMatch(h *harness) {
	h.bucket("bkt")
	v1 := h.put("bkt", "k", []byte("v1"))
	v2 := h.condPut("PutObject with the current generation", "k", []byte("v2"), origin.Conditions{IfGenerationMatch: ptr(v1.Generation)})
	h.condPutFails("PutObject with a stale generation", "k", origin.Conditions{IfGenerationMatch: ptr(v1.Generation)}, origin.ErrPreconditionFailed, []byte("v2"), v2.Generation)
	h.condPutFails("PutObject with a future generation", "k", origin.Conditions{IfGenerationMatch: ptr(v2.Generation + 1)}, origin.ErrPreconditionFailed, []byte("v2"), v2.Generation)
	h.condPutFails("PutObject with a generation match on a missing key", "missing", origin.Conditions{IfGenerationMatch: ptr(v2.Generation)}, origin.ErrPreconditionFailed, nil, 0)
}

func testWriteIfGenerationNotMatch(h *harness) {
	h.bucket("bkt")
	v1 := h.put("bkt", "k", []byte("v1"))
	h.condPutFails("PutObject with generation-not-match of the current generation", "k", origin.Conditions{IfGenerationNotMatch: ptr(v1.Generation)}, origin.ErrPreconditionFailed, []byte("v1"), v1.Generation)
	h.condPut("PutObject with generation-not-match of another generation", "k", []byte("v2"), origin.Conditions{IfGenerationNotMatch: ptr(v1.Generation + 1000)})
}

func testWriteIfUnmodifiedSince(h *harness) {
	h.bucket("bkt")
	v1 := h.put("bkt", "k", []byte("v1"))
	h.condPutFails("PutObject with If-Unmodified-Since in the past", "k", origin.Conditions{IfUnmodifiedSince: v1.LastModified.Add(-time.Hour)}, origin.ErrPreconditionFailed, []byte("v1"), v1.Generation)
	h.condPut("PutObject with If-Unmodified-Since in the future", "k", []byte("v2"), origin.Conditions{IfUnmodifiedSince: time.Now().Add(time.Hour)})
}

func testDeleteConditions(h *harness) {
	h.bucket("bkt")
	v1 := h.put("bkt", "k", []byte("v1"))
	_, err := h.s.DeleteObject(h.ctx, "bkt", "k", origin.DeleteOptions{Conditions: origin.Conditions{IfMatch: md5hex([]byte("nope"))}})
	expectErr(h.t, "DeleteObject with a failing If-Match", err, origin.ErrPreconditionFailed)
	h.expectObject("bkt", "k", []byte("v1"), v1.Generation)
	_, err = h.s.DeleteObject(h.ctx, "bkt", "k", origin.DeleteOptions{Conditions: origin.Conditions{IfGenerationMatch: ptr(v1.Generation - 1)}})
	expectErr(h.t, "DeleteObject with a stale generation", err, origin.ErrPreconditionFailed)
	h.expectObject("bkt", "k", []byte("v1"), v1.Generation)

	res, err := h.s.DeleteObject(h.ctx, "bkt", "k", origin.DeleteOptions{Conditions: origin.Conditions{IfMatch: v1.ETag, IfGenerationMatch: ptr(v1.Generation)}})
	mustNoErr(h.t, "DeleteObject with matching conditions", err)
	if !res.Deleted {
		h.t.Errorf("DeleteObject with matching conditions: Deleted false, want true")
	}
	h.expectMissing("bkt", "k")
}
