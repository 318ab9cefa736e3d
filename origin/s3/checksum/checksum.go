// Package checksum computes the flexible checksums of S3 (CRC32, CRC32C,
// CRC64NVME, SHA1, SHA256) in the form S3 exchanges them: the big-endian
// digest, base64-encoded, in an x-amz-checksum-<algorithm> header or
// trailer, and for multipart uploads the composite "checksum of checksums"
// suffixed with the part count.
package checksum

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strings"

	"github.com/minio/crc64nvme"
)

// Algorithm names a checksum algorithm as S3 spells it in
// x-amz-checksum-algorithm and in XML.
type Algorithm string

// The algorithms S3 supports.
const (
	CRC32     Algorithm = "CRC32"  // IEEE polynomial, as hash/crc32.ChecksumIEEE
	CRC32C    Algorithm = "CRC32C" // Castagnoli polynomial
	CRC64NVME Algorithm = "CRC64NVME"
	SHA1      Algorithm = "SHA1"
	SHA256    Algorithm = "SHA256"
)

var (
	// ErrUnknownAlgorithm is returned by Parse for a name that is not one of
	// the algorithms above.
	ErrUnknownAlgorithm = errors.New("checksum: unknown algorithm")

	// ErrInvalidChecksum is returned for a value that is not the base64 of a
	// digest of the algorithm's size.
	ErrInvalidChecksum = errors.New("checksum: invalid checksum value")

	// ErrCompositeUnsupported is returned by Composite for CRC64NVME, which
	// S3 supports only as a full-object checksum of multipart uploads.
	ErrCompositeUnsupported = errors.New("checksum: algorithm has no composite multipart checksum")

	// ErrMismatch is returned by Reader.Check when the data does not have
	// the expected checksum.
	ErrMismatch = errors.New("checksum: checksum does not match the data")
)

// Algorithms returns every supported algorithm, in a fixed order.
func Algorithms() []Algorithm {
	return []Algorithm{CRC32, CRC32C, CRC64NVME, SHA1, SHA256}
}

// Parse returns the algorithm with the given name, ignoring case, so both
// "crc32c" (from a header name) and "CRC32C" (from
// x-amz-checksum-algorithm) work.
func Parse(name string) (Algorithm, error) {
	a := Algorithm(strings.ToUpper(strings.TrimSpace(name)))
	if a.Size() == 0 {
		return "", fmt.Errorf("%w: %q", ErrUnknownAlgorithm, name)
	}
	return a, nil
}

// Header returns the name of the header and trailer that carry the
// checksum, e.g. "x-amz-checksum-crc32".
func (a Algorithm) Header() string {
	return "x-amz-checksum-" + strings.ToLower(string(a))
}

// Size returns the digest size in bytes, or 0 for an unknown algorithm.
func (a Algorithm) Size() int {
	switch a {
	case CRC32, CRC32C:
		return crc32.Size
	case CRC64NVME:
		return crc64nvme.Size
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	}
	return 0
}

// New returns a hash of the algorithm whose Sum is the digest S3 encodes
// (CRCs big-endian). It panics for an unknown algorithm: get algorithms
// from Parse or the constants.
func New(a Algorithm) hash.Hash {
	switch a {
	case CRC32:
		return crc32.NewIEEE()
	case CRC32C:
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case CRC64NVME:
		return crc64nvme.New()
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	}
	panic("checksum: New called with unknown algorithm " + string(a))
}

// Encode returns a digest as S3 sends it: standard base64 with padding.
func Encode(sum []byte) string {
	return base64.StdEncoding.EncodeToString(sum)
}

// Decode checks a checksum value received from a client and returns the
// digest; ErrInvalidChecksum when it is not the base64 of a digest of the
// algorithm's size.
func (a Algorithm) Decode(value string) ([]byte, error) {
	// The decoder skips CR and LF; a header value has none to skip.
	sum, err := base64.StdEncoding.Strict().DecodeString(value)
	if err != nil || strings.ContainsAny(value, "\r\n") || len(sum) != a.Size() || a.Size() == 0 {
		return nil, fmt.Errorf("%w: %q is not a base64 %s checksum", ErrInvalidChecksum, value, a)
	}
	return sum, nil
}

// Sum returns the base64 checksum of data.
func Sum(a Algorithm, data []byte) string {
	h := New(a)
	h.Write(data)
	return Encode(h.Sum(nil))
}

// Composite returns S3's composite checksum of a multipart upload:
// base64(hash(concatenation of the parts' raw digests)) + "-" + number of
// parts. partSums are the parts' base64 checksums in part order.
func Composite(a Algorithm, partSums []string) (string, error) {
	if a == CRC64NVME {
		return "", ErrCompositeUnsupported
	}
	if a.Size() == 0 {
		return "", fmt.Errorf("%w: %q", ErrUnknownAlgorithm, string(a))
	}
	if len(partSums) == 0 {
		return "", fmt.Errorf("%w: a composite checksum needs at least one part", ErrInvalidChecksum)
	}
	h := New(a)
	for _, s := range partSums {
		sum, err := a.Decode(s)
		if err != nil {
			return "", err
		}
		h.Write(sum)
	}
	return fmt.Sprintf("%s-%d", Encode(h.Sum(nil)), len(partSums)), nil
}

// Reader computes checksums of everything read through it. It is not safe
// for concurrent use.
type Reader struct {
	r      io.Reader
	hashes map[Algorithm]hash.Hash
	w      io.Writer // all hashes at once
}

// NewReader returns a Reader of r that computes the given algorithms;
// repeated algorithms are computed once. It panics on an unknown algorithm.
func NewReader(r io.Reader, algs ...Algorithm) *Reader {
	cr := &Reader{r: r, hashes: make(map[Algorithm]hash.Hash, len(algs))}
	var ws []io.Writer
	for _, a := range algs {
		if _, ok := cr.hashes[a]; ok {
			continue
		}
		h := New(a)
		cr.hashes[a] = h
		ws = append(ws, h)
	}
	cr.w = io.MultiWriter(ws...)
	return cr
}

func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.w.Write(p[:n])
	return n, err
}

// Sum returns the base64 checksum of what has been read so far, or "" if
// the Reader does not compute a.
func (r *Reader) Sum(a Algorithm) string {
	h, ok := r.hashes[a]
	if !ok {
		return ""
	}
	return Encode(h.Sum(nil))
}

// Check compares the checksum of what has been read with want, a base64
// value from a header or trailer: ErrInvalidChecksum when want is not a
// valid value, ErrMismatch when it differs, ErrUnknownAlgorithm when the
// Reader was not asked to compute a.
func (r *Reader) Check(a Algorithm, want string) error {
	if _, err := a.Decode(want); err != nil {
		return err
	}
	if _, ok := r.hashes[a]; !ok {
		return fmt.Errorf("%w: the Reader does not compute %s", ErrUnknownAlgorithm, a)
	}
	if got := r.Sum(a); got != want {
		return fmt.Errorf("%w: %s is %s, the client sent %s", ErrMismatch, a, got, want)
	}
	return nil
}
