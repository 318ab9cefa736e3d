package sigv4

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/edgecdn/edge/origin/s3/checksum"
)

// exampleRequest is the request of the AWS documentation's aws-chunked
// example (sigv4-streaming, "Example: PUT Object").
func exampleRequest() *Request {
	return &Request{
		Method:  "PUT",
		RawPath: "/examplebucket/chunkObject.txt",
		Host:    "s3.amazonaws.com",
		Header: map[string][]string{
			"x-amz-date":                   {exampleDate},
			"x-amz-storage-class":          {"REDUCED_REDUNDANCY"},
			"authorization":                {"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=" + exampleSeed},
			"x-amz-content-sha256":         {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
			"content-encoding":             {"aws-chunked"},
			"x-amz-decoded-content-length": {"66560"},
			"content-length":               {"66824"},
		},
	}
}

func exampleBody() []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n")
	b.Write(bytes.Repeat([]byte{'a'}, 65536))
	b.WriteString("\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n")
	b.Write(bytes.Repeat([]byte{'a'}, 1024))
	b.WriteString("\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n")
	return b.Bytes()
}

func TestAWSChunkedExample(t *testing.T) {
	v := testVerifier(time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC))
	auth, err := v.Verify(exampleRequest())
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if auth.Seed != exampleSeed || auth.Payload != PayloadStreamingSigned {
		t.Fatalf("Auth = %+v, want seed %s, %v", auth, exampleSeed, PayloadStreamingSigned)
	}
	if n, ok := auth.DecodedLength(); n != 66560 || !ok {
		t.Fatalf("DecodedLength = %d, %v; want 66560, true", n, ok)
	}
	body := exampleBody()
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes, the example says 66824", len(body))
	}
	got, err := io.ReadAll(auth.Body(bytes.NewReader(body)))
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{'a'}, 66560)) {
		t.Fatalf("ReadAll = %d bytes, %v; want 66560 bytes of 'a'", len(got), err)
	}
	if auth.Trailers() != nil {
		t.Errorf("Trailers = %v, want nil without trailers", auth.Trailers())
	}
}

// The same example, read through readers that return one or a few bytes
// at a time, and with iotest's checks of the Reader contract.
func TestChunkedReaderSmallReads(t *testing.T) {
	want := bytes.Repeat([]byte{'a'}, 66560)
	newAuth := func() *Auth {
		return streamingAuth(PayloadStreamingSigned, exampleSecret, exampleDate, exampleScope, exampleSeed, 66560)
	}
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+EOF": iotest.DataErrReader,
	} {
		got, err := io.ReadAll(newAuth().Body(wrap(bytes.NewReader(exampleBody()))))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: ReadAll = %d bytes, %v", name, len(got), err)
		}
	}
	if err := iotest.TestReader(newAuth().Body(bytes.NewReader(exampleBody())), want); err != nil {
		t.Error(err)
	}
	unsigned := unsignedBody([][]byte{[]byte("hello "), []byte("world")}, []string{"x-amz-checksum-crc32:DUoRhQ=="})
	a := streamingAuth(PayloadStreamingUnsignedTrailer, "", "", "", "", 11)
	if err := iotest.TestReader(a.Body(iotest.OneByteReader(bytes.NewReader(unsigned))), []byte("hello world")); err != nil {
		t.Error(err)
	}
}

func TestSignedChunksDetectTampering(t *testing.T) {
	chunks := [][]byte{bytes.Repeat([]byte{'x'}, 8192), []byte("second chunk"), []byte("third")}
	newSigner := func() *chunkSigner { return newChunkSigner(exampleSecret, exampleDate, exampleScope, exampleSeed) }
	good := newSigner().signedBody(chunks, nil)
	f := func(name string, body []byte, seed string, wantData int, wantErr error) {
		t.Helper()
		a := streamingAuth(PayloadStreamingSigned, exampleSecret, exampleDate, exampleScope, seed, -1)
		got, err := io.ReadAll(a.Body(bytes.NewReader(body)))
		if !errorsIs(err, wantErr) || len(got) != wantData {
			t.Errorf("%s: ReadAll = %d bytes, %v; want %d bytes, %v", name, len(got), err, wantData, wantErr)
		}
	}
	f("good", good, exampleSeed, 8192+12+5, nil)
	f("wrong seed", good, strings.Repeat("0", 64), 0, ErrSignatureDoesNotMatch)
	// A changed byte in chunk 2: chunk 1 was good and was handed out,
	// nothing of chunk 2 is.
	f("data changed", bytes.Replace(good, []byte("second"), []byte("SECOND"), 1), exampleSeed, 8192, ErrSignatureDoesNotMatch)
	reordered := newSigner().signedBody([][]byte{chunks[1], chunks[0], chunks[2]}, nil)
	f("chunks signed in another order", swapChunks(t, good, reordered), exampleSeed, 0, ErrSignatureDoesNotMatch)
	f("final chunk dropped", good[:bytes.LastIndex(good, []byte("0;chunk-signature="))], exampleSeed, 8192+12+5, io.ErrUnexpectedEOF)
	f("signature missing", bytes.Replace(good, []byte(";chunk-signature="), []byte(";x="), 1), exampleSeed, 0, ErrMalformedChunk)
	f("unsigned framing", unsignedBody(chunks, nil), exampleSeed, 0, ErrMalformedChunk)
	f("trailer in a payload without trailers", newSigner().signedBody(chunks, []string{"x-amz-checksum-crc32:AAAAAA=="}), exampleSeed, 8192+12+5, ErrMalformedChunk)
}

// swapChunks returns body with its chunk headers replaced by those of
// other, keeping body's data: a valid-looking chain for the wrong data.
func swapChunks(t *testing.T, body, other []byte) []byte {
	t.Helper()
	headers := func(b []byte) [][]byte {
		var hs [][]byte
		for _, line := range bytes.SplitAfter(b, []byte("\r\n")) {
			if bytes.Contains(line, []byte(";chunk-signature=")) {
				hs = append(hs, line)
			}
		}
		return hs
	}
	hb, ho := headers(body), headers(other)
	if len(hb) != len(ho) {
		t.Fatal("bodies have different chunk counts")
	}
	out := body
	for i := range hb {
		sizeB, _, _ := bytes.Cut(hb[i], []byte(";"))
		_, sigO, _ := bytes.Cut(ho[i], []byte(";"))
		out = bytes.Replace(out, hb[i], append(append(append([]byte(nil), sizeB...), ';'), sigO...), 1)
	}
	return out
}

func TestSignedTrailer(t *testing.T) {
	chunks := [][]byte{[]byte("hello world")}
	newSigner := func() *chunkSigner { return newChunkSigner(exampleSecret, exampleDate, exampleScope, exampleSeed) }
	trailers := []string{"x-amz-checksum-crc32:DUoRhQ=="}
	good := newSigner().signedBody(chunks, trailers)
	f := func(name string, body []byte, declared []string, wantErr error) {
		t.Helper()
		a := streamingAuth(PayloadStreamingSignedTrailer, exampleSecret, exampleDate, exampleScope, exampleSeed, 11, declared...)
		got, err := io.ReadAll(a.Body(bytes.NewReader(body)))
		if !errorsIs(err, wantErr) {
			t.Errorf("%s: ReadAll = %q, %v; want %v", name, got, err, wantErr)
			return
		}
		if err == nil && a.Trailers()["x-amz-checksum-crc32"] != "DUoRhQ==" {
			t.Errorf("%s: Trailers = %v", name, a.Trailers())
		}
		if err != nil && a.Trailers() != nil {
			t.Errorf("%s: Trailers = %v after an error, want nil", name, a.Trailers())
		}
	}
	f("good", good, nil, nil)
	f("declared", good, []string{"x-amz-checksum-crc32"}, nil)
	f("declared other", good, []string{"x-amz-checksum-crc32c"}, ErrMalformedChunk)
	f("declared more", good, []string{"x-amz-checksum-crc32", "x-amz-checksum-sha256"}, ErrMalformedChunk)
	f("value changed", bytes.Replace(good, []byte("DUoRhQ=="), []byte("DUoRhA=="), 1), nil, ErrSignatureDoesNotMatch)
	f("signature missing", newSigner().signedBody(chunks, nil)[:len(good)-len("x-amz-checksum-crc32:DUoRhQ==\r\n")-len("x-amz-trailer-signature:")-64-4], nil, io.ErrUnexpectedEOF)
	sigAt := bytes.Index(good, []byte("x-amz-trailer-signature:"))
	f("signature line dropped", append(append([]byte(nil), good[:sigAt]...), "\r\n"...), nil, io.ErrUnexpectedEOF)
	f("blank line before signature", append(append(append([]byte(nil), good[:sigAt]...), "\r\n"...), good[sigAt:]...), nil, nil)
	f("LF line ends", bytes.Replace(good, []byte("DUoRhQ==\r\n"), []byte("DUoRhQ==\n"), 1), nil, nil)
	f("final blank line missing", good[:len(good)-2], nil, io.ErrUnexpectedEOF)
	f("trailer after signature", append(good[:len(good)-2:len(good)-2], "x-amz-meta-a:b\r\n\r\n"...), nil, ErrMalformedChunk)
	f("unsigned trailer framing", unsignedBody(chunks, trailers), nil, ErrMalformedChunk)
}

func TestUnsignedTrailer(t *testing.T) {
	chunks := [][]byte{[]byte("hello "), []byte("world")}
	f := func(name string, body []byte, decoded int64, declared []string, wantData string, wantErr error) {
		t.Helper()
		a := streamingAuth(PayloadStreamingUnsignedTrailer, "", "", "", "", decoded, declared...)
		got, err := io.ReadAll(a.Body(bytes.NewReader(body)))
		if !errorsIs(err, wantErr) || string(got) != wantData {
			t.Errorf("%s: ReadAll = %q, %v; want %q, %v", name, got, err, wantData, wantErr)
		}
	}
	good := unsignedBody(chunks, []string{"x-amz-checksum-crc32:DUoRhQ=="})
	f("good", good, 11, []string{"x-amz-checksum-crc32"}, "hello world", nil)
	f("no decoded length", good, -1, nil, "hello world", nil)
	f("decoded length short", good, 10, nil, "hello ", ErrDecodedLengthMismatch)
	f("decoded length long", good, 12, nil, "hello world", ErrDecodedLengthMismatch)
	f("no trailers", unsignedBody(chunks, nil), 11, nil, "hello world", nil)
	f("declared trailer missing", unsignedBody(chunks, nil), 11, []string{"x-amz-checksum-crc32"}, "hello world", ErrMalformedChunk)
	f("undeclared trailer", good, 11, []string{"x-amz-checksum-sha256"}, "hello world", ErrMalformedChunk)
	f("trailer twice", unsignedBody(chunks, []string{"x-amz-checksum-crc32:DUoRhQ==", "x-amz-checksum-crc32:DUoRhQ=="}), 11, nil, "hello world", ErrMalformedChunk)
	f("trailer without colon", unsignedBody(chunks, []string{"x-amz-checksum-crc32"}), 11, nil, "hello world", ErrMalformedChunk)
	f("trailer signature in unsigned mode", unsignedBody(chunks, []string{"x-amz-trailer-signature:" + strings.Repeat("a", 64)}), 11, nil, "hello world", ErrMalformedChunk)
	f("chunk extension ignored", []byte("b;foo=bar\r\nhello world\r\n0\r\n\r\n"), 11, nil, "hello world", nil)
	f("upper-case hex size", []byte("B\r\nhello world\r\n0\r\n\r\n"), 11, nil, "hello world", nil)
	f("leading zeros", []byte("000b\r\nhello world\r\n0\r\n\r\n"), 11, nil, "hello world", nil)
	f("bad hex", []byte("xb\r\nhello world\r\n0\r\n\r\n"), 11, nil, "", ErrMalformedChunk)
	f("signed hex", []byte("+b\r\nhello world\r\n0\r\n\r\n"), 11, nil, "", ErrMalformedChunk)
	f("empty size", []byte("\r\nhello world\r\n0\r\n\r\n"), 11, nil, "", ErrMalformedChunk)
	f("size over 16 MiB", []byte("1000001\r\nhello world\r\n0\r\n\r\n"), -1, nil, "", ErrMalformedChunk)
	f("size overflows", []byte("10000000000000000\r\n"), -1, nil, "", ErrMalformedChunk)
	f("header without CR", []byte("b\nhello world\r\n0\r\n\r\n"), 11, nil, "", ErrMalformedChunk)
	f("data without CRLF", []byte("5\r\nhello world\r\n0\r\n\r\n"), -1, nil, "hello", ErrMalformedChunk)
	f("data with LF only", []byte("b\r\nhello world\n0\r\n\r\n"), 11, nil, "hello world", ErrMalformedChunk)
	f("data after the final chunk", append(append([]byte(nil), good...), '0'), 11, nil, "hello world", ErrMalformedChunk)
	f("chunk after the final chunk", append(append([]byte(nil), good...), "5\r\nhello\r\n"...), 11, nil, "hello world", ErrMalformedChunk)
	f("EOF in data", []byte("b\r\nhello"), 11, nil, "hello", io.ErrUnexpectedEOF)
	f("EOF in data CRLF", []byte("b\r\nhello world\r"), 11, nil, "hello world", io.ErrUnexpectedEOF)
	f("EOF in header", []byte("b"), 11, nil, "", io.ErrUnexpectedEOF)
	f("EOF before final chunk", []byte("b\r\nhello world\r\n"), 11, nil, "hello world", io.ErrUnexpectedEOF)
	f("EOF before final blank line", []byte("b\r\nhello world\r\n0\r\n"), 11, nil, "hello world", io.ErrUnexpectedEOF)
	f("EOF in trailer", []byte("b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUo"), 11, nil, "hello world", io.ErrUnexpectedEOF)
	f("empty body", nil, 0, nil, "", io.ErrUnexpectedEOF)
	f("empty object", []byte("0\r\n\r\n"), 0, nil, "", nil)
	f("long line", []byte(strings.Repeat("0", 5000)+"\r\n"), -1, nil, "", ErrMalformedChunk)
	f("long trailers", []byte("0\r\n"+strings.Repeat("x-amz-meta-a"+strings.Repeat("b", 1000)+":v\r\n", 20)+"\r\n"), -1, nil, "", ErrMalformedChunk)
}

// A reader error other than EOF reaches the caller unchanged.
func TestChunkedReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	a := streamingAuth(PayloadStreamingUnsignedTrailer, "", "", "", "", -1)
	r := io.MultiReader(strings.NewReader("b\r\nhello"), iotest.ErrReader(boom))
	if _, err := io.ReadAll(a.Body(r)); !errors.Is(err, boom) {
		t.Errorf("ReadAll = %v, want %v", err, boom)
	}
	s := streamingAuth(PayloadStreamingSigned, exampleSecret, exampleDate, exampleScope, exampleSeed, -1)
	r = io.MultiReader(bytes.NewReader(exampleBody()[:1000]), iotest.ErrReader(boom))
	if _, err := io.ReadAll(s.Body(r)); !errors.Is(err, boom) {
		t.Errorf("signed: ReadAll = %v, want %v", err, boom)
	}
}

// A chunk header may claim 16 MiB; the buffer must follow the bytes that
// arrive, not the claim.
func TestSignedChunkBufferFollowsArrivingBytes(t *testing.T) {
	a := streamingAuth(PayloadStreamingSigned, exampleSecret, exampleDate, exampleScope, exampleSeed, -1)
	body := "1000000;chunk-signature=" + strings.Repeat("a", 64) + "\r\n" + strings.Repeat("z", 100)
	c := newChunkedReader(strings.NewReader(body), a)
	if _, err := io.ReadAll(c); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadAll = %v, want %v", err, io.ErrUnexpectedEOF)
	}
	if cap(c.buf) > 2*growStep {
		t.Errorf("buffer grew to %d bytes for 100 bytes of data", cap(c.buf))
	}
}

func TestSignedPayloadBody(t *testing.T) {
	body := []byte("the object")
	f := func(name string, sent []byte, hash string, wantErr error) {
		t.Helper()
		a := &Auth{Payload: PayloadSigned, ContentSHA256: hash}
		got, err := io.ReadAll(a.Body(bytes.NewReader(sent)))
		if !errorsIs(err, wantErr) || !bytes.Equal(got, sent) {
			t.Errorf("%s: ReadAll = %q, %v; want %q, %v", name, got, err, sent, wantErr)
		}
	}
	f("match", body, sha256Hex2(body), nil)
	f("empty", nil, emptyHash, nil)
	f("mismatch", []byte("the objecT"), sha256Hex2(body), ErrContentSHA256Mismatch)
	f("empty mismatch", nil, sha256Hex2(body), ErrContentSHA256Mismatch)

	// From Verify: an SDK request whose body was replaced in transit.
	req := sdkSigned(t, "PUT", "http://"+testHost+"/bkt/key", body, sha256Hex2(body), nil, testTime)
	auth, err := testVerifier(testTime).Verify(fromHTTP(req))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(auth.Body(strings.NewReader("other body"))); !errors.Is(err, ErrContentSHA256Mismatch) {
		t.Errorf("replaced body: ReadAll = %v, want %v", err, ErrContentSHA256Mismatch)
	}
	unsigned := &Auth{Payload: PayloadUnsigned}
	r := strings.NewReader("x")
	if unsigned.Body(r) != io.Reader(r) {
		t.Error("UNSIGNED-PAYLOAD: Body does not return the body itself")
	}
}

func TestVerifyStreamingHeaders(t *testing.T) {
	f := func(name string, hash string, extra map[string][]string, wantMode PayloadMode, wantErr error) {
		t.Helper()
		header := map[string][]string{}
		for k, v := range extra {
			header[k] = v
		}
		req := sdkSigned(t, "PUT", "http://"+testHost+"/bkt/key", nil, hash, header, testTime)
		auth, err := testVerifier(testTime).Verify(fromHTTP(req))
		if !errorsIs(err, wantErr) {
			t.Errorf("%s: Verify = %v, want %v", name, err, wantErr)
			return
		}
		if err == nil && auth.Payload != wantMode {
			t.Errorf("%s: Payload = %v, want %v", name, auth.Payload, wantMode)
		}
	}
	f("signed", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", map[string][]string{"X-Amz-Decoded-Content-Length": {"5"}}, PayloadStreamingSigned, nil)
	f("signed trailer", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", map[string][]string{"X-Amz-Trailer": {"x-amz-checksum-crc32c"}}, PayloadStreamingSignedTrailer, nil)
	f("unsigned trailer", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", nil, PayloadStreamingUnsignedTrailer, nil)
	f("unsigned", "UNSIGNED-PAYLOAD", nil, PayloadUnsigned, nil)
	f("upper-case hex", strings.ToUpper(emptyHash), nil, PayloadSigned, nil)
	f("sigv4a streaming", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", nil, 0, ErrInvalidContentSHA256)
	f("short hash", emptyHash[:63], nil, 0, ErrInvalidContentSHA256)
	f("decoded length negative", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", map[string][]string{"X-Amz-Decoded-Content-Length": {"-1"}}, 0, ErrDecodedLengthMismatch)
	f("decoded length text", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", map[string][]string{"X-Amz-Decoded-Content-Length": {"five"}}, 0, ErrDecodedLengthMismatch)
}

// trailerPayload is a body of the trailer tests and its chunks.
type trailerPayload struct {
	name   string
	data   []byte
	chunks [][]byte
}

// trailerPayloads are cut into the 64 KiB chunks clients send: one chunk,
// two chunks, and many.
func trailerPayloads() []trailerPayload {
	data := make([]byte, 6<<16+7)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	var out []trailerPayload
	for _, c := range []struct {
		name string
		size int
	}{{"1 chunk", 1000}, {"2 chunks", 1<<16 + 1000}, {"many chunks", len(data)}} {
		p := trailerPayload{name: c.name, data: data[:c.size]}
		for rest := p.data; len(rest) > 0; rest = rest[min(len(rest), 1<<16):] {
			p.chunks = append(p.chunks, rest[:min(len(rest), 1<<16)])
		}
		out = append(out, p)
	}
	return out
}

// minioTrailerBody frames chunks and trailer lines "name:value" the way
// minio-go's signer does (pkg/signer): chunk-signed when s is not nil,
// each trailer line ending in a bare LF, the lines closed by a CRLF, then
// x-amz-trailer-signature when signed, then the final CRLF.
func minioTrailerBody(s *chunkSigner, chunks [][]byte, trailers []string) []byte {
	var b bytes.Buffer
	for _, c := range chunks {
		if s != nil {
			fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(c), s.chunk(c))
		} else {
			fmt.Fprintf(&b, "%x\r\n", len(c))
		}
		b.Write(c)
		b.WriteString("\r\n")
	}
	if s != nil {
		b.WriteString("0;chunk-signature=" + s.chunk(nil) + "\r\n")
	} else {
		b.WriteString("0\r\n")
	}
	for _, l := range trailers {
		b.WriteString(l + "\n")
	}
	b.WriteString("\r\n")
	if s != nil {
		b.WriteString("x-amz-trailer-signature:" + s.trailer(trailers) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// Bodies of one, two and many chunks with a trailing checksum of each
// algorithm decode to their data and trailer, in both trailer modes and in
// both framings: the AWS one (CRLF lines, the signature right after the
// trailers) and minio-go's (bare-LF lines closed by an extra CRLF).
func TestTrailerChunkCountsAndAlgorithms(t *testing.T) {
	sign := func() *chunkSigner { return newChunkSigner(exampleSecret, exampleDate, exampleScope, exampleSeed) }
	for _, p := range trailerPayloads() {
		for _, alg := range checksum.Algorithms() {
			name, value := alg.Header(), checksum.Sum(alg, p.data)
			trailers := []string{name + ":" + value}
			for _, tc := range []struct {
				framing string
				mode    PayloadMode
				body    []byte
			}{
				{"aws", PayloadStreamingSignedTrailer, sign().signedBody(p.chunks, trailers)},
				{"minio-go", PayloadStreamingSignedTrailer, minioTrailerBody(sign(), p.chunks, trailers)},
				{"aws", PayloadStreamingUnsignedTrailer, unsignedBody(p.chunks, trailers)},
				{"minio-go", PayloadStreamingUnsignedTrailer, minioTrailerBody(nil, p.chunks, trailers)},
			} {
				what := fmt.Sprintf("%s, %s, %v, %s framing", p.name, name, tc.mode, tc.framing)
				a := streamingAuth(tc.mode, exampleSecret, exampleDate, exampleScope, exampleSeed, int64(len(p.data)), name)
				got, err := io.ReadAll(a.Body(bytes.NewReader(tc.body)))
				if err != nil || !bytes.Equal(got, p.data) {
					t.Errorf("%s: ReadAll = %d bytes, %v; want %d bytes", what, len(got), err, len(p.data))
					continue
				}
				if tr := a.Trailers(); len(tr) != 1 || tr[name] != value {
					t.Errorf("%s: Trailers = %v, want %s: %s", what, tr, name, value)
				}
			}
		}
	}
}

// The bodies minio-go's own signer writes (pkg/signer): chunk-signed with
// a signed trailer (StreamingSignV4, its mode over plain HTTP) and
// unsigned with a trailer (SignV4Trailer, its mode over HTTPS or with
// DisableContentSha256), verified from the request as sent.
func TestMinioGoSignerTrailerBodies(t *testing.T) {
	for _, p := range trailerPayloads() {
		for _, alg := range checksum.Algorithms() {
			for _, mode := range []PayloadMode{PayloadStreamingSignedTrailer, PayloadStreamingUnsignedTrailer} {
				what := fmt.Sprintf("%s, %s, %v", p.name, alg, mode)
				req, err := http.NewRequest("PUT", "http://"+testHost+"/bkt/key", io.NopCloser(bytes.NewReader(p.data)))
				if err != nil {
					t.Fatal(err)
				}
				req.ContentLength = int64(len(p.data))
				trailer := http.Header{alg.Header(): {checksum.Sum(alg, p.data)}}
				if mode == PayloadStreamingSignedTrailer {
					req.Trailer = trailer
					req = signer.StreamingSignV4(req, testKeyID, testSecret, "", testRegion, int64(len(p.data)), time.Now().UTC(), sha256Hasher{sha256.New()})
				} else {
					req.Header.Set("X-Amz-Content-Sha256", mode.String())
					req = signer.SignV4Trailer(*req, testKeyID, testSecret, "", testRegion, trailer)
				}
				body, err := io.ReadAll(req.Body)
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(body)) != req.ContentLength {
					t.Fatalf("%s: minio-go wrote %d bytes for a Content-Length of %d", what, len(body), req.ContentLength)
				}
				auth, err := testVerifier(time.Now()).Verify(fromHTTP(req))
				if err != nil || auth.Payload != mode {
					t.Errorf("%s: Verify = %v, %v", what, auth, err)
					continue
				}
				got, err := io.ReadAll(auth.Body(bytes.NewReader(body)))
				if err != nil || !bytes.Equal(got, p.data) {
					t.Errorf("%s: ReadAll = %d bytes, %v; want %d bytes\nbody ends %q", what, len(got), err, len(p.data), body[max(0, len(body)-60):])
					continue
				}
				if got, want := auth.Trailers()[alg.Header()], checksum.Sum(alg, p.data); got != want {
					t.Errorf("%s: trailer = %q, want %q", what, got, want)
				}
			}
		}
	}
}

// The trailer signature covers the trailers in canonical form, each
// "name:value\n" with the name in lower case and the value trimmed, in the
// order sent; its string to sign chains from the final chunk's signature.
// Whatever else ends a trailer section is refused.
func TestSignedTrailerSpec(t *testing.T) {
	chunks := [][]byte{[]byte("hello "), []byte("world")}
	crc32 := "x-amz-checksum-crc32:DUoRhQ=="
	sha := "x-amz-checksum-sha256:uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
	sign := func() *chunkSigner { return newChunkSigner(exampleSecret, exampleDate, exampleScope, exampleSeed) }
	// body frames the trailers as sent (lines, each with its line end),
	// with a trailer signature over signedLines chained from the final
	// chunk's signature.
	body := func(sent string, signedLines []string) []byte {
		s := sign()
		b := s.signedBody(chunks, nil)
		b = b[:len(b)-2] // the final CRLF: trailers come first
		return append(append(b, sent...), "x-amz-trailer-signature:"+s.trailer(signedLines)+"\r\n\r\n"...)
	}
	f := func(name string, body []byte, wantErr error, wantTrailers ...string) {
		t.Helper()
		a := streamingAuth(PayloadStreamingSignedTrailer, exampleSecret, exampleDate, exampleScope, exampleSeed, 11)
		got, err := io.ReadAll(a.Body(bytes.NewReader(body)))
		if !errorsIs(err, wantErr) {
			t.Errorf("%s: ReadAll = %q, %v; want %v", name, got, err, wantErr)
			return
		}
		if err != nil {
			if a.Trailers() != nil {
				t.Errorf("%s: Trailers = %v after an error, want nil", name, a.Trailers())
			}
			return
		}
		for _, l := range wantTrailers {
			k, v, _ := strings.Cut(l, ":")
			if a.Trailers()[k] != v {
				t.Errorf("%s: Trailers = %v, want %s", name, a.Trailers(), l)
			}
		}
	}
	f("two trailers", body(crc32+"\r\n"+sha+"\r\n", []string{crc32, sha}), nil, crc32, sha)
	f("two trailers unsorted, signed as sent", body(sha+"\r\n"+crc32+"\r\n", []string{sha, crc32}), nil, crc32, sha)
	f("two trailers signed in another order", body(sha+"\r\n"+crc32+"\r\n", []string{crc32, sha}), ErrSignatureDoesNotMatch)
	f("name in upper case, spaces around the value", body("X-Amz-Checksum-CRC32: DUoRhQ== \r\n", []string{crc32}), nil, crc32)
	f("minio-go framing, two trailers", body(crc32+"\n"+sha+"\n\r\n", []string{crc32, sha}), nil, crc32, sha)

	good := sign().signedBody(chunks, []string{crc32})
	sigAt := bytes.Index(good, []byte("x-amz-trailer-signature:"))
	f("good", good, nil, crc32)
	badFinal := append([]byte(nil), good...)
	copy(badFinal[bytes.LastIndex(badFinal, []byte("0;chunk-signature="))+len("0;chunk-signature="):], strings.Repeat("0", 64))
	f("final chunk signature wrong", badFinal, ErrSignatureDoesNotMatch)

	// The trailer's string to sign: AWS4-HMAC-SHA256-TRAILER, the date,
	// the scope, the final chunk's signature, the SHA-256 of the trailers
	// with LF line ends.
	s := sign()
	b := s.signedBody(chunks, nil)
	b = append(b[:len(b)-2], crc32+"\r\n"...)
	finalSig := s.previous
	trailerSig := func(previous, hashed string) string {
		return signature(deriveKey(exampleSecret, "20130524", "us-east-1", "s3"),
			"AWS4-HMAC-SHA256-TRAILER\n"+exampleDate+"\n"+exampleScope+"\n"+previous+"\n"+sha256Hex2([]byte(hashed)))
	}
	withSig := func(sig string) []byte {
		return append(append([]byte(nil), b...), "x-amz-trailer-signature:"+sig+"\r\n\r\n"...)
	}
	f("trailer signed per the spec", withSig(trailerSig(finalSig, crc32+"\n")), nil, crc32)
	f("trailer hashed with CRLF", withSig(trailerSig(finalSig, crc32+"\r\n")), ErrSignatureDoesNotMatch)
	f("trailer hashed without its line end", withSig(trailerSig(finalSig, crc32)), ErrSignatureDoesNotMatch)
	f("trailer chained from the seed", withSig(trailerSig(exampleSeed, crc32+"\n")), ErrSignatureDoesNotMatch)
	f("trailer signature of zeros", withSig(strings.Repeat("0", 64)), ErrSignatureDoesNotMatch)
	f("trailer signature not hex", withSig(strings.Repeat("z", 64)), ErrSignatureDoesNotMatch)
	f("trailer value changed", bytes.Replace(good, []byte("DUoRhQ=="), []byte("DUoRhA=="), 1), ErrSignatureDoesNotMatch)

	// Missing trailer signature, in both framings. A blank line after
	// signed trailers is taken for minio-go's close, so without a
	// signature after it the body is cut short.
	f("signature missing, aws framing", append(append([]byte(nil), b...), "\r\n"...), io.ErrUnexpectedEOF)
	f("signature missing, minio-go framing", append(bytes.TrimSuffix(append([]byte(nil), b...), []byte("\r\n")), "\n\r\n\r\n"...), ErrMalformedChunk)
	f("signature missing, body cut", b, io.ErrUnexpectedEOF)
	f("signature line empty", withSig(""), ErrSignatureDoesNotMatch)

	// Data after the end.
	minio := minioTrailerBody(sign(), chunks, []string{crc32})
	f("minio-go framing", minio, nil, crc32)
	f("byte after the end", append(append([]byte(nil), good...), 'x'), ErrMalformedChunk)
	f("CRLF after the end", append(append([]byte(nil), good...), "\r\n"...), ErrMalformedChunk)
	f("CRLF after the end, minio-go framing", append(append([]byte(nil), minio...), "\r\n"...), ErrMalformedChunk)
	f("chunk after the end", append(append([]byte(nil), good...), "5;chunk-signature="+strings.Repeat("a", 64)+"\r\nhello\r\n"...), ErrMalformedChunk)
	f("second trailer signature", append(good[:len(good)-2:len(good)-2], good[sigAt:]...), ErrMalformedChunk)
	f("two blank lines before the signature", append(append(append([]byte(nil), good[:sigAt]...), "\r\n\r\n"...), good[sigAt:]...), ErrMalformedChunk)
	f("trailer after the closing blank line", append(append(append([]byte(nil), good[:sigAt]...), "\r\n"+sha+"\r\n"...), good[sigAt:]...), ErrMalformedChunk)
	f("blank line without trailers", append(append(append([]byte(nil), good[:bytes.Index(good, []byte(crc32))]...), "\r\n"...), good[sigAt:]...), ErrMalformedChunk)
	f("final blank line missing", minio[:len(minio)-2], io.ErrUnexpectedEOF)
}

// minio-go closes unsigned trailer lines with one CRLF before the final
// one; nothing else may follow the trailers.
func TestUnsignedTrailerMinioFraming(t *testing.T) {
	chunks := [][]byte{[]byte("hello "), []byte("world")}
	crc32 := "x-amz-checksum-crc32:DUoRhQ=="
	f := func(name string, body []byte, wantData string, wantErr error) {
		t.Helper()
		a := streamingAuth(PayloadStreamingUnsignedTrailer, "", "", "", "", 11, "x-amz-checksum-crc32")
		got, err := io.ReadAll(a.Body(bytes.NewReader(body)))
		if !errorsIs(err, wantErr) || string(got) != wantData {
			t.Errorf("%s: ReadAll = %q, %v; want %q, %v", name, got, err, wantData, wantErr)
			return
		}
		if err == nil && a.Trailers()["x-amz-checksum-crc32"] != "DUoRhQ==" {
			t.Errorf("%s: Trailers = %v", name, a.Trailers())
		}
	}
	minio := minioTrailerBody(nil, chunks, []string{crc32})
	if !bytes.HasSuffix(minio, []byte("0\r\n"+crc32+"\n\r\n\r\n")) {
		t.Fatalf("minioTrailerBody ends %q", minio[len(minio)-40:])
	}
	aws := unsignedBody(chunks, []string{crc32})
	f("minio-go", minio, "hello world", nil)
	f("aws", aws, "hello world", nil)
	f("aws lines, closed by an extra CRLF", append(append([]byte(nil), aws...), "\r\n"...), "hello world", nil)
	f("byte after the end", append(append([]byte(nil), minio...), 'x'), "hello world", ErrMalformedChunk)
	f("CRLF after the end", append(append([]byte(nil), minio...), "\r\n"...), "hello world", ErrMalformedChunk)
	f("byte after the closing CRLF", append(append([]byte(nil), minio[:len(minio)-2]...), "x\r\n"...), "hello world", ErrMalformedChunk)
	f("trailer after the closing CRLF", append(append([]byte(nil), minio[:len(minio)-2]...), "x-amz-meta-a:b\r\n\r\n"...), "hello world", ErrMalformedChunk)
	f("two CRLFs without trailers", []byte("b\r\nhello world\r\n0\r\n\r\n\r\n"), "hello world", ErrMalformedChunk)
	f("trailer missing", []byte("b\r\nhello world\r\n0\r\n\r\n"), "hello world", ErrMalformedChunk)
}

// Whitespace around the ";" and "=" of a chunk extension (BWS, which RFC
// 9112 lets a sender put there) is accepted; inside the size it is not.
func TestChunkHeaderWhitespace(t *testing.T) {
	v := testVerifier(time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC))
	read := func(body []byte) error {
		auth, err := v.Verify(exampleRequest())
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(auth.Body(bytes.NewReader(body)))
		return err
	}
	for _, spaced := range []string{"10000 ;chunk-signature=", "10000\t; chunk-signature = ", "10000 ; chunk-signature=\t"} {
		body := bytes.Replace(exampleBody(), []byte("10000;chunk-signature="), []byte(spaced), 1)
		if err := read(body); err != nil {
			t.Errorf("%q: %v", spaced, err)
		}
	}
	for _, bad := range []string{"1 0000;chunk-signature=", " 10000;chunk-signature="} {
		body := bytes.Replace(exampleBody(), []byte("10000;chunk-signature="), []byte(bad), 1)
		if err := read(body); !errors.Is(err, ErrMalformedChunk) {
			t.Errorf("%q: %v, want ErrMalformedChunk", bad, err)
		}
	}
}
