package origintest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/edgecdn/edge/origin"
)

var rangeTests = []test{
	{"Get", testGetRanges},
	{"Empty", testRangeOnEmpty},
	{"WithConditions", testRangeWithConditions},
}

type rangeCase struct {
	name          string
	r             origin.RangeSpec
	size          int64
	start, length int64
	invalid       bool
}

func span(first, last int64) origin.RangeSpec { return origin.RangeSpec{First: first, Last: last} }
func suffix(n int64) origin.RangeSpec         { return origin.RangeSpec{Suffix: true, SuffixLength: n} }

// rangeCases are for an object of 100 bytes unless size says otherwise.
var rangeCases = []rangeCase{
	{name: "0-9", r: span(0, 9), start: 0, length: 10},
	{name: "10-19", r: span(10, 19), start: 10, length: 10},
	{name: "0-0", r: span(0, 0), start: 0, length: 1},
	{name: "99-99", r: span(99, 99), start: 99, length: 1},
	{name: "0-99", r: span(0, 99), start: 0, length: 100},
	{name: "10-", r: span(10, -1), start: 10, length: 90},
	{name: "0-", r: span(0, -1), start: 0, length: 100},
	{name: "99-", r: span(99, -1), start: 99, length: 1},
	{name: "90-500 clamps", r: span(90, 500), start: 90, length: 10},
	{name: "0-100 clamps", r: span(0, 100), start: 0, length: 100},
	{name: "suffix 10", r: suffix(10), start: 90, length: 10},
	{name: "suffix 1", r: suffix(1), start: 99, length: 1},
	{name: "suffix 100", r: suffix(100), start: 0, length: 100},
	{name: "suffix 200 clamps", r: suffix(200), start: 0, length: 100},
	{name: "100- beyond", r: span(100, -1), invalid: true},
	{name: "100-200 beyond", r: span(100, 200), invalid: true},
	{name: "150-160 beyond", r: span(150, 160), invalid: true},
	{name: "suffix 0", r: suffix(0), invalid: true},
}

// resolveOnlyCases are not expressible as an HTTP Range the store would be
// handed, but Resolve must still answer them.
var resolveOnlyCases = []rangeCase{
	{name: "last before first", r: span(5, 3), invalid: true},
	{name: "negative first", r: span(-1, 3), invalid: true},
	{name: "negative suffix", r: suffix(-5), invalid: true},
	{name: "empty 0-", r: span(0, -1), size: -1, invalid: true},
	{name: "empty 0-0", r: span(0, 0), size: -1, invalid: true},
	{name: "empty suffix 1", r: suffix(1), size: -1, invalid: true},
	{name: "1 byte 0-", r: span(0, -1), size: 1, start: 0, length: 1},
	{name: "1 byte suffix 5", r: suffix(5), size: 1, start: 0, length: 1},
	{name: "huge", r: span(1<<40, 1<<41), size: 1 << 41, start: 1 << 40, length: 1 << 40},
}

func (c rangeCase) objectSize() int64 {
	switch {
	case c.size < 0:
		return 0
	case c.size == 0:
		return 100
	}
	return c.size
}

func testRangeSpecResolve(t *testing.T) {
	for _, c := range append(append([]rangeCase{}, rangeCases...), resolveOnlyCases...) {
		size := c.objectSize()
		start, length, err := c.r.Resolve(size)
		what := fmt.Sprintf("%+v.Resolve(%d) [%s]", c.r, size, c.name)
		if c.invalid {
			if !errors.Is(err, origin.ErrInvalidRange) {
				t.Errorf("%s = %d, %d, %v; want ErrInvalidRange", what, start, length, err)
			}
			continue
		}
		if err != nil || start != c.start || length != c.length {
			t.Errorf("%s = %d, %d, %v; want %d, %d, nil", what, start, length, err, c.start, c.length)
		}
	}
}

func testGetRanges(h *harness) {
	h.bucket("bkt")
	body := randomBytes(100, 7)
	info := h.put("bkt", "k", body)
	for _, c := range rangeCases {
		h.run(c.name, func(h *harness) {
			r := c.r
			obj, data, err := h.tryGet("bkt", "k", origin.GetOptions{Range: &r})
			what := fmt.Sprintf("GetObject with range %+v", c.r)
			if c.invalid {
				expectErr(h.t, what, err, origin.ErrInvalidRange)
				return
			}
			mustNoErr(h.t, what, err)
			if obj.Start != c.start || obj.Length != c.length {
				h.t.Errorf("%s: Start %d Length %d, want %d and %d", what, obj.Start, obj.Length, c.start, c.length)
			}
			expectBytes(h.t, what, data, body[c.start:c.start+c.length])
			// The info describes the whole object, not the range.
			checkInfo(h.t, what, obj.Info, "bkt", "k", body)
			if obj.Info.Generation != info.Generation {
				h.t.Errorf("%s: generation %d, want %d", what, obj.Info.Generation, info.Generation)
			}
		})
	}
}

func testRangeOnEmpty(h *harness) {
	h.bucket("bkt")
	h.put("bkt", "empty", nil)
	for _, r := range []origin.RangeSpec{span(0, -1), span(0, 0), span(0, 10), suffix(1), suffix(10)} {
		_, _, err := h.tryGet("bkt", "empty", origin.GetOptions{Range: &r})
		expectErr(h.t, fmt.Sprintf("GetObject of an empty object with range %+v", r), err, origin.ErrInvalidRange)
	}
	// Without a range it reads fine.
	h.expectObject("bkt", "empty", []byte{}, 0)
}

func testRangeWithConditions(h *harness) {
	h.bucket("bkt")
	body := randomBytes(1000, 8)
	info := h.put("bkt", "k", body)
	r := span(100, 199)
	obj, data, err := h.tryGet("bkt", "k", origin.GetOptions{Range: &r, Conditions: origin.Conditions{IfMatch: info.ETag}})
	mustNoErr(h.t, "ranged GetObject with a matching If-Match", err)
	if obj.Start != 100 || obj.Length != 100 {
		h.t.Errorf("ranged GetObject with If-Match: Start %d Length %d, want 100 and 100", obj.Start, obj.Length)
	}
	expectBytes(h.t, "ranged GetObject with If-Match", data, body[100:200])
	_, _, err = h.tryGet("bkt", "k", origin.GetOptions{Range: &r, Conditions: origin.Conditions{IfMatch: "0123"}})
	expectErr(h.t, "ranged GetObject with a failing If-Match", err, origin.ErrPreconditionFailed)
}
