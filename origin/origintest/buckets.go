package origintest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edgecdn/edge/origin"
)

var bucketTests = []test{
	{"CreateAndHead", testCreateBucket},
	{"CreateExisting", testCreateExistingBucket},
	{"InvalidNames", testInvalidBucketNames},
	{"HeadMissing", testHeadMissingBucket},
	{"ListSorted", testListBucketsSorted},
	{"DeleteNotEmpty", testDeleteNonEmptyBucket},
	{"DeleteWithUpload", testDeleteBucketWithUpload},
	{"DeleteThenHead", testDeleteBucket},
	{"ObjectOpsOnMissingBucket", testObjectOpsOnMissingBucket},
	{"Isolation", testBucketIsolation},
}

func testCreateBucket(h *harness) {
	before := time.Now()
	h.bucket("photos")
	after := time.Now()
	info, err := h.s.HeadBucket(h.ctx, "photos")
	mustNoErr(h.t, `HeadBucket("photos")`, err)
	if info.Name != "photos" {
		h.t.Errorf(`HeadBucket("photos"): Name %q, want "photos"`, info.Name)
	}
	checkRecent(h.t, `HeadBucket("photos").Created`, info.Created, before, after)
	list, err := h.s.ListBuckets(h.ctx)
	mustNoErr(h.t, "ListBuckets", err)
	if len(list) != 1 || list[0].Name != "photos" {
		h.t.Fatalf("ListBuckets: %+v, want just photos", list)
	}
	if !list[0].Created.Equal(info.Created) {
		h.t.Errorf("ListBuckets: Created %v, HeadBucket says %v; want the same", list[0].Created, info.Created)
	}
	// A new bucket is empty.
	res, err := h.s.ListObjects(h.ctx, "photos", origin.ListOptions{})
	mustNoErr(h.t, `ListObjects("photos")`, err)
	if len(res.Objects) != 0 || len(res.CommonPrefixes) != 0 || res.IsTruncated {
		h.t.Errorf("ListObjects of a new bucket: %+v, want an empty, untruncated page", res)
	}
}

func testCreateExistingBucket(h *harness) {
	h.bucket("photos")
	h.put("photos", "k", []byte("v"))
	err := h.s.CreateBucket(h.ctx, "photos")
	expectErr(h.t, `second CreateBucket("photos")`, err, origin.ErrBucketExists)
	// The existing bucket keeps its objects.
	h.expectObject("photos", "k", []byte("v"), 0)
}

func testInvalidBucketNames(h *harness) {
	cases := []struct {
		name  string
		valid bool
	}{
		{"ab", false},                         // too short
		{strings.Repeat("a", 64), false},      // too long
		{"MyBucket", false},                   // uppercase
		{"my_bucket", false},                  // underscore
		{"my bucket", false},                  // space
		{"192.168.1.1", false},                // IP address
		{"-bucket", false},                    // leading '-'
		{"bucket-", false},                    // trailing '-'
		{".bucket", false},                    // leading '.'
		{"a..b", false},                       // two adjacent periods
		{"xn--abc", false},                    // reserved prefix
		{"sthree-abc", false},                 // reserved prefix
		{"abc-s3alias", false},                // reserved suffix
		{"", false},                           // empty
		{"abc", true},                         // shortest
		{strings.Repeat("a", 63), true},       // longest
		{"my.bucket-2", true},                 // periods, hyphens and digits
		{"1bucket", true},                     // leading digit
		{"192.168.1.1.example", true},         // looks like an IP but is not
		{"b-" + strings.Repeat("x", 3), true}, // hyphen inside
	}
	for _, c := range cases {
		if got := origin.ValidBucketName(c.name); got != c.valid {
			h.t.Errorf("ValidBucketName(%q) = %v, want %v", c.name, got, c.valid)
		}
		err := h.s.CreateBucket(h.ctx, c.name)
		what := fmt.Sprintf("CreateBucket(%q)", c.name)
		if c.valid {
			expectNoErr(h.t, what, err)
		} else {
			expectErr(h.t, what, err, origin.ErrInvalidBucketName)
		}
	}
	var want []string
	for _, c := range cases {
		if c.valid {
			want = append(want, c.name)
		}
	}
	slices.Sort(want)
	expectStrings(h.t, "ListBuckets after creating valid and invalid names", h.bucketNames(), want)
}

func (h *harness) bucketNames() []string {
	h.t.Helper()
	list, err := h.s.ListBuckets(h.ctx)
	mustNoErr(h.t, "ListBuckets", err)
	names := make([]string, len(list))
	for i, b := range list {
		names[i] = b.Name
	}
	return names
}

func testHeadMissingBucket(h *harness) {
	_, err := h.s.HeadBucket(h.ctx, "nothere")
	expectErr(h.t, `HeadBucket("nothere")`, err, origin.ErrNoSuchBucket)
	err = h.s.DeleteBucket(h.ctx, "nothere")
	expectErr(h.t, `DeleteBucket("nothere")`, err, origin.ErrNoSuchBucket)
	list, err := h.s.ListBuckets(h.ctx)
	mustNoErr(h.t, "ListBuckets", err)
	if len(list) != 0 {
		h.t.Errorf("ListBuckets of a new store: %+v, want none", list)
	}
}

func testListBucketsSorted(h *harness) {
	for _, b := range []string{"zeta", "alpha", "mid-dle", "alpha2", "alpha-2", "0day", "beta.x"} {
		h.bucket(b)
	}
	expectStrings(h.t, "ListBuckets", h.bucketNames(),
		[]string{"0day", "alpha", "alpha-2", "alpha2", "beta.x", "mid-dle", "zeta"})
}

func testDeleteNonEmptyBucket(h *harness) {
	h.bucket("full")
	h.put("full", "dir/obj", []byte("data"))
	err := h.s.DeleteBucket(h.ctx, "full")
	expectErr(h.t, "DeleteBucket of a bucket with an object", err, origin.ErrBucketNotEmpty)
	_, err = h.s.HeadBucket(h.ctx, "full")
	expectNoErr(h.t, "HeadBucket after the refused delete", err)
	h.expectObject("full", "dir/obj", []byte("data"), 0)

	res, err := h.s.DeleteObject(h.ctx, "full", "dir/obj", origin.DeleteOptions{})
	mustNoErr(h.t, "DeleteObject", err)
	if !res.Deleted {
		h.t.Errorf("DeleteObject of an existing object: Deleted false, want true")
	}
	expectNoErr(h.t, "DeleteBucket once empty", h.s.DeleteBucket(h.ctx, "full"))
}

func testDeleteBucketWithUpload(h *harness) {
	h.bucket("uploads")
	up := h.createUpload("uploads", "big", origin.PutOptions{Size: -1})
	h.uploadPart(up, 1, []byte("a part"))
	err := h.s.DeleteBucket(h.ctx, "uploads")
	expectErr(h.t, "DeleteBucket of a bucket with an upload in progress", err, origin.ErrBucketNotEmpty)
	if parts := h.listParts(up, 0); len(parts) != 1 {
		h.t.Errorf("ListParts after the refused delete: %d parts, want 1", len(parts))
	}

	mustNoErr(h.t, "AbortMultipartUpload", h.s.AbortMultipartUpload(h.ctx, "uploads", "big", up.UploadID))
	expectNoErr(h.t, "DeleteBucket once the upload is aborted", h.s.DeleteBucket(h.ctx, "uploads"))
}

func testDeleteBucket(h *harness) {
	h.bucket("keep")
	h.bucket("gone")
	h.put("gone", "k", []byte("old"))
	_, err := h.s.DeleteObject(h.ctx, "gone", "k", origin.DeleteOptions{})
	mustNoErr(h.t, "DeleteObject", err)
	mustNoErr(h.t, `DeleteBucket("gone")`, h.s.DeleteBucket(h.ctx, "gone"))

	_, err = h.s.HeadBucket(h.ctx, "gone")
	expectErr(h.t, "HeadBucket after DeleteBucket", err, origin.ErrNoSuchBucket)
	expectStrings(h.t, "ListBuckets after DeleteBucket", h.bucketNames(), []string{"keep"})
	err = h.s.DeleteBucket(h.ctx, "gone")
	expectErr(h.t, "second DeleteBucket", err, origin.ErrNoSuchBucket)
	_, err = h.s.PutObject(h.ctx, "gone", "k", bytes.NewReader([]byte("x")), origin.PutOptions{Size: 1})
	expectErr(h.t, "PutObject into a deleted bucket", err, origin.ErrNoSuchBucket)

	// The name can be used again, and the new bucket starts empty.
	h.bucket("gone")
	if keys := h.keys("gone", ""); len(keys) != 0 {
		h.t.Errorf("re-created bucket lists %q, want no objects", keys)
	}
	h.expectMissing("gone", "k")
}

func testObjectOpsOnMissingBucket(h *harness) {
	h.bucket("exists")
	h.put("exists", "src", []byte("source"))
	const b = "missing"
	body := func() *bytes.Reader { return bytes.NewReader([]byte("x")) }
	ctx := h.ctx
	s := h.s

	_, err := s.PutObject(ctx, b, "k", body(), origin.PutOptions{Size: 1})
	expectErr(h.t, "PutObject", err, origin.ErrNoSuchBucket)
	_, err = s.GetObject(ctx, b, "k", origin.GetOptions{})
	expectErr(h.t, "GetObject", err, origin.ErrNoSuchBucket)
	_, err = s.HeadObject(ctx, b, "k", origin.GetOptions{})
	expectErr(h.t, "HeadObject", err, origin.ErrNoSuchBucket)
	_, err = s.DeleteObject(ctx, b, "k", origin.DeleteOptions{})
	expectErr(h.t, "DeleteObject", err, origin.ErrNoSuchBucket)
	_, err = s.DeleteObjects(ctx, b, []string{"k", "l"})
	expectErr(h.t, "DeleteObjects", err, origin.ErrNoSuchBucket)
	_, err = s.ListObjects(ctx, b, origin.ListOptions{})
	expectErr(h.t, "ListObjects", err, origin.ErrNoSuchBucket)
	_, err = s.CopyObject(ctx, b, "src", "exists", "dst", origin.CopyOptions{})
	expectErr(h.t, "CopyObject from a missing bucket", err, origin.ErrNoSuchBucket)
	_, err = s.CopyObject(ctx, "exists", "src", b, "dst", origin.CopyOptions{})
	expectErr(h.t, "CopyObject into a missing bucket", err, origin.ErrNoSuchBucket)
	_, err = s.CreateMultipartUpload(ctx, b, "k", origin.PutOptions{Size: -1})
	expectErr(h.t, "CreateMultipartUpload", err, origin.ErrNoSuchBucket)
	_, err = s.ListMultipartUploads(ctx, b, origin.ListUploadsOptions{})
	expectErr(h.t, "ListMultipartUploads", err, origin.ErrNoSuchBucket)

	// An upload ID cannot exist in a missing bucket: either answer is right.
	_, err = s.UploadPart(ctx, b, "k", "no-such-upload", 1, body(), origin.PartOptions{Size: 1})
	expectErrOneOf(h.t, "UploadPart", err, origin.ErrNoSuchBucket, origin.ErrNoSuchUpload)
	_, err = s.ListParts(ctx, b, "k", "no-such-upload", origin.ListPartsOptions{})
	expectErrOneOf(h.t, "ListParts", err, origin.ErrNoSuchBucket, origin.ErrNoSuchUpload)
	_, err = s.CompleteMultipartUpload(ctx, b, "k", "no-such-upload", []origin.CompletePart{{PartNumber: 1, ETag: md5hex([]byte("x"))}}, origin.CompleteOptions{})
	expectErrOneOf(h.t, "CompleteMultipartUpload", err, origin.ErrNoSuchBucket, origin.ErrNoSuchUpload)
	err = s.AbortMultipartUpload(ctx, b, "k", "no-such-upload")
	expectErrOneOf(h.t, "AbortMultipartUpload", err, origin.ErrNoSuchBucket, origin.ErrNoSuchUpload)

	// None of it created the bucket or touched the other one.
	expectStrings(h.t, "ListBuckets", h.bucketNames(), []string{"exists"})
	expectStrings(h.t, `keys of "exists"`, h.keys("exists", ""), []string{"src"})
}

// testBucketIsolation uses bucket names that are prefixes of each other:
// no object, listing or upload leaks from one into another.
func testBucketIsolation(h *harness) {
	names := []string{"abc", "abcd", "abc.d", "abc-1", "ab-c"}
	for _, b := range names {
		h.bucket(b)
		h.put(b, "k", []byte("k in "+b))
		h.put(b, "d/"+b, []byte(b))
	}
	h.put("abcd", "only-in-abcd", []byte("x"))
	up := h.createUpload("abcd", "upload", origin.PutOptions{Size: -1})
	for _, b := range names {
		h.expectObject(b, "k", []byte("k in "+b), 0)
		want := []string{"d/" + b, "k"}
		if b == "abcd" {
			want = append(want, "only-in-abcd")
		}
		expectStrings(h.t, fmt.Sprintf("keys of %q", b), h.keys(b, ""), want)
		h.expectListing(b, origin.ListOptions{Delimiter: "/"}, want[1:], []string{"d/"})
		if b != "abcd" {
			if u := h.uploads(b, origin.ListUploadsOptions{}); len(u) != 0 {
				h.t.Errorf("ListMultipartUploads(%q) lists %+v from another bucket", b, u)
			}
			_, err := h.s.ListParts(h.ctx, b, "upload", up.UploadID, origin.ListPartsOptions{})
			expectErr(h.t, fmt.Sprintf("ListParts of abcd's upload through bucket %q", b), err, origin.ErrNoSuchUpload)
		}
	}
	h.expectMissing("abc", "only-in-abcd")
	// Emptying "abc" lets it go although "abcd" still holds objects.
	for _, k := range h.keys("abc", "") {
		h.del("abc", k)
	}
	expectNoErr(h.t, `DeleteBucket("abc")`, h.s.DeleteBucket(h.ctx, "abc"))
	h.expectObject("abcd", "k", []byte("k in abcd"), 0)
	expectStrings(h.t, "ListBuckets", h.bucketNames(), []string{"ab-c", "abc-1", "abc.d", "abcd"})
}
