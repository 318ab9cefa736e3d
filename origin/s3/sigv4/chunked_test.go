package sigv4

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
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
