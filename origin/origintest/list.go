package origintest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/edgecdn/edge/origin"
)

var listTests = []test{
	{"Empty", testListEmpty},
	{"BinaryOrder", testListBinaryOrder},
	{"Prefix", testListPrefix},
	{"Delimiter", testListDelimiter},
	{"PrefixAndDelimiter", testListPrefixDelimiter},
	{"MultiCharDelimiter", testListMultiCharDelimiter},
	{"DelimiterEndsPrefix", testListDelimiterEndsPrefix},
	{"KeyEqualsPrefix", testListKeyEqualsPrefix},
	{"StartAfter", testListStartAfter},
	{"MaxKeysCountsPrefixes", testListMaxKeysCountsPrefixes},
	{"PagesEndOnPrefixes", testListPagesEndOnPrefixes},
	{"TenThousandKeys", testListTenThousand},
	{"BadContinuationToken", testListBadToken},
	{"PagingAcrossChanges", testListPagingAcrossChanges},
	{"ObjectFields", testListObjectFields},
}

// listPage is one ListObjects call that must succeed.
func (h *harness) listPage(bucket string, opts origin.ListOptions) origin.ListResult {
	h.t.Helper()
	res, err := h.s.ListObjects(h.ctx, bucket, opts)
	if err != nil {
		h.t.Fatalf("ListObjects(%q, %+v): %v", bucket, opts, err)
	}
	return res
}

// entry is a listing item: an object or a common prefix.
type entry struct {
	name   string
	prefix bool
}

func (e entry) String() string {
	if e.prefix {
		return e.name + " (prefix)"
	}
	return e.name
}

// pageEntries merges a page's objects and prefixes in key order, checking
// that each is sorted and the merge is strictly increasing.
func (h *harness) pageEntries(what string, res origin.ListResult) []entry {
	h.t.Helper()
	var out []entry
	for _, o := range res.Objects {
		out = append(out, entry{name: o.Key})
	}
	for _, p := range res.CommonPrefixes {
		out = append(out, entry{name: p, prefix: true})
	}
	slices.SortStableFunc(out, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(out); i++ {
		if out[i-1].name >= out[i].name {
			h.t.Errorf("%s: %v and %v are out of order or repeated", what, out[i-1], out[i])
		}
	}
	if !slices.IsSortedFunc(res.Objects, func(a, b origin.ObjectInfo) int { return strings.Compare(a.Key, b.Key) }) {
		h.t.Errorf("%s: objects not in key order: %q", what, keysOf(res.Objects))
	}
	if !slices.IsSorted(res.CommonPrefixes) {
		h.t.Errorf("%s: common prefixes not in order: %q", what, res.CommonPrefixes)
	}
	return out
}

// listAll pages through a listing with opts.MaxKeys per page, checking
// each page: at most MaxKeys entries (1000 for 0), a non-empty page and a
// token whenever truncated, NextMarker on truncated pages, and every entry
// after those of earlier pages.
func (h *harness) listAll(bucket string, opts origin.ListOptions) (objs []origin.ObjectInfo, prefixes []string) {
	h.t.Helper()
	limit := opts.MaxKeys
	if limit <= 0 || limit > origin.MaxListKeys {
		limit = origin.MaxListKeys
	}
	last := ""
	for page := 1; ; page++ {
		if page > 100_000 {
			h.t.Fatalf("ListObjects(%q, %+v): more than 100000 pages", bucket, opts)
		}
		res := h.listPage(bucket, opts)
		what := fmt.Sprintf("ListObjects(%q, %+v) page %d", bucket, opts, page)
		ents := h.pageEntries(what, res)
		if len(ents) > limit {
			h.t.Fatalf("%s: %d entries, want at most %d", what, len(ents), limit)
		}
		if len(ents) > 0 && ents[0].name <= last {
			h.t.Fatalf("%s: first entry %v does not follow %q, the last of the previous page", what, ents[0], last)
		}
		objs = append(objs, res.Objects...)
		prefixes = append(prefixes, res.CommonPrefixes...)
		if len(ents) > 0 {
			last = ents[len(ents)-1].name
		}
		if !res.IsTruncated {
			return objs, prefixes
		}
		if len(ents) == 0 {
			h.t.Fatalf("%s: truncated page without entries", what)
		}
		if res.NextContinuationToken == "" {
			h.t.Fatalf("%s: truncated page without a NextContinuationToken", what)
		}
		if res.NextMarker != last {
			h.t.Errorf("%s: NextMarker %q, want %q (the last key or prefix of the page)", what, res.NextMarker, last)
		}
		opts.ContinuationToken = res.NextContinuationToken
	}
}

// expectListing lists everything under opts and compares objects and prefixes.
func (h *harness) expectListing(bucket string, opts origin.ListOptions, wantObjs, wantPrefixes []string) {
	h.t.Helper()
	objs, prefixes := h.listAll(bucket, opts)
	what := fmt.Sprintf("ListObjects(%+v)", opts)
	expectStrings(h.t, what+" objects", keysOf(objs), wantObjs)
	expectStrings(h.t, what+" common prefixes", prefixes, wantPrefixes)
}

// putKeys writes each key with its own name as the body.
func (h *harness) putKeys(bucket string, keys ...string) {
	h.t.Helper()
	for _, k := range keys {
		h.put(bucket, k, []byte(k))
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func testListEmpty(h *harness) {
	h.bucket("bkt")
	res := h.listPage("bkt", origin.ListOptions{})
	if len(res.Objects) != 0 || len(res.CommonPrefixes) != 0 || res.IsTruncated || res.NextContinuationToken != "" {
		h.t.Errorf("ListObjects of an empty bucket: %+v, want an empty, untruncated page without a token", res)
	}
	h.putKeys("bkt", "a/1")
	h.expectListing("bkt", origin.ListOptions{Prefix: "b"}, nil, nil)
	h.expectListing("bkt", origin.ListOptions{Prefix: "a/1/"}, nil, nil)
	h.expectListing("bkt", origin.ListOptions{Prefix: "b", Delimiter: "/"}, nil, nil)
}

func testListBinaryOrder(h *harness) {
	h.bucket("bkt")
	// UTF-8 byte order, not UTF-16 order and not locale order: U+FF61 sorts
	// before U+1F600 in UTF-8 and after it in UTF-16.
	keys := []string{"日", "é", "b", "a", "B", "a/b", "a-b", "aa", "a0", "Z", "\uff61", "😀", "e", "a\x7f", "a~"}
	h.putKeys("bkt", keys...)
	want := []string{"B", "Z", "a", "a-b", "a/b", "a0", "aa", "a~", "a\x7f", "b", "e", "é", "日", "\uff61", "😀"}
	if !slices.Equal(sortedCopy(keys), want) {
		h.t.Fatalf("suite bug: expected order %q is not the byte order %q", want, sortedCopy(keys))
	}
	h.expectListing("bkt", origin.ListOptions{}, want, nil)
	h.expectListing("bkt", origin.ListOptions{MaxKeys: 2}, want, nil)
	h.expectListing("bkt", origin.ListOptions{MaxKeys: 1}, want, nil)
}

func testListPrefix(h *harness) {
	h.bucket("bkt")
	h.putKeys("bkt", "a", "ab", "ab/c", "abc", "abd/e", "b", "ac")
	h.expectListing("bkt", origin.ListOptions{Prefix: "ab"}, []string{"ab", "ab/c", "abc", "abd/e"}, nil)
	h.expectListing("bkt", origin.ListOptions{Prefix: "ab/"}, []string{"ab/c"}, nil)
	h.expectListing("bkt", origin.ListOptions{Prefix: "a"}, []string{"a", "ab", "ab/c", "abc", "abd/e", "ac"}, nil)
	h.expectListing("bkt", origin.ListOptions{Prefix: "abc"}, []string{"abc"}, nil)
	h.expectListing("bkt", origin.ListOptions{Prefix: "ab", MaxKeys: 1}, []string{"ab", "ab/c", "abc", "abd/e"}, nil)
	h.expectListing("bkt", origin.ListOptions{Prefix: "zz"}, nil, nil)
}

func testListDelimiter(h *harness) {
	h.bucket("bkt")
	h.putKeys("bkt", "a/1", "a/2", "b", "c/d/e", "c/f")
	h.expectListing("bkt", origin.ListOptions{Delimiter: "/"}, []string{"b"}, []string{"a/", "c/"})
	res := h.listPage("bkt", origin.ListOptions{Delimiter: "/"})
	expectStrings(h.t, "single page objects", keysOf(res.Objects), []string{"b"})
	expectStrings(h.t, "single page prefixes", res.CommonPrefixes, []string{"a/", "c/"})
	if res.IsTruncated {
		h.t.Errorf("a listing of three entries is truncated")
	}
	// A delimiter that no key contains changes nothing.
	h.expectListing("bkt", origin.ListOptions{Delimiter: "|"}, []string{"a/1", "a/2", "b", "c/d/e", "c/f"}, nil)
	// A delimiter that is a letter.
	h.expectListing("bkt", origin.ListOptions{Delimiter: "d"}, []string{"a/1", "a/2", "b", "c/f"}, []string{"c/d"})
}

func testListPrefixDelimiter(h *harness) {
	h.bucket("bkt")
	h.putKeys("bkt", "a/1", "a/2", "b", "c/d/e", "c/f")
	h.expectListing("bkt", origin.ListOptions{Prefix: "c/", Delimiter: "/"}, []string{"c/f"}, []string{"c/d/"})
	h.expectListing("bkt", origin.ListOptions{Prefix: "c", Delimiter: "/"}, nil, []string{"c/"})
	h.expectListing("bkt", origin.ListOptions{Prefix: "c/d/", Delimiter: "/"}, []string{"c/d/e"}, nil)
	h.expectListing("bkt", origin.ListOptions{Prefix: "a/", Delimiter: "/"}, []string{"a/1", "a/2"}, nil)
}

func testListMultiCharDelimiter(h *harness) {
	h.bucket("bkt")
	h.putKeys("bkt", "x--1", "x--2", "x-y", "y", "z--a--b", "z--c", "w-")
	h.expectListing("bkt", origin.ListOptions{Delimiter: "--"}, []string{"w-", "x-y", "y"}, []string{"x--", "z--"})
	h.expectListing("bkt", origin.ListOptions{Prefix: "z--", Delimiter: "--"}, []string{"z--c"}, []string{"z--a--"})
	h.expectListing("bkt", origin.ListOptions{Delimiter: "--", MaxKeys: 1}, []string{"w-", "x-y", "y"}, []string{"x--", "z--"})
	// "x-." is the byte successor of "x--": a page ending on the prefix
	// "x--" must not skip it.
	h.putKeys("bkt", "x-.")
	h.expectListing("bkt", origin.ListOptions{Delimiter: "--", MaxKeys: 1}, []string{"w-", "x-.", "x-y", "y"}, []string{"x--", "z--"})
	// A multi-byte character as the delimiter.
	h.putKeys("bkt", "p→q→r", "p→s")
	h.expectListing("bkt", origin.ListOptions{Prefix: "p", Delimiter: "→"}, nil, []string{"p→"})
	h.expectListing("bkt", origin.ListOptions{Prefix: "p→", Delimiter: "→"}, []string{"p→s"}, []string{"p→q→"})
}

func testListDelimiterEndsPrefix(h *harness) {
	h.bucket("bkt")
	h.putKeys("bkt", "a/", "a/1", "a/b/c", "a/b/d", "a//x", "ab")
	// The delimiter is looked for after the prefix only: "a/" itself is
	// an object, "a//x" rolls up into "a//".
	h.expectListing("bkt", origin.ListOptions{Prefix: "a/", Delimiter: "/"}, []string{"a/", "a/1"}, []string{"a//", "a/b/"})
	h.expectListing("bkt", origin.ListOptions{Prefix: "a/", Delimiter: "/", MaxKeys: 1}, []string{"a/", "a/1"}, []string{"a//", "a/b/"})
	h.expectListing("bkt", origin.ListOptions{Delimiter: "/"}, []string{"ab"}, []string{"a/"})
}

func testListKeyEqualsPrefix(h *harness) {
	h.bucket("bkt")
	h.putKeys("bkt", "a", "a/", "a/1", "ab", "b")
	h.expectListing("bkt", origin.ListOptions{Prefix: "a"}, []string{"a", "a/", "a/1", "ab"}, nil)
	h.expectListing("bkt", origin.ListOptions{Prefix: "a", Delimiter: "/"}, []string{"a", "ab"}, []string{"a/"})
	h.expectListing("bkt", origin.ListOptions{Prefix: "b", Delimiter: "/"}, []string{"b"}, nil)
}

func testListStartAfter(h *harness) {
	h.bucket("bkt")
	h.putKeys("bkt", "a", "b", "c", "d", "e", "p/1", "p/2")
	h.expectListing("bkt", origin.ListOptions{StartAfter: "b"}, []string{"c", "d", "e", "p/1", "p/2"}, nil)
	h.expectListing("bkt", origin.ListOptions{StartAfter: "bb"}, []string{"c", "d", "e", "p/1", "p/2"}, nil)
	h.expectListing("bkt", origin.ListOptions{StartAfter: "p/2"}, nil, nil)
	h.expectListing("bkt", origin.ListOptions{StartAfter: "zzz"}, nil, nil)
	h.expectListing("bkt", origin.ListOptions{StartAfter: ""}, []string{"a", "b", "c", "d", "e", "p/1", "p/2"}, nil)
	h.expectListing("bkt", origin.ListOptions{StartAfter: "0"}, []string{"a", "b", "c", "d", "e", "p/1", "p/2"}, nil)
	h.expectListing("bkt", origin.ListOptions{StartAfter: "b", MaxKeys: 2}, []string{"c", "d", "e", "p/1", "p/2"}, nil)
	h.expectListing("bkt", origin.ListOptions{Prefix: "p/", StartAfter: "p/1"}, []string{"p/2"}, nil)
	h.expectListing("bkt", origin.ListOptions{StartAfter: "c", Delimiter: "/"}, []string{"d", "e"}, []string{"p/"})
}

func testListMaxKeysCountsPrefixes(h *harness) {
	h.bucket("bkt")
	h.putKeys("bkt", "a/1", "a/2", "b", "c/1", "d")
	res := h.listPage("bkt", origin.ListOptions{Delimiter: "/", MaxKeys: 2})
	expectStrings(h.t, "page 1 objects", keysOf(res.Objects), []string{"b"})
	expectStrings(h.t, "page 1 prefixes", res.CommonPrefixes, []string{"a/"})
	if !res.IsTruncated || res.NextContinuationToken == "" || res.NextMarker != "b" {
		h.t.Fatalf("page 1: IsTruncated %v, token %q, NextMarker %q; want true, a token, and b",
			res.IsTruncated, res.NextContinuationToken, res.NextMarker)
	}
	res = h.listPage("bkt", origin.ListOptions{Delimiter: "/", MaxKeys: 2, ContinuationToken: res.NextContinuationToken})
	expectStrings(h.t, "page 2 objects", keysOf(res.Objects), []string{"d"})
	expectStrings(h.t, "page 2 prefixes", res.CommonPrefixes, []string{"c/"})
	if res.IsTruncated {
		h.t.Errorf("page 2 holds the last two entries but is truncated")
	}

	// Without a delimiter: exactly MaxKeys objects, and the page that ends
	// the listing is not truncated.
	res = h.listPage("bkt", origin.ListOptions{MaxKeys: 5})
	if len(res.Objects) != 5 || res.IsTruncated {
		h.t.Errorf("MaxKeys 5 over 5 keys: %d objects, IsTruncated %v; want 5 and false", len(res.Objects), res.IsTruncated)
	}
	res = h.listPage("bkt", origin.ListOptions{MaxKeys: 4})
	if len(res.Objects) != 4 || !res.IsTruncated || res.NextMarker != "c/1" {
		h.t.Errorf("MaxKeys 4 over 5 keys: %d objects, IsTruncated %v, NextMarker %q; want 4, true, c/1", len(res.Objects), res.IsTruncated, res.NextMarker)
	}
	_, err := h.s.ListObjects(h.ctx, "bkt", origin.ListOptions{MaxKeys: -1})
	expectErr(h.t, "ListObjects with MaxKeys -1", err, origin.ErrInvalidArgument)
}

func testListPagesEndOnPrefixes(h *harness) {
	h.bucket("bkt")
	var keys, wantObjs, wantPrefixes []string
	for i := range 12 {
		p := fmt.Sprintf("p%02d/", i)
		wantPrefixes = append(wantPrefixes, p)
		for j := range 3 {
			keys = append(keys, fmt.Sprintf("%s%d", p, j))
		}
		if i%4 == 0 {
			k := fmt.Sprintf("p%02dz", i) // after "pNN/": the prefix comes first
			keys = append(keys, k)
			wantObjs = append(wantObjs, k)
		}
	}
	h.putKeys("bkt", keys...)
	for _, mk := range []int{1, 2, 3, 5, 1000} {
		h.expectListing("bkt", origin.ListOptions{Delimiter: "/", MaxKeys: mk}, wantObjs, wantPrefixes)
	}
	// The page boundary falls on a prefix: the next page must not return
	// that prefix, nor any key under it.
	res := h.listPage("bkt", origin.ListOptions{Delimiter: "/", MaxKeys: 1})
	if len(res.CommonPrefixes) != 1 || res.CommonPrefixes[0] != "p00/" || res.NextMarker != "p00/" {
		h.t.Errorf("first page of MaxKeys 1: prefixes %q, NextMarker %q; want [p00/] and p00/", res.CommonPrefixes, res.NextMarker)
	}
	// Keys right after a rolled-up prefix in byte order ('0' follows '/')
	// are not skipped with it.
	more := []string{"q/1", "q/2", "q0", "q00", "q/", "q.", "q"}
	h.putKeys("bkt", more...)
	for _, mk := range []int{1, 2, 1000} {
		h.expectListing("bkt", origin.ListOptions{Prefix: "q", Delimiter: "/", MaxKeys: mk}, []string{"q", "q.", "q0", "q00"}, []string{"q/"})
	}
	keys = append(keys, more...)
	// Without the delimiter the same token-paging sees every key.
	h.expectListing("bkt", origin.ListOptions{MaxKeys: 7}, sortedCopy(keys), nil)
	h.expectListing("bkt", origin.ListOptions{Prefix: "p0", Delimiter: "/", MaxKeys: 2}, []string{"p00z", "p04z", "p08z"}, wantPrefixes[:10])
}

func testListTenThousand(h *harness) {
	h.bucket("bkt")
	// Ten thousand keys are ten pages of 1000; -short makes it two.
	n := 10_000
	if testing.Short() {
		n = 2_000
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k/%05d", (i*7919)%n) // written out of order
	}
	parallel(n, 16, func(i int) {
		k := keys[i]
		info, err := h.s.PutObject(h.ctx, "bkt", k, bytes.NewReader([]byte(k)), origin.PutOptions{Size: int64(len(k))})
		if err != nil {
			h.t.Errorf("PutObject(%q): %v", k, err)
			return
		}
		h.wroteConcurrently(fmt.Sprintf("PutObject(%q)", k), info)
	})
	if h.t.Failed() {
		h.t.FailNow()
	}
	want := sortedCopy(keys)
	for _, mk := range []int{1000, 7, 0, 5000} {
		objs, _ := h.listAll("bkt", origin.ListOptions{MaxKeys: mk})
		expectStrings(h.t, fmt.Sprintf("%d keys listed with MaxKeys %d", n, mk), keysOf(objs), want)
	}
	// Pages of 1000: all full, the last not truncated.
	pages := n / 1000
	opts := origin.ListOptions{MaxKeys: 0}
	for page := 1; page <= pages; page++ {
		res := h.listPage("bkt", opts)
		if len(res.Objects) != 1000 {
			h.t.Fatalf("page %d of %d keys with MaxKeys 0: %d objects, want 1000", page, n, len(res.Objects))
		}
		if res.IsTruncated != (page < pages) {
			h.t.Errorf("page %d of %d: IsTruncated %v, want %v", page, pages, res.IsTruncated, page < pages)
		}
		if res.Objects[0].Key != want[(page-1)*1000] {
			h.t.Errorf("page %d starts at %q, want %q", page, res.Objects[0].Key, want[(page-1)*1000])
		}
		opts.ContinuationToken = res.NextContinuationToken
	}
	// Above 1000 is 1000.
	res := h.listPage("bkt", origin.ListOptions{MaxKeys: 5000})
	if len(res.Objects) != origin.MaxListKeys || !res.IsTruncated {
		h.t.Errorf("MaxKeys 5000 over %d keys: %d objects, IsTruncated %v; want 1000 and true", n, len(res.Objects), res.IsTruncated)
	}
	h.expectListing("bkt", origin.ListOptions{Delimiter: "/", MaxKeys: 7}, nil, []string{"k/"})
	h.expectListing("bkt", origin.ListOptions{Prefix: fmt.Sprintf("k/%04d", n/10-1), MaxKeys: 7}, want[n-10:], nil)
}

func testListBadToken(h *harness) {
	h.bucket("bkt")
	h.putKeys("bkt", "a", "b", "c")
	for _, tok := range []string{"garbage!!", "%%%", "\x00\xff"} {
		_, err := h.s.ListObjects(h.ctx, "bkt", origin.ListOptions{ContinuationToken: tok})
		expectErr(h.t, fmt.Sprintf("ListObjects with ContinuationToken %q", tok), err, origin.ErrInvalidArgument)
	}
	// A real token still works after the garbage.
	res := h.listPage("bkt", origin.ListOptions{MaxKeys: 1})
	res = h.listPage("bkt", origin.ListOptions{MaxKeys: 1, ContinuationToken: res.NextContinuationToken})
	expectStrings(h.t, "second page of MaxKeys 1", keysOf(res.Objects), []string{"b"})
}

func testListObjectFields(h *harness) {
	h.bucket("bkt")
	infos := map[string]origin.ObjectInfo{}
	for _, k := range []string{"x", "y/z", "empty"} {
		body := []byte("body of " + k)
		if k == "empty" {
			body = nil
		}
		infos[k] = h.put("bkt", k, body)
	}
	infos["x"] = h.put("bkt", "x", []byte("newer body of x"))
	objs, _ := h.listAll("bkt", origin.ListOptions{})
	expectStrings(h.t, "keys", keysOf(objs), []string{"empty", "x", "y/z"})
	for _, o := range objs {
		want := infos[o.Key]
		if o.Size != want.Size || o.ETag != want.ETag || o.Generation != want.Generation || !o.LastModified.Equal(want.LastModified) {
			h.t.Errorf("listed %q: Size %d ETag %q Generation %d LastModified %v; want %d %q %d %v (as PutObject returned)",
				o.Key, o.Size, o.ETag, o.Generation, o.LastModified, want.Size, want.ETag, want.Generation, want.LastModified)
		}
	}
}

// testListPagingAcrossChanges changes the bucket between pages: a token
// resumes after the last entry it returned, whether or not that entry still
// exists, and later pages see the keys written since (LIST is linearizable).
func testListPagingAcrossChanges(h *harness) {
	h.bucket("bkt")
	h.putKeys("bkt", "a", "b", "c", "d", "e", "f", "p/1", "p/2", "q")
	res := h.listPage("bkt", origin.ListOptions{MaxKeys: 3})
	expectStrings(h.t, "page 1", keysOf(res.Objects), []string{"a", "b", "c"})
	h.del("bkt", "c")
	h.del("bkt", "d")
	h.putKeys("bkt", "bb", "cc")
	res = h.listPage("bkt", origin.ListOptions{MaxKeys: 3, ContinuationToken: res.NextContinuationToken})
	expectStrings(h.t, "page 2, after deleting the page's last key and the next one", keysOf(res.Objects), []string{"cc", "e", "f"})

	// A page that ends on a common prefix: keys added under it later do not
	// bring it back.
	res = h.listPage("bkt", origin.ListOptions{StartAfter: "f", Delimiter: "/", MaxKeys: 1})
	expectStrings(h.t, "prefix page", res.CommonPrefixes, []string{"p/"})
	h.putKeys("bkt", "p/3", "p0")
	res = h.listPage("bkt", origin.ListOptions{StartAfter: "f", Delimiter: "/", MaxKeys: 5, ContinuationToken: res.NextContinuationToken})
	expectStrings(h.t, "page after the prefix", keysOf(res.Objects), []string{"p0", "q"})
	expectStrings(h.t, "prefixes after the prefix", res.CommonPrefixes, nil)
}
