package s3

import (
	"strconv"
	"strings"

	"github.com/edgecdn/edge/origin"
)

// parseRange reads a Range header naming one byte range (RFC 9110 §14.1.2).
// S3 serves one range per request; a header it cannot use — another unit,
// bad syntax, several ranges — is ignored and the whole object is sent, as
// §14.2 allows. Whether the range fits the object is the store's call.
func parseRange(h string) (origin.RangeSpec, bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return origin.RangeSpec{}, false
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return origin.RangeSpec{}, false
	}
	if first == "" {
		n, ok := parseDigits(last)
		if !ok {
			return origin.RangeSpec{}, false
		}
		return origin.RangeSpec{Suffix: true, SuffixLength: n}, true
	}
	f, ok := parseDigits(first)
	if !ok {
		return origin.RangeSpec{}, false
	}
	if last == "" {
		return origin.RangeSpec{First: f, Last: -1}, true
	}
	l, ok := parseDigits(last)
	if !ok || l < f {
		return origin.RangeSpec{}, false
	}
	return origin.RangeSpec{First: f, Last: l}, true
}

// parseDigits accepts 1*DIGIT only (no sign, no spaces) that fits int64.
func parseDigits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
