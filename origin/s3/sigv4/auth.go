package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// PayloadMode says how the body of a signed request is protected; it comes
// from x-amz-content-sha256 (or is PayloadUnsigned for a presigned URL).
type PayloadMode int

// The payload modes S3 accepts.
const (
	// PayloadSigned: the header is the hex SHA-256 of the whole body.
	PayloadSigned PayloadMode = iota
	// PayloadUnsigned: "UNSIGNED-PAYLOAD", the body is not covered.
	PayloadUnsigned
	// PayloadStreamingSigned: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
	// aws-chunked with a signature per chunk.
	PayloadStreamingSigned
	// PayloadStreamingSignedTrailer: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
	// signed chunks followed by signed trailers.
	PayloadStreamingSignedTrailer
	// PayloadStreamingUnsignedTrailer: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
	// aws-chunked without signatures, followed by trailers (usually a
	// checksum that the HTTP layer must verify).
	PayloadStreamingUnsignedTrailer
)

var payloadModeNames = [...]string{
	PayloadSigned:                   "",
	PayloadUnsigned:                 "UNSIGNED-PAYLOAD",
	PayloadStreamingSigned:          "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
	PayloadStreamingSignedTrailer:   "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
	PayloadStreamingUnsignedTrailer: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
}

// String returns the x-amz-content-sha256 value of the mode, or
// "SHA256-PAYLOAD" for PayloadSigned, whose header value is the hash itself.
func (m PayloadMode) String() string {
	if m == PayloadSigned {
		return "SHA256-PAYLOAD"
	}
	if m < 0 || int(m) >= len(payloadModeNames) {
		return "PayloadMode(?)"
	}
	return payloadModeNames[m]
}

// Streaming reports whether the body uses aws-chunked framing.
func (m PayloadMode) Streaming() bool {
	return m == PayloadStreamingSigned || m == PayloadStreamingSignedTrailer || m == PayloadStreamingUnsignedTrailer
}

func (m PayloadMode) chunkSigned() bool {
	return m == PayloadStreamingSigned || m == PayloadStreamingSignedTrailer
}

func (m PayloadMode) hasTrailer() bool {
	return m == PayloadStreamingSignedTrailer || m == PayloadStreamingUnsignedTrailer
}

func parsePayloadMode(v string) (PayloadMode, bool) {
	if len(v) == sha256.Size*2 {
		if _, err := hex.DecodeString(v); err == nil {
			return PayloadSigned, true
		}
	}
	for m, name := range payloadModeNames {
		if name != "" && v == name {
			return PayloadMode(m), true
		}
	}
	return 0, false
}

// Auth is the result of a successful Verify. It is used by one request at a
// time: Body and Trailers are not safe for concurrent use.
type Auth struct {
	AccessKeyID string
	Region      string // the region of the credential scope
	Presigned   bool   // signed by query parameters rather than a header
	// SignedHeaders are the lower-case names of the headers the signature
	// covers: a header sent but not among them was not signed by anyone.
	SignedHeaders []string
	Payload       PayloadMode
	// ContentSHA256 is the lower-case hex hash the body must have when
	// Payload is PayloadSigned; empty otherwise.
	ContentSHA256 string
	// Seed is the request signature, the start of the chunk signature chain.
	Seed string

	// Signing state of the chunk reader.
	key     []byte // derived signing key; shared with the cache, never modified
	amzDate string // request time, basic ISO 8601
	scope   string // date/region/service/aws4_request

	decodedLength    int64    // x-amz-decoded-content-length, -1 when absent
	declaredTrailers []string // x-amz-trailer names, lower case
	trailers         map[string]string
}

// DecodedLength returns x-amz-decoded-content-length: the object size of an
// aws-chunked body, without the framing. Verify has checked that it is a
// non-negative integer; ok is false when the header was absent.
func (a *Auth) DecodedLength() (n int64, ok bool) {
	return a.decodedLength, a.decodedLength >= 0
}

// Trailers returns the trailers of an aws-chunked body (lower-case names,
// e.g. "x-amz-checksum-crc32", to trimmed values), once the reader returned
// by Body has reached io.EOF; nil before that, and for other payload modes.
// Signed trailers have been verified; checksum values have not: that is
// the caller's job. The map must not be modified.
func (a *Auth) Trailers() map[string]string { return a.trailers }

// Body wraps the request body and returns a reader of the object bytes
// alone. Call it once per request. The reader verifies as it goes:
//
//   - PayloadSigned: bytes pass through; at the end ErrContentSHA256Mismatch
//     replaces io.EOF if the body's SHA-256 differs from ContentSHA256.
//   - PayloadUnsigned: r itself.
//   - streaming modes: the aws-chunked framing is removed; a signed chunk is
//     buffered (at most MaxChunkSize bytes) and handed out only once its
//     signature checks; io.EOF comes only after the final chunk, the
//     trailers (and their signature) and the decoded length have checked.
//
// Whoever stores the bytes must treat any error as "discard everything",
// since bytes of an unsigned or PayloadSigned body are handed out before
// the end proves them good. r must end where the request body ends (a
// Content-Length or chunked-transfer bounded reader, not the connection).
func (a *Auth) Body(r io.Reader) io.Reader {
	switch {
	case a.Payload == PayloadSigned:
		return &hashingReader{r: r, h: sha256.New(), want: a.ContentSHA256}
	case a.Payload.Streaming():
		return newChunkedReader(r, a)
	}
	return r
}

// hashingReader passes the body through and compares its SHA-256 with the
// signed one at the end.
type hashingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
	err  error
}

func (h *hashingReader) Read(p []byte) (int, error) {
	if h.err != nil {
		return 0, h.err
	}
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(h.h.Sum(nil)); got != h.want {
			err = fail(ErrContentSHA256Mismatch, "the body hashes to "+got)
		}
	}
	if err != nil {
		h.err = err
	}
	return n, err
}
