package origintest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/edgecdn/edge/origin"
)

func (h *harness) uploads(bucket string, opts origin.ListUploadsOptions) []origin.MultipartUpload {
	h.t.Helper()
	res, err := h.s.ListMultipartUploads(h.ctx, bucket, opts)
	mustNoErr(h.t, fmt.Sprintf("ListMultipartUploads(%+v)", opts), err)
	return res.Uploads
}

func testListMultipartUploads(h *harness) {
	h.bucket("bkt")
	h.bucket("other")
	h.createUpload("other", "a", origin.PutOptions{Size: -1})
	b1 := h.createUpload("bkt", "b/1", origin.PutOptions{Size: -1})
	a := h.createUpload("bkt", "a", origin.PutOptions{Size: -1})
	b1again := h.createUpload("bkt", "b/1", origin.PutOptions{Size: -1})
	c := h.createUpload("bkt", "c", origin.PutOptions{Size: -1})
	b2 := h.createUpload("bkt", "b/2", origin.PutOptions{Size: -1})
	if b1.UploadID == b1again.UploadID {
		h.t.Fatalf("two uploads of b/1 share the ID %q", b1.UploadID)
	}
	all := []origin.MultipartUpload{a, b1, b1again, b2, c}
	expectUploads(h, "ListMultipartUploads", h.uploads("bkt", origin.ListUploadsOptions{}), all...)
	expectUploads(h, "ListMultipartUploads with prefix b/", h.uploads("bkt", origin.ListUploadsOptions{Prefix: "b/"}), b1, b1again, b2)
	expectUploads(h, "ListMultipartUploads with prefix zz", h.uploads("bkt", origin.ListUploadsOptions{Prefix: "zz"}))
	expectUploads(h, "ListMultipartUploads after key b/1", h.uploads("bkt", origin.ListUploadsOptions{KeyMarker: "b/1"}), b2, c)

	// Pages of two, resumed with both markers.
	var got []origin.MultipartUpload
	opts := origin.ListUploadsOptions{MaxUploads: 2}
	for page := 1; ; page++ {
		if page > 10 {
			h.t.Fatalf("ListMultipartUploads with MaxUploads 2: more than 10 pages")
		}
		res, err := h.s.ListMultipartUploads(h.ctx, "bkt", opts)
		mustNoErr(h.t, fmt.Sprintf("ListMultipartUploads(%+v)", opts), err)
		if len(res.Uploads) > 2 {
			h.t.Fatalf("ListMultipartUploads with MaxUploads 2: %d uploads", len(res.Uploads))
		}
		got = append(got, res.Uploads...)
		if !res.IsTruncated {
			if page != 3 {
				h.t.Errorf("ListMultipartUploads of 5 by 2: %d pages, want 3", page)
			}
			break
		}
		if len(res.Uploads) == 0 {
			h.t.Fatalf("ListMultipartUploads: truncated empty page")
		}
		last := res.Uploads[len(res.Uploads)-1]
		if res.NextKeyMarker != last.Key || res.NextUploadIDMarker != last.UploadID {
			h.t.Errorf("ListMultipartUploads page %d: next markers %q %q, want %q %q (the last upload)", page, res.NextKeyMarker, res.NextUploadIDMarker, last.Key, last.UploadID)
		}
		opts.KeyMarker, opts.UploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	expectUploads(h, "ListMultipartUploads by pages of 2", got, all...)
	expectUploads(h, "ListMultipartUploads after the first upload of b/1",
		h.uploads("bkt", origin.ListUploadsOptions{KeyMarker: "b/1", UploadIDMarker: b1.UploadID}), b1again, b2, c)

	_, err := h.s.ListMultipartUploads(h.ctx, "bkt", origin.ListUploadsOptions{MaxUploads: -1})
	expectErr(h.t, "ListMultipartUploads with MaxUploads -1", err, origin.ErrInvalidArgument)

	// Finished uploads leave the list.
	p := h.uploadPart(c, 1, []byte("c"))
	_, err = h.complete(c, cparts(p), origin.Conditions{})
	mustNoErr(h.t, "CompleteMultipartUpload", err)
	mustNoErr(h.t, "AbortMultipartUpload", h.s.AbortMultipartUpload(h.ctx, "bkt", "b/1", b1.UploadID))
	expectUploads(h, "ListMultipartUploads after one completion and one abort", h.uploads("bkt", origin.ListUploadsOptions{}), a, b1again, b2)
}

func expectUploads(h *harness, what string, got []origin.MultipartUpload, want ...origin.MultipartUpload) {
	h.t.Helper()
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = got[i].Key == want[i].Key && got[i].UploadID == want[i].UploadID && got[i].Bucket == want[i].Bucket
	}
	if !same {
		f := func(us []origin.MultipartUpload) string {
			s := ""
			for _, u := range us {
				s += fmt.Sprintf(" %s/%s#%s", u.Bucket, u.Key, u.UploadID)
			}
			return "[" + s + " ]"
		}
		h.t.Errorf("%s:\n got  %s\n want %s", what, f(got), f(want))
		return
	}
	for i := range got {
		if !got[i].Initiated.Equal(want[i].Initiated) {
			h.t.Errorf("%s: upload %s initiated %v, CreateMultipartUpload said %v", what, got[i].UploadID, got[i].Initiated, want[i].Initiated)
		}
	}
}

// testListUploadsMarkerGone: a page of uploads resumes at its markers'
// position even when the upload they name ended in between; the uploads
// that exist throughout are all listed.
func testListUploadsMarkerGone(h *harness) {
	h.bucket("bkt")
	a := h.createUpload("bkt", "a", origin.PutOptions{Size: -1})
	b1 := h.createUpload("bkt", "b", origin.PutOptions{Size: -1})
	b2 := h.createUpload("bkt", "b", origin.PutOptions{Size: -1})
	b3 := h.createUpload("bkt", "b", origin.PutOptions{Size: -1})
	c := h.createUpload("bkt", "c", origin.PutOptions{Size: -1})
	res, err := h.s.ListMultipartUploads(h.ctx, "bkt", origin.ListUploadsOptions{MaxUploads: 2})
	mustNoErr(h.t, "ListMultipartUploads page 1", err)
	expectUploads(h, "ListMultipartUploads page 1", res.Uploads, a, b1)
	if !res.IsTruncated {
		h.t.Fatalf("page 1 of 5 uploads by 2 is not truncated")
	}
	mustNoErr(h.t, "AbortMultipartUpload", h.s.AbortMultipartUpload(h.ctx, "bkt", "b", b1.UploadID))
	res, err = h.s.ListMultipartUploads(h.ctx, "bkt", origin.ListUploadsOptions{MaxUploads: 2, KeyMarker: res.NextKeyMarker, UploadIDMarker: res.NextUploadIDMarker})
	mustNoErr(h.t, "ListMultipartUploads page 2", err)
	expectUploads(h, "ListMultipartUploads page 2, after the marker's upload was aborted", res.Uploads, b2, b3)
	if !res.IsTruncated {
		h.t.Fatalf("page 2 (of uploads a, b, b, b, c by 2, with one b aborted after page 1) is not truncated; upload c is still to come")
	}
	res, err = h.s.ListMultipartUploads(h.ctx, "bkt", origin.ListUploadsOptions{MaxUploads: 2, KeyMarker: res.NextKeyMarker, UploadIDMarker: res.NextUploadIDMarker})
	mustNoErr(h.t, "ListMultipartUploads page 3", err)
	expectUploads(h, "ListMultipartUploads page 3", res.Uploads, c)
}

// testListUploadsDelimiter: with a delimiter, the uploads of keys that
// contain it after the prefix are rolled into one common prefix each,
// counted against MaxUploads, and a page that ends on a prefix resumes
// after every upload under it.
func testListUploadsDelimiter(h *harness) {
	h.bucket("bkt")
	a := h.createUpload("bkt", "a", origin.PutOptions{Size: -1})
	h.createUpload("bkt", "b/1", origin.PutOptions{Size: -1})
	h.createUpload("bkt", "b/2/x", origin.PutOptions{Size: -1})
	h.createUpload("bkt", "b/1", origin.PutOptions{Size: -1})
	c := h.createUpload("bkt", "c", origin.PutOptions{Size: -1})
	h.createUpload("bkt", "d/9", origin.PutOptions{Size: -1})
	list := func(opts origin.ListUploadsOptions) origin.ListUploadsResult {
		h.t.Helper()
		res, err := h.s.ListMultipartUploads(h.ctx, "bkt", opts)
		mustNoErr(h.t, fmt.Sprintf("ListMultipartUploads(%+v)", opts), err)
		return res
	}
	res := list(origin.ListUploadsOptions{Delimiter: "/"})
	expectUploads(h, "uploads with delimiter /", res.Uploads, a, c)
	expectStrings(h.t, "common prefixes with delimiter /", res.CommonPrefixes, []string{"b/", "d/"})
	if res.IsTruncated || res.NextKeyMarker != "" {
		h.t.Errorf("a complete listing: truncated %v, next key marker %q", res.IsTruncated, res.NextKeyMarker)
	}
	res = list(origin.ListUploadsOptions{Prefix: "b/", Delimiter: "/"})
	if len(res.Uploads) != 2 || res.Uploads[0].Key != "b/1" || res.Uploads[1].Key != "b/1" {
		h.t.Errorf("uploads under b/: %+v, want the two of b/1", res.Uploads)
	}
	expectStrings(h.t, "common prefixes under b/", res.CommonPrefixes, []string{"b/2/"})

	// Pages of two: a, b/ | c, d/.
	res = list(origin.ListUploadsOptions{Delimiter: "/", MaxUploads: 2})
	expectUploads(h, "page 1", res.Uploads, a)
	expectStrings(h.t, "page 1 prefixes", res.CommonPrefixes, []string{"b/"})
	if !res.IsTruncated || res.NextKeyMarker != "b/" || res.NextUploadIDMarker != "" {
		h.t.Fatalf("page 1: truncated %v, next markers %q %q; want true, \"b/\", \"\"", res.IsTruncated, res.NextKeyMarker, res.NextUploadIDMarker)
	}
	res = list(origin.ListUploadsOptions{Delimiter: "/", MaxUploads: 2, KeyMarker: res.NextKeyMarker})
	expectUploads(h, "page 2", res.Uploads, c)
	expectStrings(h.t, "page 2 prefixes", res.CommonPrefixes, []string{"d/"})
	if res.IsTruncated {
		h.t.Errorf("page 2 is truncated")
	}
}

// testCompleteCheck: CompleteOptions.Check sees the upload as created
// (its checksum settings) and the listed parts; what its verify returns is
// stored with the object, and an error from it leaves the upload intact.
func testCompleteCheck(h *harness) {
	h.bucket("bkt")
	up := h.createUpload("bkt", "k", origin.PutOptions{Size: -1, ChecksumAlgorithm: "CRC32", ChecksumType: "COMPOSITE"})
	if up.ChecksumAlgorithm != "CRC32" || up.ChecksumType != "COMPOSITE" {
		h.t.Errorf("CreateMultipartUpload returned checksum settings %q %q", up.ChecksumAlgorithm, up.ChecksumType)
	}
	listed := h.uploads("bkt", origin.ListUploadsOptions{})
	if len(listed) != 1 || listed[0].ChecksumAlgorithm != "CRC32" || listed[0].ChecksumType != "COMPOSITE" {
		h.t.Errorf("ListMultipartUploads lost the checksum settings: %+v", listed)
	}
	p1 := h.uploadPart(up, 1, bytes.Repeat([]byte("a"), origin.DefaultMinPart))
	p2 := h.uploadPart(up, 2, []byte("tail"))
	refuse := errors.New("refused by the check")
	var seen []byte
	check := func(fail bool) func(origin.MultipartUpload, []origin.PartInfo) (func(io.Reader) io.Reader, func() (map[string]string, error), error) {
		return func(u origin.MultipartUpload, parts []origin.PartInfo) (func(io.Reader) io.Reader, func() (map[string]string, error), error) {
			if u.UploadID != up.UploadID || u.ChecksumAlgorithm != "CRC32" || len(parts) != 2 || parts[1].PartNumber != 2 || parts[1].Size != 4 {
				h.t.Errorf("Check got upload %+v and parts %+v", u, parts)
			}
			seen = seen[:0]
			wrap := func(r io.Reader) io.Reader {
				return io.TeeReader(r, writerFunc(func(b []byte) { seen = append(seen, b...) }))
			}
			verify := func() (map[string]string, error) {
				if fail {
					return nil, refuse
				}
				return map[string]string{"CRC32": "c3VtLTI=-2"}, nil
			}
			return wrap, verify, nil
		}
	}
	_, err := h.s.CompleteMultipartUpload(h.ctx, "bkt", "k", up.UploadID, cparts(p1, p2), origin.CompleteOptions{Check: check(true)})
	if !errors.Is(err, refuse) {
		h.t.Fatalf("CompleteMultipartUpload with a failing verify: %v, want its error", err)
	}
	h.expectMissing("bkt", "k")
	info, err := h.s.CompleteMultipartUpload(h.ctx, "bkt", "k", up.UploadID, cparts(p1, p2), origin.CompleteOptions{Check: check(false)})
	mustNoErr(h.t, "CompleteMultipartUpload after the failed one", err)
	if want := append(bytes.Repeat([]byte("a"), origin.DefaultMinPart), "tail"...); !bytes.Equal(seen, want) {
		h.t.Errorf("wrap saw %d bytes, want the %d of the joined object", len(seen), len(want))
	}
	head, err := h.s.HeadObject(h.ctx, "bkt", "k", origin.GetOptions{})
	mustNoErr(h.t, "HeadObject", err)
	if head.Checksums["CRC32"] != "c3VtLTI=-2" || info.Checksums["CRC32"] != "c3VtLTI=-2" {
		h.t.Errorf("stored checksums %v (returned %v), want verify's", head.Checksums, info.Checksums)
	}
	if slices.Contains(h.uploadIDs("bkt"), up.UploadID) {
		h.t.Errorf("the completed upload is still listed")
	}
}

func (h *harness) uploadIDs(bucket string) []string {
	var ids []string
	for _, u := range h.uploads(bucket, origin.ListUploadsOptions{}) {
		ids = append(ids, u.UploadID)
	}
	return ids
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }
