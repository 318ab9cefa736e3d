package origin

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// ValidBucketName reports whether name follows the S3 naming rules for
// general purpose buckets: 3–63 characters of a-z, 0-9, '.' and '-', starting
// and ending with a letter or digit, no "..", not an IP address, and none of
// the reserved prefixes and suffixes.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return false
			}
		default:
			return false
		}
	}
	if strings.Contains(name, "..") {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}

func checkBucketName(name string) error {
	if !ValidBucketName(name) {
		return ErrInvalidBucketName
	}
	return nil
}

// checkKey accepts any non-empty valid UTF-8 key of at most MaxKeyLength
// bytes. Keys are data, never file paths: "a/../b" and "a//b" are keys like
// any other.
func checkKey(key string) error {
	if key == "" || !utf8.ValidString(key) {
		return ErrInvalidKey
	}
	if len(key) > MaxKeyLength {
		return ErrKeyTooLong
	}
	return nil
}
