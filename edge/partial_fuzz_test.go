package edge

import (
	"strconv"
	"testing"
)

// FuzzContentRange: what parseContentRange accepts is one satisfied range
// of a known length, and writing it back reads the same.
func FuzzContentRange(f *testing.F) {
	for _, s := range []string{
		"bytes 0-0/1", "bytes 4-9/10", " bytes 4-9/10 ", "bytes 9-4/10", "bytes 4-10/10", "bytes */10",
		"bytes 0-1/*", "bytes 0-1/", "bytes -1-2/3", "bytes 1-2/3,4", "items 0-1/2", "bytes 0-999999999999999999/1000000000000000000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		first, last, size, ok := parseContentRange(v)
		if !ok {
			return
		}
		if first < 0 || first > last || last >= size {
			t.Fatalf("%q: accepted %d-%d/%d", v, first, last, size)
		}
		again := "bytes " + strconv.FormatInt(first, 10) + "-" + strconv.FormatInt(last, 10) + "/" + strconv.FormatInt(size, 10)
		f2, l2, s2, ok2 := parseContentRange(again)
		if !ok2 || f2 != first || l2 != last || s2 != size {
			t.Fatalf("%q: read as %q, which reads %d-%d/%d %v", v, again, f2, l2, s2, ok2)
		}
	})
}
