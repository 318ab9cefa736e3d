package checksum

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestKnownVectors(t *testing.T) {
	f := func(a Algorithm, data, want string) {
		t.Helper()
		if got := Sum(a, []byte(data)); got != want {
			t.Errorf("Sum(%s, %q) = %s, want %s", a, data, got, want)
		}
	}
	f(CRC32, "hello world", "DUoRhQ==")  // 0x0d4a1185
	f(CRC32C, "hello world", "yZRlqg==") // 0xc99465aa
	f(CRC32, "", "AAAAAA==")
	f(CRC32C, "", "AAAAAA==")
	f(CRC64NVME, "", "AAAAAAAAAAA=")
	f(CRC64NVME, "123456789", base64.StdEncoding.EncodeToString([]byte{0xae, 0x8b, 0x14, 0x86, 0x0a, 0x79, 0x98, 0x88}))
	f(SHA1, "", "2jmj7l5rSw0yVb/vlWAYkK/YBwk=")
	f(SHA256, "", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
	f(SHA256, "hello world", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=")
	f(SHA1, "hello world", "Kq5sNclPz7QV2+lfQIuc6R7oRu0=")
}

// CRC64NVME cross-checked against hash/crc64 with the reflected NVMe
// polynomial, an implementation independent of crc64nvme's.
func TestCRC64NVMEMatchesStandardLibrary(t *testing.T) {
	table := crc64.MakeTable(0x9a6c9329ac4bc9b5)
	if got := crc64.Checksum([]byte("123456789"), table); got != 0xae8b14860a799888 {
		t.Fatalf("hash/crc64 check value = %#x, want 0xae8b14860a799888", got)
	}
	for _, n := range []int{0, 1, 7, 8, 15, 16, 63, 64, 255, 256, 4095, 4096, 100000} {
		data := bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog."), n/44+1)[:n]
		want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, crc64.Checksum(data, table)))
		if got := Sum(CRC64NVME, data); got != want {
			t.Errorf("Sum(CRC64NVME, %d bytes) = %s, want %s", n, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	f := func(name string, want Algorithm, wantErr error) {
		t.Helper()
		got, err := Parse(name)
		if got != want || !errors.Is(err, wantErr) {
			t.Errorf("Parse(%q) = %q, %v; want %q, %v", name, got, err, want, wantErr)
		}
	}
	f("CRC32", CRC32, nil)
	f("crc32", CRC32, nil)
	f("crc32c", CRC32C, nil)
	f("Crc64Nvme", CRC64NVME, nil)
	f("sha1", SHA1, nil)
	f(" SHA256 ", SHA256, nil)
	f("md5", "", ErrUnknownAlgorithm)
	f("", "", ErrUnknownAlgorithm)
	f("crc", "", ErrUnknownAlgorithm)
	for _, a := range Algorithms() {
		if got, err := Parse(strings.TrimPrefix(a.Header(), "x-amz-checksum-")); got != a || err != nil {
			t.Errorf("Parse of %s's header suffix = %q, %v", a, got, err)
		}
		if New(a).Size() != a.Size() {
			t.Errorf("%s: New(a).Size() = %d, Size() = %d", a, New(a).Size(), a.Size())
		}
	}
}

func TestHeader(t *testing.T) {
	want := map[Algorithm]string{
		CRC32: "x-amz-checksum-crc32", CRC32C: "x-amz-checksum-crc32c", CRC64NVME: "x-amz-checksum-crc64nvme",
		SHA1: "x-amz-checksum-sha1", SHA256: "x-amz-checksum-sha256",
	}
	for a, h := range want {
		if a.Header() != h {
			t.Errorf("%s.Header() = %q, want %q", a, a.Header(), h)
		}
	}
}

func TestNewPanicsOnUnknownAlgorithm(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(\"MD5\") did not panic")
		}
	}()
	New("MD5")
}

func TestDecode(t *testing.T) {
	f := func(a Algorithm, value string, wantErr error) {
		t.Helper()
		if _, err := a.Decode(value); !errors.Is(err, wantErr) {
			t.Errorf("%s.Decode(%q) = %v, want %v", a, value, err, wantErr)
		}
	}
	f(CRC32, "DUoRhQ==", nil)
	f(CRC32, "DUoRhQ", ErrInvalidChecksum)              // padding is required
	f(CRC32, "DUoRhQ==\n", ErrInvalidChecksum)          // no stray bytes
	f(CRC32, "DUoRhRE=", ErrInvalidChecksum)            // wrong size
	f(SHA256, "DUoRhQ==", ErrInvalidChecksum)           // a CRC32 is not a SHA-256
	f(CRC64NVME, "AAAAAAAAAAA=", nil)                   // 8 bytes
	f(Algorithm("MD5"), "DUoRhQ==", ErrInvalidChecksum) // unknown algorithm
}

func TestReader(t *testing.T) {
	data := bytes.Repeat([]byte("hello world "), 10000)
	r := NewReader(iotest.HalfReader(bytes.NewReader(data)), CRC32, SHA256, CRC32, CRC64NVME)
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll = %d bytes, %v", len(got), err)
	}
	for _, a := range []Algorithm{CRC32, SHA256, CRC64NVME} {
		if r.Sum(a) != Sum(a, data) {
			t.Errorf("Reader.Sum(%s) = %s, want %s", a, r.Sum(a), Sum(a, data))
		}
		if err := r.Check(a, Sum(a, data)); err != nil {
			t.Errorf("Check(%s, right value) = %v", a, err)
		}
	}
	if r.Sum(SHA1) != "" {
		t.Errorf("Sum of an algorithm not computed = %q, want empty", r.Sum(SHA1))
	}
	if err := r.Check(CRC32, Sum(CRC32, data[1:])); !errors.Is(err, ErrMismatch) {
		t.Errorf("Check(wrong value) = %v, want %v", err, ErrMismatch)
	}
	if err := r.Check(CRC32, "not base64"); !errors.Is(err, ErrInvalidChecksum) {
		t.Errorf("Check(invalid value) = %v, want %v", err, ErrInvalidChecksum)
	}
	if err := r.Check(SHA1, Sum(SHA1, data)); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("Check(algorithm not computed) = %v, want %v", err, ErrUnknownAlgorithm)
	}
	if err := iotest.TestReader(NewReader(bytes.NewReader(data), CRC32C), data); err != nil {
		t.Error(err)
	}
}

// The composite checksum of a multipart upload, computed independently:
// the hash of the parts' raw digests, base64, "-" and the part count.
func TestComposite(t *testing.T) {
	parts := [][]byte{bytes.Repeat([]byte{'a'}, 5<<20), bytes.Repeat([]byte{'b'}, 5<<20), []byte("tail")}
	var sums []string
	var rawCRC, rawSHA []byte
	for _, p := range parts {
		sums = append(sums, Sum(CRC32, p))
		rawCRC = binary.BigEndian.AppendUint32(rawCRC, crc32.ChecksumIEEE(p))
		s := sha256.Sum256(p)
		rawSHA = append(rawSHA, s[:]...)
	}
	want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(rawCRC))) + "-3"
	if got, err := Composite(CRC32, sums); got != want || err != nil {
		t.Errorf("Composite(CRC32) = %q, %v; want %q", got, err, want)
	}
	var shaSums []string
	for _, p := range parts {
		shaSums = append(shaSums, Sum(SHA256, p))
	}
	s := sha256.Sum256(rawSHA)
	if got, err := Composite(SHA256, shaSums); got != base64.StdEncoding.EncodeToString(s[:])+"-3" || err != nil {
		t.Errorf("Composite(SHA256) = %q, %v", got, err)
	}

	f := func(a Algorithm, sums []string, wantErr error) {
		t.Helper()
		if _, err := Composite(a, sums); !errors.Is(err, wantErr) {
			t.Errorf("Composite(%s, %q) = %v, want %v", a, sums, err, wantErr)
		}
	}
	f(CRC64NVME, []string{"AAAAAAAAAAA="}, ErrCompositeUnsupported)
	f(CRC32, nil, ErrInvalidChecksum)
	f(CRC32, []string{"DUoRhQ==", "bad"}, ErrInvalidChecksum)
	f(CRC32, []string{Sum(SHA256, nil)}, ErrInvalidChecksum)
	f("MD5", []string{"DUoRhQ=="}, ErrUnknownAlgorithm)
}

// recorder is an HTTP client for the SDK that keeps the last request and
// answers 200 without sending anything.
type recorder struct{ req *http.Request }

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
	}
	r.req = req
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

// The checksum headers aws-sdk-go-v2 computes for a PutObject match ours.
func TestMatchesAWSSDK(t *testing.T) {
	data := bytes.Repeat([]byte("checksum me "), 3000)
	sdkAlg := map[Algorithm]types.ChecksumAlgorithm{
		CRC32: types.ChecksumAlgorithmCrc32, CRC32C: types.ChecksumAlgorithmCrc32c, CRC64NVME: types.ChecksumAlgorithmCrc64nvme,
		SHA1: types.ChecksumAlgorithmSha1, SHA256: types.ChecksumAlgorithmSha256,
	}
	for _, a := range Algorithms() {
		rec := &recorder{}
		client := s3.New(s3.Options{
			Region:                     "us-east-1",
			BaseEndpoint:               aws.String("http://s3.example.test"), // http: the checksum goes in a header
			UsePathStyle:               true,
			Credentials:                aws.AnonymousCredentials{},
			HTTPClient:                 rec,
			Retryer:                    aws.NopRetryer{},
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		})
		_, _ = client.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String("bkt"), Key: aws.String("k"), Body: bytes.NewReader(data), ChecksumAlgorithm: sdkAlg[a],
		})
		if rec.req == nil {
			t.Fatalf("%s: the SDK sent nothing", a)
		}
		if got, want := rec.req.Header.Get(a.Header()), Sum(a, data); got != want {
			t.Errorf("%s: SDK sent %s = %q, we compute %q", a, a.Header(), got, want)
		}
	}
}
