package origintest

import (
	"fmt"

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
