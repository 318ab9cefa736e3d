package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// recorder is an HTTP client for the SDK that records each request with
// its body instead of sending it, and answers 200.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (rec *recorder) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
	}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, req)
	rec.body = append(rec.body, body)
	rec.mu.Unlock()
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Etag": {`"d41d8cd98f00b204e9800998ecf8427e"`}},
		Body:       io.NopCloser(strings.NewReader("")),
		Request:    req,
	}, nil
}

// last returns the last recorded request and body.
func (rec *recorder) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) == 0 {
		t.Fatal("the client sent nothing")
	}
	return rec.reqs[len(rec.reqs)-1], rec.body[len(rec.body)-1]
}

func sdkClient(endpoint string, rec *recorder) *s3.Client {
	return s3.New(s3.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return testCreds, nil }),
		HTTPClient:   rec,
		Retryer:      aws.NopRetryer{},
		// What config.LoadDefaultConfig sets: checksums whenever supported.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
	})
}

func crc32Base64(data []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(data)))
}

// The real S3 client: its requests verify, and the body reader returns the
// object bytes. Over http it signs the payload hash; over https it sends
// STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer.
func TestVerifyRealS3Client(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80000 bytes: two SDK chunks
	keys := []string{"plain", "a/b/c", "with space", "plus+sign", "ключ/日本", "a//b", "a/../b", "~!*'()&$@=;:,?"}
	type call struct {
		name string
		do   func(ctx context.Context, c *s3.Client, key string) error
		body []byte
	}
	calls := []call{
		{"PutObject", func(ctx context.Context, c *s3.Client, key string) error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: bytes.NewReader(payload),
				Metadata: map[string]string{"note": "a  b"}})
			return err
		}, payload},
		{"PutObjectEmpty", func(ctx context.Context, c *s3.Client, key string) error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: bytes.NewReader(nil)})
			return err
		}, nil},
		{"UploadPart", func(ctx context.Context, c *s3.Client, key string) error {
			_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String(key), PartNumber: aws.Int32(3),
				UploadId: aws.String("up/+=id"), Body: bytes.NewReader(payload[:1000]), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
			return err
		}, payload[:1000]},
		{"GetObject", func(ctx context.Context, c *s3.Client, key string) error {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Range: aws.String("bytes=0-99")})
			return err
		}, nil},
		{"ListObjectsV2", func(ctx context.Context, c *s3.Client, key string) error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), Prefix: aws.String(key), Delimiter: aws.String("/"),
				StartAfter: aws.String("a b+c")})
			return err
		}, nil},
		{"CreateMultipartUpload", func(ctx context.Context, c *s3.Client, key string) error {
			_, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
			return err
		}, nil},
	}
	for _, endpoint := range []string{"http://" + testHost, "https://" + testHost} {
		for _, c := range calls {
			for _, key := range keys {
				rec := &recorder{}
				_ = c.do(t.Context(), sdkClient(endpoint, rec), key) // the empty answers may not parse; the request is what matters
				req, body := rec.last(t)
				auth, err := testVerifier(time.Now()).Verify(fromHTTP(req))
				if err != nil {
					t.Errorf("%s %s key %q: Verify = %v\n%s %s", endpoint, c.name, key, err, req.Method, req.URL)
					continue
				}
				got, err := io.ReadAll(auth.Body(bytes.NewReader(body)))
				if err != nil || !bytes.Equal(got, c.body) {
					t.Errorf("%s %s key %q (%v): body = %d bytes, %v; want %d bytes", endpoint, c.name, key, auth.Payload, len(got), err, len(c.body))
					continue
				}
				if auth.Payload == PayloadStreamingUnsignedTrailer {
					if n, ok := auth.DecodedLength(); !ok || n != int64(len(c.body)) {
						t.Errorf("%s %s: DecodedLength = %d, %v; want %d", endpoint, c.name, n, ok, len(c.body))
					}
					if got, want := auth.Trailers()["x-amz-checksum-crc32"], crc32Base64(c.body); got != want {
						t.Errorf("%s %s: trailer crc32 = %q, want %q (trailers %v)", endpoint, c.name, got, want, auth.Trailers())
					}
				}
			}
		}
	}
}

// Tampering with a real SDK aws-chunked body: the reader must fail rather
// than return altered bytes as good.
func TestRealS3ClientUnsignedTrailerFraming(t *testing.T) {
	payload := []byte("hello, trailer")
	rec := &recorder{}
	_, _ = sdkClient("https://"+testHost, rec).PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: bytes.NewReader(payload)})
	req, body := rec.last(t)
	auth, err := testVerifier(time.Now()).Verify(fromHTTP(req))
	if err != nil {
		t.Fatal(err)
	}
	if auth.Payload != PayloadStreamingUnsignedTrailer {
		t.Fatalf("Payload = %v, want %v", auth.Payload, PayloadStreamingUnsignedTrailer)
	}
	for _, tc := range []struct {
		name string
		body []byte
		want error
	}{
		{"as sent", body, nil},
		{"cut short", body[:len(body)-10], io.ErrUnexpectedEOF},
		{"extra bytes", append(append([]byte(nil), body...), "x"...), ErrMalformedChunk},
		{"one more data byte", bytes.Replace(body, payload, append(append([]byte(nil), payload...), '!'), 1), ErrMalformedChunk},
	} {
		a := *auth
		_, err := io.ReadAll(a.Body(bytes.NewReader(tc.body)))
		if !errorsIs(err, tc.want) {
			t.Errorf("%s: ReadAll = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// sha256Hasher adapts sha256 to the hasher minio-go's signer takes.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

// minio-go signs aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD),
// with signed trailers when asked; its framing of trailers differs from the
// SDKs' and must be accepted.
func TestVerifyMinioStreamingSignature(t *testing.T) {
	for _, size := range []int{0, 1, 65536, 65537, 200000} {
		for _, withTrailer := range []bool{false, true} {
			payload := bytes.Repeat([]byte{'m'}, size)
			req, err := http.NewRequest("PUT", "http://"+testHost+"/bkt/obj%20name", io.NopCloser(bytes.NewReader(payload)))
			if err != nil {
				t.Fatal(err)
			}
			if withTrailer {
				req.Trailer = http.Header{"x-amz-checksum-crc32": {crc32Base64(payload)}}
			}
			req = signer.StreamingSignV4(req, testKeyID, testSecret, "", testRegion, int64(size), time.Now().UTC(), sha256Hasher{sha256.New()})
			body, err := io.ReadAll(req.Body)
			if err != nil {
				t.Fatal(err)
			}
			auth, err := testVerifier(time.Now()).Verify(fromHTTP(req))
			if err != nil {
				t.Errorf("size %d trailer %v: Verify = %v", size, withTrailer, err)
				continue
			}
			got, err := io.ReadAll(auth.Body(bytes.NewReader(body)))
			if err != nil || !bytes.Equal(got, payload) {
				t.Errorf("size %d trailer %v (%v): body = %d bytes, %v; want %d bytes", size, withTrailer, auth.Payload, len(got), err, size)
				continue
			}
			if withTrailer && auth.Trailers()["x-amz-checksum-crc32"] != crc32Base64(payload) {
				t.Errorf("size %d: Trailers = %v", size, auth.Trailers())
			}
			if withTrailer && len(body) > 100 {
				// Flip one byte of the trailer value: the trailer signature must catch it.
				bad := bytes.Replace(body, []byte(crc32Base64(payload)), []byte(crc32Base64(append(payload, 'x'))), 1)
				a := *auth
				if _, err := io.ReadAll(a.Body(bytes.NewReader(bad))); !errorsIs(err, ErrSignatureDoesNotMatch) {
					t.Errorf("size %d, trailer altered: ReadAll = %v, want %v", size, err, ErrSignatureDoesNotMatch)
				}
			}
		}
	}
}

// minio-go's header and presigned signatures, an implementation independent
// of the AWS SDK.
func TestVerifyMinioSignatures(t *testing.T) {
	req, err := http.NewRequest("GET", "http://"+testHost+"/bkt/a%20b/c?list-type=2&prefix=x%2Fy&delimiter=%2F", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", emptyHash)
	req.Header.Set("X-Amz-Meta-Spaced", "  a   b ")
	signedReq := signer.SignV4(*req, testKeyID, testSecret, "", testRegion)
	if _, err := testVerifier(time.Now()).Verify(fromHTTP(signedReq)); err != nil {
		t.Errorf("SignV4: Verify = %v", err)
	}

	req, err = http.NewRequest("GET", "http://"+testHost+"/bkt/key?versionId=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	presigned := signer.PreSignV4(*req, testKeyID, testSecret, "", testRegion, 600)
	auth, err := testVerifier(time.Now()).Verify(fromHTTP(presigned))
	if err != nil || !auth.Presigned {
		t.Errorf("PreSignV4: Verify = %+v, %v", auth, err)
	}
}
