package sigv4

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

const (
	// MaxChunkSize is the largest aws-chunked chunk accepted. A signed chunk
	// is buffered whole before its bytes are released, so this bounds the
	// memory of one upload; SDKs send 64 KiB chunks, minio-go 64 KiB too.
	MaxChunkSize = 16 << 20

	// maxLine bounds a chunk header or trailer line; real ones are under
	// 100 bytes.
	maxLine = 4 << 10

	// maxTrailerSection bounds all trailer lines together.
	maxTrailerSection = 16 << 10

	// growStep is how much the chunk buffer grows at a time: the buffer
	// follows the bytes that actually arrive, not the size a header claims.
	growStep = 64 << 10

	trailerSignatureName = "x-amz-trailer-signature"
)

// chunkedReader decodes an aws-chunked body:
//
//	hex-size[;chunk-signature=sig]\r\n data \r\n   (repeated)
//	0[;chunk-signature=sig]\r\n                    (final chunk)
//	name:value\r\n ...                             (trailers, trailer modes)
//	x-amz-trailer-signature:sig\r\n                (signed trailers)
//	\r\n
//
// Unsigned chunks stream straight through; a signed chunk is read whole,
// checked, then handed out.
type chunkedReader struct {
	br   *bufio.Reader
	auth *Auth

	prev  string // previous signature in the chain
	chunk int    // number of the current chunk, from 1, for error details
	total int64  // data bytes of all chunks so far

	buf []byte // signed mode: the verified chunk being handed out
	off int    // signed mode: next byte of buf to hand out

	remaining int64 // unsigned mode: data bytes left in the current chunk
	needCRLF  bool  // unsigned mode: the current chunk's data CRLF is unread

	done bool
	err  error // sticky: once failed, always failed
}

func newChunkedReader(r io.Reader, a *Auth) *chunkedReader {
	return &chunkedReader{br: bufio.NewReaderSize(r, maxLine), auth: a, prev: a.Seed}
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if c.off < len(c.buf) {
			n := copy(p, c.buf[c.off:])
			c.off += n
			return n, nil
		}
		if c.remaining > 0 {
			return c.readUnsigned(p)
		}
		if c.done {
			return 0, io.EOF
		}
		if err := c.nextChunk(); err != nil {
			c.err = err
			return 0, err
		}
	}
}

// readUnsigned hands out bytes of an unsigned chunk as they arrive.
func (c *chunkedReader) readUnsigned(p []byte) (int, error) {
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.br.Read(p)
	c.remaining -= int64(n)
	if n > 0 {
		return n, nil
	}
	if err == io.EOF {
		err = c.truncated()
	}
	c.err = err
	return 0, err
}

func (c *chunkedReader) truncated() error {
	return fail(io.ErrUnexpectedEOF, fmt.Sprintf("the body ends inside chunk %d", c.chunk))
}

func (c *chunkedReader) malformed(format string, args ...any) error {
	return fail(ErrMalformedChunk, fmt.Sprintf("chunk %d: ", c.chunk)+fmt.Sprintf(format, args...))
}

// nextChunk reads the next chunk header and, in signed mode, the chunk.
func (c *chunkedReader) nextChunk() error {
	if c.needCRLF {
		if err := c.readCRLF(); err != nil {
			return err
		}
		c.needCRLF = false
	}
	c.chunk++
	line, err := c.readLine(true)
	if err != nil {
		return err
	}
	size, sig, err := c.parseHeader(line)
	if err != nil {
		return err
	}
	if n := c.auth.decodedLength; n >= 0 && c.total+size > n {
		return fail(ErrDecodedLengthMismatch, fmt.Sprintf("the chunks hold more than the declared %d bytes", n))
	}
	c.total += size
	if !c.auth.Payload.chunkSigned() {
		if size == 0 {
			return c.finish()
		}
		c.remaining, c.needCRLF = size, true
		return nil
	}
	if err := c.readChunkData(int(size)); err != nil {
		return err
	}
	want := signature(c.auth.key, chunkStringToSign(c.auth.amzDate, c.auth.scope, c.prev, sha256Hex(c.buf)))
	if !sameSignature(want, sig) {
		return fail(ErrSignatureDoesNotMatch, fmt.Sprintf("chunk %d signature", c.chunk))
	}
	c.prev = want
	if size == 0 {
		return c.finish()
	}
	return c.readCRLF()
}

// parseHeader parses "hex-size[;chunk-signature=sig]". Signed modes need
// exactly that extension; unsigned mode ignores extensions.
func (c *chunkedReader) parseHeader(line string) (size int64, sig string, err error) {
	sizeText, ext, hasExt := strings.Cut(line, ";")
	// Whitespace may stand around the ";" and "=" of an extension (BWS in
	// RFC 9112's chunk-ext), never inside the size.
	sizeText, ext = strings.TrimRight(sizeText, " \t"), strings.TrimLeft(ext, " \t")
	if sizeText == "" || len(sizeText) > 16 {
		return 0, "", c.malformed("bad chunk size %q", sizeText)
	}
	u, perr := strconv.ParseUint(sizeText, 16, 64)
	if perr != nil {
		return 0, "", c.malformed("bad chunk size %q", sizeText)
	}
	if u > MaxChunkSize {
		return 0, "", c.malformed("chunk size %d is over the limit of %d", u, MaxChunkSize)
	}
	if !c.auth.Payload.chunkSigned() {
		return int64(u), "", nil
	}
	name, sig, ok := strings.Cut(ext, "=")
	sig = strings.Trim(sig, " \t")
	if !hasExt || !ok || strings.TrimRight(name, " \t") != "chunk-signature" {
		return 0, "", c.malformed("missing chunk-signature")
	}
	if _, detail := parseSignature(sig); detail != "" {
		return 0, "", c.malformed("chunk-signature must be 64 hex digits")
	}
	return int64(u), sig, nil
}

// readChunkData reads a whole signed chunk into c.buf. The buffer grows as
// bytes arrive, so a header that claims 16 MiB costs nothing until they do.
func (c *chunkedReader) readChunkData(size int) error {
	c.buf, c.off = c.buf[:0], 0
	for len(c.buf) < size {
		if len(c.buf) == cap(c.buf) {
			c.buf = slices.Grow(c.buf, min(size-len(c.buf), max(growStep, len(c.buf))))
		}
		n, err := c.br.Read(c.buf[len(c.buf):min(cap(c.buf), size)])
		c.buf = c.buf[:len(c.buf)+n]
		if err == io.EOF && len(c.buf) < size {
			return c.truncated()
		}
		if err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// readCRLF reads the CRLF that ends a chunk's data.
func (c *chunkedReader) readCRLF() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return c.truncated()
		}
		return err
	}
	if crlf != [2]byte{'\r', '\n'} {
		return c.malformed("chunk data is not followed by CRLF")
	}
	return nil
}

// readLine reads one line and returns it without its line end. Chunk
// headers must end in CRLF (strict); trailer lines may end in a bare LF,
// which minio-go sends. A body that ends before the line does is truncated:
// even the trailer section must end with its blank line, so that a cut
// trailer value is not taken for a wrong one.
func (c *chunkedReader) readLine(strict bool) (string, error) {
	b, err := c.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return "", c.malformed("line longer than %d bytes", maxLine)
	case err == io.EOF:
		return "", c.truncated()
	case err != nil:
		return "", err
	}
	line := strings.TrimSuffix(string(b), "\n")
	line, cr := strings.CutSuffix(line, "\r")
	if strict && !cr {
		return "", c.malformed("chunk header does not end in CRLF")
	}
	return line, nil
}

// finish reads what follows the final chunk: the trailer section, then the
// end of the body, and checks the decoded length.
func (c *chunkedReader) finish() error {
	c.buf, c.off = nil, 0
	trailers, err := c.readTrailers()
	if err != nil {
		return err
	}
	if _, err := c.br.ReadByte(); err == nil {
		return c.malformed("data after the final chunk")
	} else if err != io.EOF {
		return err
	}
	if n := c.auth.decodedLength; n >= 0 && c.total != n {
		return fail(ErrDecodedLengthMismatch, fmt.Sprintf("the chunks hold %d bytes, x-amz-decoded-content-length says %d", c.total, n))
	}
	// Trailers are handed out only with a body that is good to its end.
	if c.auth.Payload.hasTrailer() {
		c.auth.trailers = trailers
	}
	c.done = true
	return nil
}

// readTrailers reads the trailer section that follows the final chunk:
//
//	name:value\r\n ...                    (trailer modes)
//	x-amz-trailer-signature:sig\r\n       (signed trailers)
//	\r\n                                  (the end)
//
// minio-go ends its trailer lines in a bare LF and closes them with a CRLF,
// as it closes chunk data, before the signature or the end: "k:v\n\r\n" +
// "x-amz-trailer-signature:sig\r\n\r\n" signed, "k:v\n\r\n\r\n" unsigned.
// So a blank line right after the trailers closes them in the signed mode,
// where the signature must follow, and in the unsigned mode when a second
// blank line follows; otherwise it is the end.
func (c *chunkedReader) readTrailers() (map[string]string, error) {
	mode := c.auth.Payload
	trailers := make(map[string]string)
	// The trailers as the signature covers them: canonical lines
	// "name:value\n" in the order sent. AWS SDKs send them sorted, as they
	// sign them; minio-go signs them in the order it sends them.
	var signed strings.Builder
	sawSignature, closed := false, false
	for size := 0; ; {
		line, err := c.readLine(false)
		if err != nil {
			return nil, err
		}
		if size += len(line) + 2; size > maxTrailerSection {
			return nil, c.malformed("trailers longer than %d bytes", maxTrailerSection)
		}
		if strings.Trim(line, " \t") == "" {
			if len(trailers) > 0 && !closed && !sawSignature && (mode == PayloadStreamingSignedTrailer || c.next("\r\n")) {
				closed = true
				continue
			}
			break
		}
		if !mode.hasTrailer() {
			return nil, c.malformed("data after the final chunk")
		}
		if sawSignature {
			return nil, c.malformed("trailer after %s", trailerSignatureName)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, c.malformed("trailer %q is not name:value", line)
		}
		name, value = strings.Trim(name, " \t"), strings.Trim(value, " \t")
		if !isToken(name) {
			return nil, c.malformed("trailer name %q is not an HTTP token", name)
		}
		name = asciiLower(name)
		if name == trailerSignatureName {
			if mode != PayloadStreamingSignedTrailer {
				return nil, c.malformed("%s in an unsigned payload", trailerSignatureName)
			}
			want := signature(c.auth.key, trailerStringToSign(c.auth.amzDate, c.auth.scope, c.prev, sha256Hex([]byte(signed.String()))))
			if !sameSignature(want, value) {
				return nil, fail(ErrSignatureDoesNotMatch, "trailer signature")
			}
			c.prev, sawSignature = want, true
			continue
		}
		if closed {
			return nil, c.malformed("trailer %q after the blank line that closes the trailers", name)
		}
		if _, dup := trailers[name]; dup {
			return nil, c.malformed("trailer %q sent twice", name)
		}
		if len(c.auth.declaredTrailers) > 0 && !slices.Contains(c.auth.declaredTrailers, name) {
			return nil, c.malformed("trailer %q is not declared in x-amz-trailer", name)
		}
		trailers[name] = value
		signed.WriteString(name + ":" + trimAll(value) + "\n")
	}
	if mode == PayloadStreamingSignedTrailer && !sawSignature {
		return nil, c.malformed("missing %s", trailerSignatureName)
	}
	for _, name := range c.auth.declaredTrailers {
		if _, ok := trailers[name]; !ok {
			return nil, c.malformed("trailer %q declared in x-amz-trailer is missing", name)
		}
	}
	return trailers, nil
}

// next reports whether the unread body starts with s, without reading it.
func (c *chunkedReader) next(s string) bool {
	b, _ := c.br.Peek(len(s))
	return string(b) == s
}

// isToken reports whether s is a non-empty HTTP token (RFC 9110 tchar), the
// syntax of a header or trailer name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// asciiLower lower-cases ASCII letters only; strings.ToLower would also
// rewrite invalid UTF-8, changing the length and the bytes of a name.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
