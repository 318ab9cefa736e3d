package origintest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/edgecdn/edge/origin"
)

var objectTests = []test{
	{"RoundTrip", testRoundTrip},
	{"UnknownSize", testPutUnknownSize},
	{"BodyLongerThanSize", testPutBodyLongerThanSize},
	{"ETagFormat", testETagFormat},
	{"Overwrite", testOverwrite},
	{"Metadata", testMetadata},
	{"OverwriteDropsMetadata", testOverwriteDropsMetadata},
	{"LastModified", testLastModified},
	{"Empty", testEmptyObject},
	{"DistinctKeys", testDistinctKeys},
	{"KeyTooLong", testKeyTooLong},
	{"InvalidKey", testInvalidKey},
	{"Missing", testGetMissing},
	{"IncompleteBody", testIncompleteBody},
	{"BodyReadError", testBodyReadError},
	{"BadDigest", testBadDigest},
	{"VerifyFails", testVerifyFails},
	{"VerifyChecksums", testVerifyChecksums},
	{"OpenBodySurvivesOverwrite", testOpenBodySurvivesOverwrite},
	{"MaxObjectSize", nil}, // see skipReasons
}

const emptyETag = "d41d8cd98f00b204e9800998ecf8427e"

func testRoundTrip(h *harness) {
	h.bucket("bkt")
	body := randomBytes(300_000, 1)
	info := h.put("bkt", "dir/file.bin", body)
	got := h.expectObject("bkt", "dir/file.bin", body, info.Generation)
	if got.Parts != 0 {
		h.t.Errorf("GetObject: Parts %d for a single-part object, want 0", got.Parts)
	}
	// Every byte value survives.
	all := make([]byte, 256*4)
	for i := range all {
		all[i] = byte(i)
	}
	h.put("bkt", "bytes", all)
	h.expectObject("bkt", "bytes", all, 0)
}

func testPutUnknownSize(h *harness) {
	h.bucket("bkt")
	body := randomBytes(70_000, 2)
	// A reader that hides its length, as a chunked upload does.
	info, err := h.s.PutObject(h.ctx, "bkt", "k", io.MultiReader(bytes.NewReader(body[:1000]), bytes.NewReader(body[1000:])), origin.PutOptions{Size: -1})
	mustNoErr(h.t, "PutObject with Size -1", err)
	h.wrote("PutObject with Size -1", info)
	checkInfo(h.t, "PutObject with Size -1", info, "bkt", "k", body)
	h.expectObject("bkt", "k", body, info.Generation)
}

func testPutBodyLongerThanSize(h *harness) {
	h.bucket("bkt")
	// The declared size decides: extra bytes are not read.
	info, err := h.tryPut("bkt", "k", []byte("hello, world"), origin.PutOptions{Size: 5})
	mustNoErr(h.t, "PutObject of a 12-byte body with Size 5", err)
	checkInfo(h.t, "PutObject with Size 5", info, "bkt", "k", []byte("hello"))
	h.expectObject("bkt", "k", []byte("hello"), info.Generation)
	info, err = h.tryPut("bkt", "zero", []byte("ignored"), origin.PutOptions{Size: 0})
	mustNoErr(h.t, "PutObject of a 7-byte body with Size 0", err)
	h.expectObject("bkt", "zero", []byte{}, info.Generation)
}

var hexMD5 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func testETagFormat(h *harness) {
	h.bucket("bkt")
	for i, body := range [][]byte{[]byte("hello"), randomBytes(5000, 3), []byte("Hello")} {
		key := fmt.Sprintf("k%d", i)
		info := h.put("bkt", key, body)
		for _, got := range []string{info.ETag, h.head("bkt", key).ETag} {
			if !hexMD5.MatchString(got) {
				h.t.Errorf("ETag %q of %s: want 32 lower-case hex digits without quotes", got, key)
			}
		}
	}
	if got := h.head("bkt", "k0").ETag; got != "5d41402abc4b2a76b9719d911017c592" {
		h.t.Errorf(`ETag of "hello": %q, want 5d41402abc4b2a76b9719d911017c592`, got)
	}
}

func testOverwrite(h *harness) {
	h.bucket("bkt")
	first := h.put("bkt", "k", []byte("first version, rather long"))
	second := h.put("bkt", "k", []byte("second"))
	if second.Generation <= first.Generation {
		h.t.Errorf("overwrite: generation %d, want > %d", second.Generation, first.Generation)
	}
	// Read-after-write: the shorter body replaces the longer one entirely.
	h.expectObject("bkt", "k", []byte("second"), second.Generation)
	objs, _ := h.listAll("bkt", origin.ListOptions{})
	if len(objs) != 1 || objs[0].Generation != second.Generation || objs[0].ETag != second.ETag || objs[0].Size != 6 {
		h.t.Errorf("ListObjects after overwrite: %+v, want one object with generation %d, ETag %s and size 6", objs, second.Generation, second.ETag)
	}
	// Overwriting with the same content is a new write all the same.
	third := h.put("bkt", "k", []byte("second"))
	if third.ETag != second.ETag {
		h.t.Errorf("same content: ETag %q, want %q", third.ETag, second.ETag)
	}
	h.expectObject("bkt", "k", []byte("second"), third.Generation)
}

func testMetadata(h *harness) {
	h.bucket("bkt")
	m := fullMeta("one")
	body := []byte("with metadata")
	info := h.putWith("bkt", "k", body, m.putOptions(int64(len(body))))
	checkMeta(h.t, "PutObject result", info, m)
	obj, data, err := h.tryGet("bkt", "k", origin.GetOptions{})
	mustNoErr(h.t, "GetObject", err)
	expectBytes(h.t, "GetObject", data, body)
	checkMeta(h.t, "GetObject", obj.Info, m)
	checkMeta(h.t, "HeadObject", h.head("bkt", "k"), m)
	objs, _ := h.listAll("bkt", origin.ListOptions{})
	if len(objs) != 1 {
		h.t.Fatalf("ListObjects: %d objects, want 1", len(objs))
	}
	checkMeta(h.t, "ListObjects", objs[0], m)

	// The store keeps its own copy: changing the caller's map and slice
	// afterwards changes nothing.
	opts := m.putOptions(int64(len(body)))
	h.putWith("bkt", "k2", body, opts)
	opts.UserMeta["color"] = "red"
	opts.Tags[0] = "changed"
	checkMeta(h.t, "HeadObject after the caller changed its options", h.head("bkt", "k2"), m)
}

func testOverwriteDropsMetadata(h *harness) {
	h.bucket("bkt")
	body := []byte("x")
	h.putWith("bkt", "k", body, fullMeta("a").putOptions(1))
	h.put("bkt", "k", []byte("y"))
	// A PUT replaces the whole object, metadata included.
	checkMeta(h.t, "HeadObject after an overwrite without metadata", h.head("bkt", "k"), meta{})
	m := meta{UserMeta: map[string]string{"only": "this"}}
	h.putWith("bkt", "k", body, m.putOptions(1))
	checkMeta(h.t, "HeadObject after an overwrite with other metadata", h.head("bkt", "k"), m)
}

func testLastModified(h *harness) {
	h.bucket("bkt")
	before := time.Now()
	info := h.put("bkt", "k", []byte("x"))
	after := time.Now()
	checkRecent(h.t, "PutObject LastModified", info.LastModified, before, after)
	head := h.head("bkt", "k")
	checkRecent(h.t, "HeadObject LastModified", head.LastModified, before, after)
	if !head.LastModified.Equal(info.LastModified) {
		h.t.Errorf("HeadObject LastModified %v, PutObject said %v; want the same", head.LastModified, info.LastModified)
	}
	objs, _ := h.listAll("bkt", origin.ListOptions{})
	if len(objs) == 1 && !objs[0].LastModified.Equal(info.LastModified) {
		h.t.Errorf("ListObjects LastModified %v, PutObject said %v; want the same", objs[0].LastModified, info.LastModified)
	}
}

func testEmptyObject(h *harness) {
	h.bucket("bkt")
	info := h.put("bkt", "empty", nil)
	if info.ETag != emptyETag || info.Size != 0 {
		h.t.Errorf("PutObject of an empty body: ETag %q size %d, want %s and 0", info.ETag, info.Size, emptyETag)
	}
	h.expectObject("bkt", "empty", []byte{}, info.Generation)
	// Unknown size, empty body.
	info2, err := h.tryPut("bkt", "empty2", nil, origin.PutOptions{Size: -1})
	mustNoErr(h.t, "PutObject of an empty body with Size -1", err)
	checkInfo(h.t, "PutObject of an empty body with Size -1", info2, "bkt", "empty2", nil)
	objs, _ := h.listAll("bkt", origin.ListOptions{})
	if len(objs) != 2 || objs[0].Key != "empty" || objs[0].Size != 0 || objs[0].ETag != emptyETag {
		h.t.Errorf("ListObjects: %+v, want empty and empty2 with size 0 and ETag %s", objs, emptyETag)
	}
}

// distinctKeys look alike as paths or URLs but are different keys.
func distinctKeys() []string {
	return []string{
		"a/b", "a//b", "a/../b", "a/./b", "a%2Fb", "a%252Fb", "./a", "a", "a/", "/a", "a\\b",
		" a", "a ", "A", "ключ/日本", "ключ/日本/", "e\u0301", "\u00e9", "😀", "a?b#c", "a+b c",
		"..", ".", "con", "aux.txt", "a\x00b", "\t",
		strings.Repeat("k", origin.MaxKeyLength),
		strings.Repeat("é", origin.MaxKeyLength/2), // 1024 bytes, 512 characters
		strings.Repeat("d/", origin.MaxKeyLength/2),
	}
}

func testDistinctKeys(h *harness) {
	h.bucket("bkt")
	keys := distinctKeys()
	for _, k := range keys {
		h.put("bkt", k, []byte("content of "+k))
	}
	for _, k := range keys {
		h.expectObject("bkt", k, []byte("content of "+k), 0)
	}
	want := sortedCopy(keys)
	expectStrings(h.t, "ListObjects of look-alike keys", h.keys("bkt", ""), want)
}

func testKeyTooLong(h *harness) {
	h.bucket("bkt")
	for _, k := range []string{strings.Repeat("k", origin.MaxKeyLength+1), strings.Repeat("é", origin.MaxKeyLength/2) + "x"} {
		_, err := h.s.PutObject(h.ctx, "bkt", k, bytes.NewReader([]byte("x")), origin.PutOptions{Size: 1})
		expectErr(h.t, fmt.Sprintf("PutObject with a %d-byte key", len(k)), err, origin.ErrKeyTooLong)
		_, err = h.s.CreateMultipartUpload(h.ctx, "bkt", k, origin.PutOptions{Size: -1})
		expectErr(h.t, fmt.Sprintf("CreateMultipartUpload with a %d-byte key", len(k)), err, origin.ErrKeyTooLong)
	}
	h.put("bkt", "src", []byte("x"))
	_, err := h.s.CopyObject(h.ctx, "bkt", "src", "bkt", strings.Repeat("k", origin.MaxKeyLength+1), origin.CopyOptions{})
	expectErr(h.t, "CopyObject to a 1025-byte key", err, origin.ErrKeyTooLong)
	expectStrings(h.t, "keys after the refused writes", h.keys("bkt", ""), []string{"src"})
}

func testInvalidKey(h *harness) {
	h.bucket("bkt")
	for _, k := range []string{"", "\xff", "a\xc3", "ok/\xed\xa0\x80"} {
		_, err := h.s.PutObject(h.ctx, "bkt", k, bytes.NewReader([]byte("x")), origin.PutOptions{Size: 1})
		expectErr(h.t, fmt.Sprintf("PutObject(%q)", k), err, origin.ErrInvalidKey)
		_, err = h.s.CreateMultipartUpload(h.ctx, "bkt", k, origin.PutOptions{Size: -1})
		expectErr(h.t, fmt.Sprintf("CreateMultipartUpload(%q)", k), err, origin.ErrInvalidKey)
	}
	if keys := h.keys("bkt", ""); len(keys) != 0 {
		h.t.Errorf("keys after invalid writes: %q, want none", keys)
	}
}

func testGetMissing(h *harness) {
	h.bucket("bkt")
	h.put("bkt", "present", []byte("x"))
	h.expectMissing("bkt", "absent")
	h.expectMissing("bkt", "presen")
	h.expectMissing("bkt", "present/")
}

// putFails checks that a write failed with want and left bucket/key as it
// was: prev is the body of the previous version (nil: none).
func (h *harness) putFails(what, bucket, key string, body io.Reader, opts origin.PutOptions, want error, prev []byte, prevGen int64) {
	h.t.Helper()
	_, err := h.s.PutObject(h.ctx, bucket, key, body, opts)
	if want != nil {
		expectErr(h.t, what, err, want)
	} else if err == nil {
		h.t.Errorf("%s: succeeded, want an error", what)
	}
	if prev == nil {
		h.expectMissing(bucket, key)
		for _, k := range h.keys(bucket, key) {
			if k == key {
				h.t.Errorf("%s: failed write is listed", what)
			}
		}
		return
	}
	h.expectObject(bucket, key, prev, prevGen)
}

func testIncompleteBody(h *harness) {
	h.bucket("bkt")
	h.putFails("PutObject of 50 bytes declaring 100", "bkt", "new", bytes.NewReader(randomBytes(50, 4)),
		origin.PutOptions{Size: 100}, origin.ErrIncompleteBody, nil, 0)
	prev := h.put("bkt", "old", []byte("previous version"))
	h.putFails("overwrite with 50 bytes declaring 100", "bkt", "old", bytes.NewReader(randomBytes(50, 4)),
		origin.PutOptions{Size: 100}, origin.ErrIncompleteBody, []byte("previous version"), prev.Generation)
	h.putFails("PutObject of 0 bytes declaring 1", "bkt", "new", bytes.NewReader(nil),
		origin.PutOptions{Size: 1}, origin.ErrIncompleteBody, nil, 0)
}

// failingReader delivers some bytes, then an error.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func testBodyReadError(h *harness) {
	h.bucket("bkt")
	prev := h.put("bkt", "k", []byte("intact"))
	errBroken := errors.New("connection reset by client")
	for _, size := range []int64{-1, 1000} {
		what := fmt.Sprintf("PutObject whose body fails after 100 bytes (Size %d)", size)
		h.putFails(what, "bkt", "k", &failingReader{data: randomBytes(100, 5), err: errBroken},
			origin.PutOptions{Size: size}, nil, []byte("intact"), prev.Generation)
		h.putFails(what, "bkt", "new", &failingReader{data: randomBytes(100, 5), err: errBroken},
			origin.PutOptions{Size: size}, nil, nil, 0)
	}
}

func testBadDigest(h *harness) {
	h.bucket("bkt")
	body := []byte("the body")
	wrong := md5raw([]byte("another body"))
	h.putFails("PutObject with a wrong Content-MD5", "bkt", "new", bytes.NewReader(body),
		origin.PutOptions{Size: int64(len(body)), ContentMD5: wrong}, origin.ErrBadDigest, nil, 0)
	prev := h.put("bkt", "old", []byte("previous"))
	h.putFails("overwrite with a wrong Content-MD5", "bkt", "old", bytes.NewReader(body),
		origin.PutOptions{Size: int64(len(body)), ContentMD5: wrong}, origin.ErrBadDigest, []byte("previous"), prev.Generation)
	h.putFails("overwrite with a wrong Content-MD5 and unknown size", "bkt", "old", bytes.NewReader(body),
		origin.PutOptions{Size: -1, ContentMD5: wrong}, origin.ErrBadDigest, []byte("previous"), prev.Generation)

	info := h.putWith("bkt", "old", body, origin.PutOptions{Size: int64(len(body)), ContentMD5: md5raw(body)})
	h.expectObject("bkt", "old", body, info.Generation)
}

func testVerifyFails(h *harness) {
	h.bucket("bkt")
	prev := h.put("bkt", "k", []byte("previous"))
	body := randomBytes(20_000, 6)
	errMismatch := fmt.Errorf("x-amz-checksum-crc32 mismatch: %w", origin.ErrBadDigest)
	calls := 0
	r := &countingReader{r: bytes.NewReader(body)}
	opts := origin.PutOptions{Size: int64(len(body)), Verify: func() (map[string]string, error) {
		calls++
		if r.n != int64(len(body)) {
			h.t.Errorf("Verify ran after %d bytes of %d were read, want after the whole body", r.n, len(body))
		}
		return nil, errMismatch
	}}
	h.putFails("PutObject whose Verify fails", "bkt", "k", r, opts, origin.ErrBadDigest, []byte("previous"), prev.Generation)
	if calls != 1 {
		h.t.Errorf("Verify called %d times, want once", calls)
	}
	h.putFails("new object whose Verify fails", "bkt", "new", bytes.NewReader(body), opts, origin.ErrBadDigest, nil, 0)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func testVerifyChecksums(h *harness) {
	h.bucket("bkt")
	body := []byte("checksummed body")
	sums := map[string]string{"CRC32": "GGnYyA==", "SHA256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="}
	opts := origin.PutOptions{Size: int64(len(body)), Verify: func() (map[string]string, error) { return maps.Clone(sums), nil }}
	info := h.putWith("bkt", "k", body, opts)
	if !maps.Equal(info.Checksums, sums) {
		h.t.Errorf("PutObject Checksums %v, want %v", info.Checksums, sums)
	}
	if got := h.head("bkt", "k").Checksums; !maps.Equal(got, sums) {
		h.t.Errorf("HeadObject Checksums %v, want %v", got, sums)
	}
	if got, _ := h.get("bkt", "k"); !maps.Equal(got.Checksums, sums) {
		h.t.Errorf("GetObject Checksums %v, want %v", got.Checksums, sums)
	}
	// A later write without checksums does not inherit them.
	h.put("bkt", "k", body)
	if got := h.head("bkt", "k").Checksums; len(got) != 0 {
		h.t.Errorf("HeadObject Checksums after an overwrite without any: %v, want none", got)
	}
}

// testOpenBodySurvivesOverwrite: a GET that has returned delivers the
// version it opened, whole, even if the object is overwritten or deleted
// before the body is read.
func testOpenBodySurvivesOverwrite(h *harness) {
	h.bucket("bkt")
	v1 := randomBytes(200_000, 12)
	info := h.put("bkt", "k", v1)
	obj, err := h.s.GetObject(h.ctx, "bkt", "k", origin.GetOptions{})
	mustNoErr(h.t, "GetObject", err)
	defer obj.Body.Close()
	r := span(1000, -1)
	ranged, err := h.s.GetObject(h.ctx, "bkt", "k", origin.GetOptions{Range: &r})
	mustNoErr(h.t, "ranged GetObject", err)
	defer ranged.Body.Close()

	h.put("bkt", "k", []byte("v2"))
	h.del("bkt", "k")
	h.put("bkt", "k", randomBytes(200_000, 13))

	data, err := io.ReadAll(obj.Body)
	mustNoErr(h.t, "reading a body opened before the overwrite", err)
	expectBytes(h.t, "body opened before the overwrite and delete", data, v1)
	if obj.Info.Generation != info.Generation {
		h.t.Errorf("opened object: generation %d, want %d", obj.Info.Generation, info.Generation)
	}
	data, err = io.ReadAll(ranged.Body)
	mustNoErr(h.t, "reading a ranged body opened before the overwrite", err)
	expectBytes(h.t, "ranged body opened before the overwrite and delete", data, v1[1000:])
}
