package sigv4

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7/pkg/signer"
)

var writeSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite testdata/fuzz seeds from the AWS SDK, minio-go and the AWS example")

// fuzzBaseRequest is the request FuzzAuthorizationHeader puts each
// Authorization value on; the SDK signed it, so its own header verifies.
func fuzzBaseRequest(t testing.TB) *Request {
	header := http.Header{"X-Amz-Meta-A": {"b  c"}}
	return fromHTTP(sdkSigned(t, "PUT", "http://"+testHost+"/bkt/a%2Fb?uploadId=x&partNumber=1", nil, emptyHash, header, testTime))
}

func FuzzAuthorizationHeader(f *testing.F) {
	base := fuzzBaseRequest(f)
	sdkHeader := base.Header["authorization"][0]
	f.Add(sdkHeader)
	f.Fuzz(func(t *testing.T, authz string) {
		r := *base
		r.Header = make(map[string][]string, len(base.Header))
		for k, v := range base.Header {
			r.Header[k] = v
		}
		r.Header["authorization"] = []string{authz}
		auth, err := testVerifier(testTime).Verify(&r)
		if err != nil {
			if !slices.ContainsFunc([]error{ErrAnonymous, ErrUnsupportedAuth, ErrAuthorizationHeaderMalformed, ErrInvalidAccessKeyID, ErrSignatureDoesNotMatch}, func(e error) bool { return errors.Is(err, e) }) {
				t.Fatalf("Verify(%q) = %v, not an error of the header check", authz, err)
			}
			return
		}
		a, detail := parseAuthorization(strings.TrimSpace(authz))
		if detail != "" {
			t.Fatalf("Verify accepted %q, which does not parse: %s", authz, detail)
		}
		if auth.Seed != a.signature || auth.AccessKeyID != testKeyID || !slices.Contains(a.signed, "host") {
			t.Fatalf("Verify accepted %q as %+v", authz, auth)
		}
	})
}

// FuzzChunkedReader decodes arbitrary bodies in each streaming mode (mode
// % 3: unsigned trailer, signed, signed trailer; the signed modes use the
// AWS example's key and seed). The reader must not panic, never return
// more bytes than it read, buffer at most one chunk, fail only with the
// package's errors, and whatever it accepts must re-encode and decode to
// the same bytes and trailers.
func FuzzChunkedReader(f *testing.F) {
	f.Add(uint8(0), []byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"))
	f.Fuzz(func(t *testing.T, mode uint8, body []byte) {
		m := []PayloadMode{PayloadStreamingUnsignedTrailer, PayloadStreamingSigned, PayloadStreamingSignedTrailer}[mode%3]
		out, trailers, err := decodeChunked(m, body)
		if int64(len(out)) > int64(len(body)) {
			t.Fatalf("decoded %d bytes from a %d-byte body", len(out), len(body))
		}
		if err != nil {
			if !slices.ContainsFunc([]error{io.ErrUnexpectedEOF, ErrMalformedChunk, ErrSignatureDoesNotMatch}, func(e error) bool { return errors.Is(err, e) }) {
				t.Fatalf("ReadAll = %v, not an error of the chunk reader", err)
			}
			return
		}
		var lines []string
		for name, value := range trailers {
			lines = append(lines, name+":"+value)
		}
		slices.Sort(lines)
		var chunks [][]byte
		if len(out) > 0 {
			chunks = [][]byte{out}
		}
		var again []byte
		switch m {
		case PayloadStreamingUnsignedTrailer:
			again = unsignedBody(chunks, lines)
		case PayloadStreamingSigned:
			again = newChunkSigner(exampleSecret, exampleDate, exampleScope, exampleSeed).signedBody(chunks, nil)
		default:
			again = newChunkSigner(exampleSecret, exampleDate, exampleScope, exampleSeed).signedBody(chunks, append([]string{}, lines...))
		}
		out2, trailers2, err := decodeChunked(m, again)
		if err != nil || !bytes.Equal(out, out2) || fmt.Sprint(trailers) != fmt.Sprint(trailers2) {
			t.Fatalf("accepted %q -> %q %v, re-encoded %q -> %q %v, %v", body, out, trailers, again, out2, trailers2, err)
		}
	})
}

func decodeChunked(m PayloadMode, body []byte) ([]byte, map[string]string, error) {
	a := streamingAuth(m, exampleSecret, exampleDate, exampleScope, exampleSeed, -1)
	c := newChunkedReader(bytes.NewReader(body), a)
	var out bytes.Buffer
	p := make([]byte, 1000)
	for {
		n, err := c.Read(p)
		out.Write(p[:n])
		if cap(c.buf) > MaxChunkSize {
			panic("chunk buffer over MaxChunkSize")
		}
		if err == io.EOF {
			return out.Bytes(), a.Trailers(), nil
		}
		if err != nil {
			return out.Bytes(), nil, err
		}
	}
}

// TestFuzzSeeds checks that the stored seeds give what they were chosen
// for, and with -write-fuzz-seeds rewrites them.
func TestFuzzSeeds(t *testing.T) {
	if *writeSeeds {
		writeFuzzSeeds(t)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzAuthorizationHeader")
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) < 5 {
		t.Fatalf("%s: %d seeds, %v; regenerate with go test -run TestFuzzSeeds -write-fuzz-seeds", dir, len(entries), err)
	}
	seed, err := os.ReadFile(filepath.Join(dir, "sdk"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(seed), strconv.Quote(fuzzBaseRequest(t).Header["authorization"][0])) {
		t.Errorf("seed %s/sdk is not the SDK's current header for fuzzBaseRequest", dir)
	}
	dir = filepath.Join("testdata", "fuzz", "FuzzChunkedReader")
	if entries, err := os.ReadDir(dir); err != nil || len(entries) < 5 {
		t.Fatalf("%s: %d seeds, %v", dir, len(entries), err)
	}
}

func writeFuzzSeeds(t *testing.T) {
	write := func(target, name string, values ...string) {
		t.Helper()
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		data := "go test fuzz v1\n" + strings.Join(values, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	str := func(s string) string { return "string(" + strconv.Quote(s) + ")" }
	byts := func(b []byte) string { return "[]byte(" + strconv.Quote(string(b)) + ")" }
	mode := func(m int) string { return "uint8(" + strconv.Itoa(m) + ")" }

	sdk := fuzzBaseRequest(t).Header["authorization"][0]
	write("FuzzAuthorizationHeader", "sdk", str(sdk))
	write("FuzzAuthorizationHeader", "sdk-no-spaces", str(strings.ReplaceAll(sdk, ", ", ",")))
	write("FuzzAuthorizationHeader", "aws-example", str(exampleRequest().Header["authorization"][0]))
	minioReq, _ := http.NewRequest("GET", "http://"+testHost+"/bkt/key", nil)
	minioReq.Header.Set("X-Amz-Content-Sha256", emptyHash)
	write("FuzzAuthorizationHeader", "minio-go", str(signer.SignV4(*minioReq, testKeyID, testSecret, "", testRegion).Header.Get("Authorization")))
	write("FuzzAuthorizationHeader", "sigv2", str("AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="))
	write("FuzzAuthorizationHeader", "duplicate", str(sdk+", Signature="+strings.Repeat("0", 64)))
	write("FuzzAuthorizationHeader", "akid-with-slash", str(strings.Replace(sdk, "Credential="+testKeyID, "Credential=a/b/"+testKeyID, 1)))

	// Real SDK bodies: STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32
	// trailer. Seeds stay small: the fuzzer minimises every new input it
	// finds, and shrinking a 64 KiB chunk stalls a 30-second run; the
	// multi-chunk SDK and AWS-example bodies are unit tests instead.
	for name, size := range map[string]int{"sdk-unsigned-small": 5, "sdk-unsigned-1k": 1000} {
		rec := &recorder{}
		_, _ = sdkClient("https://"+testHost, rec).PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: bytes.NewReader(bytes.Repeat([]byte{'s'}, size))})
		_, body := rec.last(t)
		write("FuzzChunkedReader", name, mode(0), byts(body))
	}
	write("FuzzChunkedReader", "aws-example-cut", mode(1), byts(exampleBody()[:200]))
	sign := func() *chunkSigner { return newChunkSigner(exampleSecret, exampleDate, exampleScope, exampleSeed) }
	write("FuzzChunkedReader", "signed-small", mode(1), byts(sign().signedBody([][]byte{[]byte("ab"), []byte("c")}, nil)))
	write("FuzzChunkedReader", "signed-empty", mode(1), byts(sign().signedBody(nil, nil)))
	write("FuzzChunkedReader", "unsigned-empty-trailer", mode(0), byts(unsignedBody(nil, []string{"x-amz-checksum-crc32:AAAAAA=="})))
	write("FuzzChunkedReader", "signed-trailer", mode(2), byts(sign().signedBody([][]byte{[]byte("hello world")}, []string{"x-amz-checksum-crc32:DUoRhQ==", "x-amz-checksum-sha256:uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="})))
	write("FuzzChunkedReader", "signed-trailer-empty", mode(2), byts(sign().signedBody(nil, []string{"x-amz-checksum-crc32c:AAAAAA=="})))

	// minio-go's signed trailer framing (its seed differs from the
	// example's, so the signatures fail; the framing is what it adds).
	payload := []byte("minio payload")
	req, _ := http.NewRequest("PUT", "http://"+testHost+"/bkt/k", io.NopCloser(bytes.NewReader(payload)))
	req.Trailer = http.Header{"x-amz-checksum-crc32": {crc32Base64(payload)}}
	req = signer.StreamingSignV4(req, testKeyID, testSecret, "", testRegion, int64(len(payload)), time.Date(2026, 5, 7, 0, 0, 0, 0, time.UTC), sha256Hasher{sha256.New()})
	minioBody, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	write("FuzzChunkedReader", "minio-signed-trailer", mode(2), byts(minioBody))
	write("FuzzChunkedReader", "unsigned-extension", mode(0), byts([]byte("3;ext=1\r\nabc\r\n0\r\n\r\n")))
}
