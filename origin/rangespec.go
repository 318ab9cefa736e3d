package origin

import (
	"strconv"
	"strings"
)

// ParseRange reads a Range header naming one byte range (RFC 9110
// §14.1.2). A store reads one range per request; a header it cannot use —
// another unit, bad syntax, several ranges — is reported false, and the
// whole object is then sent, as §14.2 allows. Whether the range fits the
// object is for Resolve to say.
func ParseRange(h string) (RangeSpec, bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return RangeSpec{}, false
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return RangeSpec{}, false
	}
	if first == "" {
		n, ok := parseDigits(last)
		if !ok {
			return RangeSpec{}, false
		}
		return RangeSpec{Suffix: true, SuffixLength: n}, true
	}
	f, ok := parseDigits(first)
	if !ok {
		return RangeSpec{}, false
	}
	if last == "" {
		return RangeSpec{First: f, Last: -1}, true
	}
	l, ok := parseDigits(last)
	if !ok || l < f {
		return RangeSpec{}, false
	}
	return RangeSpec{First: f, Last: l}, true
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
