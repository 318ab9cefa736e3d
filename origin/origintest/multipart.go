package origintest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/edgecdn/edge/origin"
)

var multipartTests = []test{
	{"Complete", testMultipartComplete},
	{"ListPartsPaging", testListPartsPaging},
	{"CompleteSubset", testMultipartSubset},
	{"SinglePart", testMultipartSinglePart},
	{"EntityTooSmall", testMultipartTooSmall},
	{"PartNumbers", testMultipartPartNumbers},
	{"PartErrors", testMultipartPartErrors},
	{"Abort", testMultipartAbort},
	{"UnknownUpload", testMultipartUnknownUpload},
	{"ListUploads", testListMultipartUploads},
	{"ListUploadsMarkerGone", testListUploadsMarkerGone},
	{"ListUploadsDelimiter", testListUploadsDelimiter},
	{"CompleteCheck", testCompleteCheck},
	{"CompleteConditions", testMultipartConditions},
}

var (
	bigPartsOnce sync.Once
	bigParts     [2][]byte
)

// bigPart returns one of two fixed parts of exactly the minimum part size.
func bigPart(i int) []byte {
	bigPartsOnce.Do(func() {
		bigParts[0] = randomBytes(origin.DefaultMinPart, 30)
		bigParts[1] = randomBytes(origin.DefaultMinPart, 31)
	})
	return bigParts[i]
}

func (h *harness) createUpload(bucket, key string, opts origin.PutOptions) origin.MultipartUpload {
	h.t.Helper()
	before := time.Now()
	up, err := h.s.CreateMultipartUpload(h.ctx, bucket, key, opts)
	after := time.Now()
	what := fmt.Sprintf("CreateMultipartUpload(%q, %q)", bucket, key)
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
	if up.UploadID == "" || up.Bucket != bucket || up.Key != key {
		h.t.Errorf("%s: %+v, want an upload ID and %q/%q", what, up, bucket, key)
	}
	checkRecent(h.t, what+" Initiated", up.Initiated, before, after)
	return up
}

func (h *harness) uploadPart(up origin.MultipartUpload, n int, body []byte) origin.PartInfo {
	h.t.Helper()
	what := fmt.Sprintf("UploadPart(%q, part %d, %d bytes)", up.Key, n, len(body))
	p, err := h.s.UploadPart(h.ctx, up.Bucket, up.Key, up.UploadID, n, bytes.NewReader(body), origin.PartOptions{Size: int64(len(body))})
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
	if p.PartNumber != n || p.ETag != md5hex(body) || p.Size != int64(len(body)) {
		h.t.Errorf("%s: part %d, ETag %q, size %d; want %d, %q, %d", what, p.PartNumber, p.ETag, p.Size, n, md5hex(body), len(body))
	}
	return p
}

func (h *harness) complete(up origin.MultipartUpload, parts []origin.CompletePart, c origin.Conditions) (origin.ObjectInfo, error) {
	h.t.Helper()
	info, err := h.s.CompleteMultipartUpload(h.ctx, up.Bucket, up.Key, up.UploadID, parts, origin.CompleteOptions{Conditions: c})
	if err == nil {
		h.wrote(fmt.Sprintf("CompleteMultipartUpload(%q)", up.Key), info)
	}
	return info, err
}

func cp(n int, etag string) origin.CompletePart {
	return origin.CompletePart{PartNumber: n, ETag: etag}
}

func cparts(ps ...origin.PartInfo) []origin.CompletePart {
	out := make([]origin.CompletePart, len(ps))
	for i, p := range ps {
		out[i] = origin.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag}
	}
	return out
}

// listParts returns every part of the upload, one page of max parts at a time.
func (h *harness) listParts(up origin.MultipartUpload, max int) []origin.PartInfo {
	h.t.Helper()
	var out []origin.PartInfo
	marker := 0
	for page := 1; page < 20_000; page++ {
		res, err := h.s.ListParts(h.ctx, up.Bucket, up.Key, up.UploadID, origin.ListPartsOptions{PartNumberMarker: marker, MaxParts: max})
		if err != nil {
			h.t.Fatalf("ListParts(%q, marker %d, max %d): %v", up.Key, marker, max, err)
		}
		if res.Upload.UploadID != up.UploadID || res.Upload.Key != up.Key || res.Upload.Bucket != up.Bucket {
			h.t.Errorf("ListParts: upload %+v, want %+v", res.Upload, up)
		}
		if max > 0 && len(res.Parts) > max {
			h.t.Fatalf("ListParts with MaxParts %d: %d parts", max, len(res.Parts))
		}
		out = append(out, res.Parts...)
		if !res.IsTruncated {
			return out
		}
		if len(res.Parts) == 0 || res.NextPartNumberMarker != res.Parts[len(res.Parts)-1].PartNumber {
			h.t.Fatalf("ListParts page %d: %d parts, NextPartNumberMarker %d; want a non-empty truncated page whose marker is its last part", page, len(res.Parts), res.NextPartNumberMarker)
		}
		marker = res.NextPartNumberMarker
	}
	h.t.Fatalf("ListParts: too many pages")
	return nil
}

func expectParts(t interface {
	Helper()
	Errorf(string, ...any)
}, what string, got []origin.PartInfo, want ...origin.PartInfo) {
	t.Helper()
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = got[i].PartNumber == want[i].PartNumber && got[i].ETag == want[i].ETag && got[i].Size == want[i].Size
	}
	if !same {
		f := func(ps []origin.PartInfo) string {
			s := ""
			for _, p := range ps {
				s += fmt.Sprintf(" {%d %s %d}", p.PartNumber, p.ETag, p.Size)
			}
			return "[" + s + " ]"
		}
		t.Errorf("%s: parts\n got  %s\n want %s", what, f(got), f(want))
	}
}

func (h *harness) expectNoUpload(up origin.MultipartUpload) {
	h.t.Helper()
	_, err := h.s.ListParts(h.ctx, up.Bucket, up.Key, up.UploadID, origin.ListPartsOptions{})
	expectErr(h.t, "ListParts of a finished upload", err, origin.ErrNoSuchUpload)
	_, err = h.s.UploadPart(h.ctx, up.Bucket, up.Key, up.UploadID, 1, bytes.NewReader([]byte("x")), origin.PartOptions{Size: 1})
	expectErr(h.t, "UploadPart to a finished upload", err, origin.ErrNoSuchUpload)
	_, err = h.s.CompleteMultipartUpload(h.ctx, up.Bucket, up.Key, up.UploadID, []origin.CompletePart{{PartNumber: 1, ETag: md5hex([]byte("x"))}}, origin.CompleteOptions{})
	expectErr(h.t, "CompleteMultipartUpload of a finished upload", err, origin.ErrNoSuchUpload)
	for _, u := range h.uploads(up.Bucket, origin.ListUploadsOptions{}) {
		if u.UploadID == up.UploadID {
			h.t.Errorf("ListMultipartUploads still lists the finished upload %q", up.UploadID)
		}
	}
}

func testMultipartComplete(h *harness) {
	h.bucket("bkt")
	m := fullMeta("mp")
	up := h.createUpload("bkt", "big/object", m.putOptions(-1))
	p1 := h.uploadPart(up, 1, bigPart(0))
	h.uploadPart(up, 2, bigPart(0)) // replaced below
	p3 := h.uploadPart(up, 3, []byte{'!'})
	p2 := h.uploadPart(up, 2, bigPart(1))
	p4 := h.uploadPart(up, 4, []byte("tail"))
	expectParts(h.t, "ListParts", h.listParts(up, 0), p1, p2, p3, p4)
	// Not visible before it is completed.
	h.expectMissing("bkt", "big/object")
	if keys := h.keys("bkt", ""); len(keys) != 0 {
		h.t.Errorf("ListObjects during the upload: %q, want nothing", keys)
	}

	bad := []struct {
		name  string
		parts []origin.CompletePart
		want  error
	}{
		{"wrong ETag", []origin.CompletePart{cp(1, p1.ETag), cp(2, p1.ETag), cp(3, p3.ETag)}, origin.ErrInvalidPart},
		{"replaced part's old ETag", []origin.CompletePart{cp(1, p1.ETag), cp(2, md5hex(bigPart(0))), cp(3, p3.ETag)}, origin.ErrInvalidPart},
		{"part not uploaded", []origin.CompletePart{cp(1, p1.ETag), cp(2, p2.ETag), cp(5, p3.ETag)}, origin.ErrInvalidPart},
		{"out of order", []origin.CompletePart{cp(2, p2.ETag), cp(1, p1.ETag), cp(3, p3.ETag)}, origin.ErrInvalidPartOrder},
		{"last two swapped", []origin.CompletePart{cp(1, p1.ETag), cp(3, p3.ETag), cp(2, p2.ETag)}, origin.ErrInvalidPartOrder},
		{"repeated part", []origin.CompletePart{cp(1, p1.ETag), cp(1, p1.ETag), cp(2, p2.ETag)}, origin.ErrInvalidPartOrder},
		{"empty list", nil, origin.ErrInvalidPartOrder},
		{"small part not last", []origin.CompletePart{cp(1, p1.ETag), cp(3, p3.ETag), cp(4, p4.ETag)}, origin.ErrEntityTooSmall},
	}
	for _, b := range bad {
		_, err := h.complete(up, b.parts, origin.Conditions{})
		expectErr(h.t, "CompleteMultipartUpload with "+b.name, err, b.want)
	}
	// The failures left the upload as it was.
	expectParts(h.t, "ListParts after the refused completions", h.listParts(up, 0), p1, p2, p3, p4)
	h.expectMissing("bkt", "big/object")

	before := time.Now()
	info, err := h.complete(up, cparts(p1, p2, p3), origin.Conditions{})
	after := time.Now()
	mustNoErr(h.t, "CompleteMultipartUpload", err)
	want := slices.Concat(bigPart(0), bigPart(1), []byte{'!'})
	wantETag := multipartETag(bigPart(0), bigPart(1), []byte{'!'})
	check := func(what string, got origin.ObjectInfo) {
		h.t.Helper()
		if got.ETag != wantETag || got.Size != int64(len(want)) || got.Parts != 3 {
			h.t.Errorf("%s: ETag %q size %d parts %d; want %q, %d, 3", what, got.ETag, got.Size, got.Parts, wantETag, len(want))
		}
		if got.Generation != info.Generation {
			h.t.Errorf("%s: generation %d, want %d", what, got.Generation, info.Generation)
		}
		checkMeta(h.t, what, got, m)
	}
	check("CompleteMultipartUpload result", info)
	if info.Bucket != "bkt" || info.Key != "big/object" {
		h.t.Errorf("CompleteMultipartUpload result names %q/%q, want bkt/big/object", info.Bucket, info.Key)
	}
	checkRecent(h.t, "CompleteMultipartUpload LastModified", info.LastModified, before, after)
	got, data := h.get("bkt", "big/object")
	expectBytes(h.t, "GetObject of the completed upload", data, want)
	check("GetObject", got)
	check("HeadObject", h.head("bkt", "big/object"))
	objs, _ := h.listAll("bkt", origin.ListOptions{})
	if len(objs) != 1 {
		h.t.Fatalf("ListObjects after completion: %q, want just big/object", keysOf(objs))
	}
	check("ListObjects", objs[0])
	// A range across the part boundary.
	r := span(origin.DefaultMinPart-2, origin.DefaultMinPart+1)
	obj, rd, err := h.tryGet("bkt", "big/object", origin.GetOptions{Range: &r})
	mustNoErr(h.t, "ranged GetObject across parts", err)
	if obj.Start != r.First || obj.Length != 4 {
		h.t.Errorf("ranged GetObject across parts: Start %d Length %d, want %d, 4", obj.Start, obj.Length, r.First)
	}
	expectBytes(h.t, "ranged GetObject across parts", rd, want[r.First:r.Last+1])

	h.expectNoUpload(up)
	err = h.s.AbortMultipartUpload(h.ctx, "bkt", "big/object", up.UploadID)
	expectErr(h.t, "AbortMultipartUpload of a completed upload", err, origin.ErrNoSuchUpload)
	// The object stays when the upload is gone, and the bucket holds
	// nothing else (the unused part 4 went with the upload).
	_, data = h.get("bkt", "big/object")
	expectBytes(h.t, "GetObject after the upload ended", data, want)
	h.del("bkt", "big/object")
	expectNoErr(h.t, "DeleteBucket after deleting the object", h.s.DeleteBucket(h.ctx, "bkt"))
}

func testListPartsPaging(h *harness) {
	h.bucket("bkt")
	up := h.createUpload("bkt", "k", origin.PutOptions{Size: -1})
	var all []origin.PartInfo
	for _, n := range []int{7, 1, 3, 2, 10, 5} {
		h.uploadPart(up, n, []byte(fmt.Sprintf("part %d", n)))
	}
	for _, n := range []int{1, 2, 3, 5, 7, 10} {
		b := []byte(fmt.Sprintf("part %d", n))
		all = append(all, origin.PartInfo{PartNumber: n, ETag: md5hex(b), Size: int64(len(b))})
	}
	expectParts(h.t, "ListParts", h.listParts(up, 0), all...)
	expectParts(h.t, "ListParts by 1", h.listParts(up, 1), all...)
	expectParts(h.t, "ListParts by 4", h.listParts(up, 4), all...)

	res, err := h.s.ListParts(h.ctx, "bkt", "k", up.UploadID, origin.ListPartsOptions{MaxParts: 2})
	mustNoErr(h.t, "ListParts with MaxParts 2", err)
	expectParts(h.t, "ListParts with MaxParts 2", res.Parts, all[:2]...)
	if !res.IsTruncated || res.NextPartNumberMarker != 2 {
		h.t.Errorf("ListParts with MaxParts 2: IsTruncated %v NextPartNumberMarker %d, want true and 2", res.IsTruncated, res.NextPartNumberMarker)
	}
	res, err = h.s.ListParts(h.ctx, "bkt", "k", up.UploadID, origin.ListPartsOptions{PartNumberMarker: 4, MaxParts: 2})
	mustNoErr(h.t, "ListParts after 4", err)
	expectParts(h.t, "ListParts after part 4 with MaxParts 2", res.Parts, all[3:5]...)
	res, err = h.s.ListParts(h.ctx, "bkt", "k", up.UploadID, origin.ListPartsOptions{PartNumberMarker: 7})
	mustNoErr(h.t, "ListParts after 7", err)
	expectParts(h.t, "ListParts after part 7", res.Parts, all[5:]...)
	if res.IsTruncated {
		h.t.Errorf("ListParts after part 7: truncated, want the last page")
	}
	_, err = h.s.ListParts(h.ctx, "bkt", "k", up.UploadID, origin.ListPartsOptions{MaxParts: -1})
	expectErr(h.t, "ListParts with MaxParts -1", err, origin.ErrInvalidArgument)
	for _, p := range h.listParts(up, 0) {
		if p.LastModified.IsZero() {
			h.t.Errorf("ListParts: part %d has no LastModified", p.PartNumber)
		}
	}
}

func testMultipartSubset(h *harness) {
	h.bucket("bkt")
	up := h.createUpload("bkt", "k", origin.PutOptions{Size: -1})
	p1 := h.uploadPart(up, 1, bigPart(0))
	h.uploadPart(up, 2, []byte("unused"))
	p3 := h.uploadPart(up, 3, []byte("end"))
	info, err := h.complete(up, cparts(p1, p3), origin.Conditions{})
	mustNoErr(h.t, "CompleteMultipartUpload with parts 1 and 3", err)
	want := slices.Concat(bigPart(0), []byte("end"))
	if wantETag := multipartETag(bigPart(0), []byte("end")); info.ETag != wantETag || info.Parts != 2 || info.Size != int64(len(want)) {
		h.t.Errorf("CompleteMultipartUpload with parts 1 and 3: ETag %q parts %d size %d; want %q, 2, %d", info.ETag, info.Parts, info.Size, wantETag, len(want))
	}
	_, data := h.get("bkt", "k")
	expectBytes(h.t, "GetObject of parts 1 and 3", data, want)
	h.expectNoUpload(up)
	h.del("bkt", "k")
	expectNoErr(h.t, "DeleteBucket after the subset completion", h.s.DeleteBucket(h.ctx, "bkt"))
}

func testMultipartSinglePart(h *harness) {
	h.bucket("bkt")
	up := h.createUpload("bkt", "k", origin.PutOptions{Size: -1})
	p := h.uploadPart(up, 1, []byte("tiny"))
	info, err := h.complete(up, cparts(p), origin.Conditions{})
	mustNoErr(h.t, "CompleteMultipartUpload of one small part", err)
	if want := multipartETag([]byte("tiny")); info.ETag != want || info.Parts != 1 || info.Size != 4 {
		h.t.Errorf("one-part upload: ETag %q parts %d size %d; want %q, 1, 4", info.ETag, info.Parts, info.Size, want)
	}
	_, data := h.get("bkt", "k")
	expectBytes(h.t, "GetObject of a one-part upload", data, []byte("tiny"))
	// An empty single part makes an empty object.
	up = h.createUpload("bkt", "empty", origin.PutOptions{Size: -1})
	p = h.uploadPart(up, 1, nil)
	info, err = h.complete(up, cparts(p), origin.Conditions{})
	mustNoErr(h.t, "CompleteMultipartUpload of one empty part", err)
	if want := multipartETag(nil); info.ETag != want || info.Size != 0 {
		h.t.Errorf("empty one-part upload: ETag %q size %d; want %q, 0", info.ETag, info.Size, want)
	}
}

func testMultipartTooSmall(h *harness) {
	h.bucket("bkt")
	up := h.createUpload("bkt", "k", origin.PutOptions{Size: -1})
	// Parts below the minimum upload fine: only Complete knows which is last.
	p1 := h.uploadPart(up, 1, []byte("a"))
	p2 := h.uploadPart(up, 2, []byte("b"))
	_, err := h.complete(up, cparts(p1, p2), origin.Conditions{})
	expectErr(h.t, "CompleteMultipartUpload with a 1-byte first part", err, origin.ErrEntityTooSmall)
	h.expectMissing("bkt", "k")
	// One byte short of the minimum is too small.
	p1 = h.uploadPart(up, 1, bigPart(0)[:origin.DefaultMinPart-1])
	_, err = h.complete(up, cparts(p1, p2), origin.Conditions{})
	expectErr(h.t, "CompleteMultipartUpload with a first part of DefaultMinPart-1 bytes", err, origin.ErrEntityTooSmall)
	h.expectMissing("bkt", "k")
	expectParts(h.t, "ListParts after the refused completions", h.listParts(up, 0), p1, p2)
}

func testMultipartPartNumbers(h *harness) {
	h.bucket("bkt")
	up := h.createUpload("bkt", "k", origin.PutOptions{Size: -1})
	for _, n := range []int{0, -1, origin.MaxPartNumber + 1} {
		_, err := h.s.UploadPart(h.ctx, "bkt", "k", up.UploadID, n, bytes.NewReader([]byte("x")), origin.PartOptions{Size: 1})
		expectErr(h.t, fmt.Sprintf("UploadPart number %d", n), err, origin.ErrInvalidArgument)
	}
	p := h.uploadPart(up, origin.MaxPartNumber, []byte("last possible"))
	expectParts(h.t, "ListParts", h.listParts(up, 0), p)
	info, err := h.complete(up, cparts(p), origin.Conditions{})
	mustNoErr(h.t, "CompleteMultipartUpload of part 10000 alone", err)
	if info.Parts != 1 {
		h.t.Errorf("CompleteMultipartUpload of part 10000 alone: Parts %d, want 1", info.Parts)
	}
}

func testMultipartPartErrors(h *harness) {
	h.bucket("bkt")
	up := h.createUpload("bkt", "k", origin.PutOptions{Size: -1})
	good := h.uploadPart(up, 1, []byte("good part"))
	_, err := h.s.UploadPart(h.ctx, "bkt", "k", up.UploadID, 1, bytes.NewReader([]byte("short")), origin.PartOptions{Size: 100})
	expectErr(h.t, "UploadPart of 5 bytes declaring 100", err, origin.ErrIncompleteBody)
	_, err = h.s.UploadPart(h.ctx, "bkt", "k", up.UploadID, 1, bytes.NewReader([]byte("body")), origin.PartOptions{Size: 4, ContentMD5: md5raw([]byte("else"))})
	expectErr(h.t, "UploadPart with a wrong Content-MD5", err, origin.ErrBadDigest)
	_, err = h.s.UploadPart(h.ctx, "bkt", "k", up.UploadID, 1, bytes.NewReader([]byte("body")), origin.PartOptions{Size: 4, Verify: func() (map[string]string, error) {
		return nil, fmt.Errorf("checksum: %w", origin.ErrBadDigest)
	}})
	expectErr(h.t, "UploadPart whose Verify fails", err, origin.ErrBadDigest)
	// The failed uploads did not replace the good part.
	expectParts(h.t, "ListParts after failed part uploads", h.listParts(up, 0), good)

	sums := map[string]string{"CRC32": "AAAAAA=="}
	p, err := h.s.UploadPart(h.ctx, "bkt", "k", up.UploadID, 2, bytes.NewReader([]byte("two")), origin.PartOptions{Size: -1, ContentMD5: md5raw([]byte("two")), Verify: func() (map[string]string, error) {
		return sums, nil
	}})
	mustNoErr(h.t, "UploadPart with unknown size, a right Content-MD5 and checksums", err)
	if p.ETag != md5hex([]byte("two")) || p.Size != 3 || p.Checksums["CRC32"] != "AAAAAA==" {
		h.t.Errorf("UploadPart: %+v, want ETag %s, size 3, checksums %v", p, md5hex([]byte("two")), sums)
	}
}

func testMultipartAbort(h *harness) {
	h.bucket("bkt")
	h.put("bkt", "existing", []byte("stays"))
	up := h.createUpload("bkt", "k", origin.PutOptions{Size: -1})
	h.uploadPart(up, 1, []byte("part"))
	up2 := h.createUpload("bkt", "existing", origin.PutOptions{Size: -1})
	p := h.uploadPart(up2, 1, []byte("would replace"))
	mustNoErr(h.t, "AbortMultipartUpload", h.s.AbortMultipartUpload(h.ctx, "bkt", "k", up.UploadID))
	mustNoErr(h.t, "AbortMultipartUpload", h.s.AbortMultipartUpload(h.ctx, "bkt", "existing", up2.UploadID))
	h.expectNoUpload(up)
	h.expectNoUpload(up2)
	_, err := h.s.CompleteMultipartUpload(h.ctx, "bkt", "existing", up2.UploadID, cparts(p), origin.CompleteOptions{})
	expectErr(h.t, "CompleteMultipartUpload after abort", err, origin.ErrNoSuchUpload)
	err = h.s.AbortMultipartUpload(h.ctx, "bkt", "k", up.UploadID)
	expectErr(h.t, "second AbortMultipartUpload", err, origin.ErrNoSuchUpload)
	h.expectMissing("bkt", "k")
	h.expectObject("bkt", "existing", []byte("stays"), 0)
	if u := h.uploads("bkt", origin.ListUploadsOptions{}); len(u) != 0 {
		h.t.Errorf("ListMultipartUploads after aborting all: %+v, want none", u)
	}
}

func testMultipartUnknownUpload(h *harness) {
	h.bucket("bkt")
	up := h.createUpload("bkt", "k", origin.PutOptions{Size: -1})
	for _, c := range []struct{ key, id string }{{"k", "no-such-upload"}, {"k", ""}, {"other", up.UploadID}} {
		what := fmt.Sprintf("(key %q, upload %q)", c.key, c.id)
		_, err := h.s.UploadPart(h.ctx, "bkt", c.key, c.id, 1, bytes.NewReader([]byte("x")), origin.PartOptions{Size: 1})
		expectErr(h.t, "UploadPart "+what, err, origin.ErrNoSuchUpload)
		_, err = h.s.ListParts(h.ctx, "bkt", c.key, c.id, origin.ListPartsOptions{})
		expectErr(h.t, "ListParts "+what, err, origin.ErrNoSuchUpload)
		_, err = h.s.CompleteMultipartUpload(h.ctx, "bkt", c.key, c.id, []origin.CompletePart{{PartNumber: 1, ETag: md5hex([]byte("x"))}}, origin.CompleteOptions{})
		expectErr(h.t, "CompleteMultipartUpload "+what, err, origin.ErrNoSuchUpload)
		err = h.s.AbortMultipartUpload(h.ctx, "bkt", c.key, c.id)
		expectErr(h.t, "AbortMultipartUpload "+what, err, origin.ErrNoSuchUpload)
	}
	// The real upload was not touched by the calls naming another key.
	if parts := h.listParts(up, 0); len(parts) != 0 {
		h.t.Errorf("ListParts of the real upload: %d parts, want none", len(parts))
	}
}

func testMultipartConditions(h *harness) {
	h.bucket("bkt")
	old := h.put("bkt", "k", []byte("old"))
	up := h.createUpload("bkt", "k", origin.PutOptions{Size: -1})
	p := h.uploadPart(up, 1, []byte("new"))
	_, err := h.complete(up, cparts(p), origin.Conditions{IfNoneMatch: "*"})
	expectErr(h.t, "CompleteMultipartUpload with If-None-Match * over an object", err, origin.ErrPreconditionFailed)
	h.expectObject("bkt", "k", []byte("old"), old.Generation)
	_, err = h.complete(up, cparts(p), origin.Conditions{IfGenerationMatch: ptr(old.Generation - 1)})
	expectErr(h.t, "CompleteMultipartUpload with a stale generation", err, origin.ErrPreconditionFailed)
	h.expectObject("bkt", "k", []byte("old"), old.Generation)

	info, err := h.complete(up, cparts(p), origin.Conditions{IfMatch: old.ETag, IfGenerationMatch: ptr(old.Generation)})
	mustNoErr(h.t, "CompleteMultipartUpload with matching conditions", err)
	if info.Generation <= old.Generation {
		h.t.Errorf("completion over an object: generation %d, want > %d", info.Generation, old.Generation)
	}
	_, data := h.get("bkt", "k")
	expectBytes(h.t, "GetObject after the conditional completion", data, []byte("new"))
}
