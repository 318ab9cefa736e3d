package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/edgecdn/edge/origin"
)

// A minio-go client made with TrailingHeaders sends the checksum of
// PutObject{Checksum: ...} as a trailer of an aws-chunked body. Over plain
// HTTP the body is chunk-signed and so is the trailer
// (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER); with
// DisableContentSha256 (and over HTTPS) it is unsigned
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER). Either way minio-go ends the
// trailer line in a bare LF and closes it with an extra CRLF:
//
//	0;chunk-signature=<sig>\r\n
//	x-amz-checksum-crc32:<value>\n
//	\r\n
//	x-amz-trailer-signature:<sig>\r\n
//	\r\n
//
// unsigned: "0\r\n" + "x-amz-checksum-crc32:<value>\n" + "\r\n" + "\r\n".

const (
	modeSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	modeUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// trailerWire is a minio client's transport that keeps the headers and the
// whole body of each PUT as sent, after rewrite (when set) altered the body
// in transit, keeping its length.
type trailerWire struct {
	base    http.RoundTripper
	rewrite func(body []byte) []byte

	mu   sync.Mutex
	puts []trailerPut
}

type trailerPut struct {
	contentSHA256 string   // x-amz-content-sha256
	trailer       string   // x-amz-trailer
	checksums     []string // x-amz-checksum-<algorithm> headers
	body          []byte
}

func (w *trailerWire) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPut || req.Body == nil {
		return w.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	if w.rewrite != nil {
		body = w.rewrite(body)
	}
	put := trailerPut{contentSHA256: req.Header.Get("X-Amz-Content-Sha256"), trailer: req.Header.Get("X-Amz-Trailer"), body: body}
	for k := range req.Header {
		alg, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-checksum-")
		if ok && alg != "algorithm" && alg != "type" && alg != "mode" {
			put.checksums = append(put.checksums, k)
		}
	}
	w.mu.Lock()
	w.puts = append(w.puts, put)
	w.mu.Unlock()
	req = req.Clone(req.Context())
	req.Body, req.GetBody = io.NopCloser(bytes.NewReader(body)), nil
	return w.base.RoundTrip(req)
}

// last returns the last PUT sent.
func (w *trailerWire) last(t *testing.T) trailerPut {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.puts) == 0 {
		t.Fatal("minio-go sent no PUT")
	}
	return w.puts[len(w.puts)-1]
}

// newTrailerMinio is newMinio's client with TrailingHeaders, the option
// under which minio-go sends checksums as trailers.
func newTrailerMinio(t *testing.T, ts *testServer) (*minio.Client, *trailerWire) {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	wire := &trailerWire{base: tr}
	mc, err := minio.New(strings.TrimPrefix(ts.url, "http://"), &minio.Options{
		Creds:           credentials.NewStaticV4(testKeyID, testSecret, ""),
		Region:          "us-east-1",
		BucketLookup:    minio.BucketLookupPath,
		Transport:       wire,
		MaxRetries:      1,
		TrailingHeaders: true,
	})
	if err != nil {
		t.Fatalf("minio.New: %v", err)
	}
	return mc, wire
}

// wireChunkSizes returns the data sizes of an aws-chunked body's chunks,
// the final empty one excluded, and what follows the final chunk's header.
func wireChunkSizes(t *testing.T, body []byte) (sizes []int, rest []byte) {
	t.Helper()
	for {
		line, after, ok := bytes.Cut(body, []byte("\r\n"))
		if !ok {
			t.Fatalf("aws-chunked body without a final chunk, ends %q", body)
		}
		hexSize, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(hexSize), 16, 64)
		if err != nil || int64(len(after)) < n+2 {
			t.Fatalf("bad chunk header %q", line)
		}
		if n == 0 {
			return sizes, after
		}
		sizes = append(sizes, int(n))
		body = after[n+2:]
	}
}

// trailerChecksum is the checksum of type ck as minio-go reports and
// our store keeps it.
func trailerChecksum(t *testing.T, info minio.ObjectInfo, ck minio.ChecksumType) string {
	t.Helper()
	switch ck {
	case minio.ChecksumCRC32:
		return info.ChecksumCRC32
	case minio.ChecksumCRC32C:
		return info.ChecksumCRC32C
	case minio.ChecksumCRC64NVME:
		return info.ChecksumCRC64NVME
	case minio.ChecksumSHA1:
		return info.ChecksumSHA1
	case minio.ChecksumSHA256:
		return info.ChecksumSHA256
	}
	t.Fatalf("no checksum field for %v", ck)
	return ""
}

// uploadChecksum is trailerChecksum for what PutObject answered.
func uploadChecksum(t *testing.T, info minio.UploadInfo, ck minio.ChecksumType) string {
	t.Helper()
	return trailerChecksum(t, minio.ObjectInfo{
		ChecksumCRC32: info.ChecksumCRC32, ChecksumCRC32C: info.ChecksumCRC32C, ChecksumCRC64NVME: info.ChecksumCRC64NVME,
		ChecksumSHA1: info.ChecksumSHA1, ChecksumSHA256: info.ChecksumSHA256,
	}, ck)
}

var trailerChecksumTypes = []minio.ChecksumType{
	minio.ChecksumCRC32, minio.ChecksumCRC32C, minio.ChecksumCRC64NVME, minio.ChecksumSHA1, minio.ChecksumSHA256,
}

// PutObject with a trailing checksum of each algorithm, signed and
// unsigned, over bodies of one, two and many 64 KiB chunks: the request is
// what minio-go says it sends, the object reads back whole, and its
// checksum is stored and returned with x-amz-checksum-mode: ENABLED.
func TestMinioTrailingChecksums(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	mc, wire := newTrailerMinio(t, ts)
	sizes := []struct {
		name   string
		size   int
		chunks []int
	}{
		{"1 chunk", 1000, []int{1000}},
		{"2 chunks", 64<<10 + 1000, []int{64 << 10, 1000}},
		{"17 chunks", 1<<20 + 123, append(slices.Repeat([]int{64 << 10}, 16), 123)},
	}
	for _, mode := range []string{modeSignedTrailer, modeUnsignedTrailer} {
		// What follows the final chunk's header: the trailer line, the CRLF
		// that closes it, the signature when signed, the final CRLF.
		tail := regexp.MustCompile(`^(x-amz-checksum-[a-z0-9]+):([A-Za-z0-9+/=]+)\n\r\n\r\n$`)
		if mode == modeSignedTrailer {
			tail = regexp.MustCompile(`^(x-amz-checksum-[a-z0-9]+):([A-Za-z0-9+/=]+)\n\r\nx-amz-trailer-signature:[0-9a-f]{64}\r\n\r\n$`)
		}
		for _, sz := range sizes {
			data := patternBytes("minio-trailer-"+sz.name, sz.size)
			for _, ck := range trailerChecksumTypes {
				t.Run(fmt.Sprintf("%s/%s/%s", mode, sz.name, ck), func(t *testing.T) {
					key := fmt.Sprintf("%s/%d/%s", mode, sz.size, ck)
					want := ck.EncodeToString(data)
					info, err := mc.PutObject(t.Context(), "bkt", key, bytes.NewReader(data), int64(sz.size),
						minio.PutObjectOptions{Checksum: ck, DisableContentSha256: mode == modeUnsignedTrailer})
					if err != nil {
						t.Fatalf("PutObject: %v", err)
					}

					put := wire.last(t)
					if put.contentSHA256 != mode || put.trailer != ck.Key() || len(put.checksums) > 0 {
						t.Fatalf("minio-go sent x-amz-content-sha256 %q, x-amz-trailer %q, checksum headers %q; want %s, %s and none",
							put.contentSHA256, put.trailer, put.checksums, mode, ck.Key())
					}
					got, rest := wireChunkSizes(t, put.body)
					if fmt.Sprint(got) != fmt.Sprint(sz.chunks) {
						t.Fatalf("chunks on the wire: %v, want %v", got, sz.chunks)
					}
					if m := tail.FindSubmatch(rest); m == nil || string(m[1]) != ck.Key() || string(m[2]) != want {
						t.Fatalf("after the final chunk minio-go sent %q; want %s:%s in its framing", rest, ck.Key(), want)
					}

					if got := uploadChecksum(t, info, ck); info.Size != int64(sz.size) || got != want {
						t.Errorf("PutObject answered size %d and %s %q; want %d and %q", info.Size, ck, got, sz.size, want)
					}
					obj, err := mc.GetObject(t.Context(), "bkt", key, minio.GetObjectOptions{Checksum: true})
					if err != nil {
						t.Fatalf("GetObject: %v", err)
					}
					defer obj.Close()
					body, err := io.ReadAll(obj)
					if err != nil || !bytes.Equal(body, data) {
						t.Fatalf("GetObject read %d bytes (sha256 %s), %v; want %d bytes (sha256 %s)",
							len(body), sha256Hex(body), err, len(data), sha256Hex(data))
					}
					st, err := obj.Stat()
					if err != nil || trailerChecksum(t, st, ck) != want {
						t.Errorf("GetObject with checksum mode: %s %q, %v; want %q", ck, trailerChecksum(t, st, ck), err, want)
					}
					st, err = mc.StatObject(t.Context(), "bkt", key, minio.StatObjectOptions{Checksum: true})
					if err != nil || trailerChecksum(t, st, ck) != want {
						t.Errorf("StatObject with checksum mode: %s %q, %v; want %q", ck, trailerChecksum(t, st, ck), err, want)
					}
					stored, err := ts.store.HeadObject(t.Context(), "bkt", key, origin.GetOptions{})
					if err != nil || stored.Size != int64(sz.size) || stored.Checksums[ck.String()] != want {
						t.Errorf("store: size %d, checksums %v, %v; want %d and %s %s", stored.Size, stored.Checksums, err, sz.size, ck, want)
					}
				})
			}
		}
	}
}

// A trailing checksum that does not match the data is BadDigest, and
// nothing is stored: the unsigned trailer altered in transit, and a signed
// trailer the client got wrong. Altered in transit, a signed trailer
// breaks its signature instead.
func TestMinioTrailingChecksumMismatch(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	mc, wire := newTrailerMinio(t, ts)
	data := patternBytes("minio-trailer-bad", 3<<16+5) // four chunks
	good, other := minio.ChecksumCRC32C.EncodeToString(data), minio.ChecksumCRC32C.EncodeToString(data[1:])
	swapTrailer := func(body []byte) []byte {
		at := bytes.LastIndex(body, []byte("x-amz-checksum-crc32c:"+good))
		if at < 0 {
			t.Errorf("no x-amz-checksum-crc32c:%s in the body", good)
			return body
		}
		return overwriteAt(body, at+len("x-amz-checksum-crc32c:"), other)
	}

	for _, tc := range []struct {
		mode, code string
		status     int
	}{
		{modeUnsignedTrailer, "BadDigest", http.StatusBadRequest},
		{modeSignedTrailer, "SignatureDoesNotMatch", http.StatusForbidden},
	} {
		wire.rewrite = swapTrailer
		key := "altered-" + tc.mode
		_, err := mc.PutObject(t.Context(), "bkt", key, bytes.NewReader(data), int64(len(data)),
			minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C, DisableContentSha256: tc.mode == modeUnsignedTrailer})
		wire.rewrite = nil
		if put := wire.last(t); put.contentSHA256 != tc.mode || !bytes.Contains(put.body, []byte("x-amz-checksum-crc32c:"+other+"\n")) {
			t.Fatalf("%s: the PUT went as %q, trailer altered: %v", tc.mode, put.contentSHA256, bytes.Contains(put.body, []byte(other)))
		}
		if resp := minio.ToErrorResponse(err); resp.Code != tc.code || resp.StatusCode != tc.status {
			t.Errorf("%s, trailer altered in transit: code %q status %d (%v), want %s %d", tc.mode, resp.Code, resp.StatusCode, err, tc.code, tc.status)
		}
		if _, err := ts.store.HeadObject(t.Context(), "bkt", key, origin.GetOptions{}); !errors.Is(err, origin.ErrNoSuchKey) {
			t.Errorf("%s: after the refused PUT the store's HeadObject says %v, want ErrNoSuchKey", tc.mode, err)
		}
	}

	// A client that signs a wrong checksum: minio-go's Core sends the
	// trailer it is given, chunk-signed and signed.
	core := minio.Core{Client: mc}
	uploadID, err := core.NewMultipartUpload(t.Context(), "bkt", "parts", minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("NewMultipartUpload: %v", err)
	}
	_, err = core.PutObjectPart(t.Context(), "bkt", "parts", uploadID, 1, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectPartOptions{Trailer: http.Header{"x-amz-checksum-crc32c": {other}}})
	if put := wire.last(t); put.contentSHA256 != modeSignedTrailer || put.trailer != "x-amz-checksum-crc32c" {
		t.Fatalf("UploadPart went as %q with x-amz-trailer %q, want %s", put.contentSHA256, put.trailer, modeSignedTrailer)
	}
	if resp := minio.ToErrorResponse(err); resp.Code != "BadDigest" || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("UploadPart with a wrong signed trailer: code %q status %d (%v), want BadDigest 400", resp.Code, resp.StatusCode, err)
	}
	parts, err := core.ListObjectParts(t.Context(), "bkt", "parts", uploadID, 0, 100)
	if err != nil || len(parts.ObjectParts) != 0 {
		t.Errorf("after the refused UploadPart the upload lists parts %+v, %v; want none", parts.ObjectParts, err)
	}
	// The same part with its true checksum is taken: the refusal was the checksum.
	part, err := core.PutObjectPart(t.Context(), "bkt", "parts", uploadID, 1, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectPartOptions{Trailer: http.Header{"x-amz-checksum-crc32c": {good}}})
	if err != nil || part.ChecksumCRC32C != good {
		t.Fatalf("UploadPart with the right trailer: %+v, %v; want checksum %s", part, err, good)
	}
}

// overwriteAt returns a copy of b with s written over it at offset at.
func overwriteAt(b []byte, at int, s string) []byte {
	out := append([]byte(nil), b...)
	copy(out[at:], s)
	return out
}
