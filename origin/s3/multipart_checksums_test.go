package s3_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/crc64nvme"
)

type mpu struct {
	t      *testing.T
	ts     *testServer
	key    string
	id     *string
	parts  []types.CompletedPart
	joined bytes.Buffer
}

func startMPU(t *testing.T, ts *testServer, key string, alg types.ChecksumAlgorithm, typ types.ChecksumType) *mpu {
	t.Helper()
	out, err := ts.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String(key), ChecksumAlgorithm: alg, ChecksumType: typ})
	if err != nil {
		t.Fatalf("CreateMultipartUpload %s %s: %v", alg, typ, err)
	}
	if out.ChecksumAlgorithm != alg {
		t.Fatalf("CreateMultipartUpload answered algorithm %q, want %q", out.ChecksumAlgorithm, alg)
	}
	return &mpu{t: t, ts: ts, key: key, id: out.UploadId}
}

// part uploads body with the SDK computing the algorithm's checksum, and
// keeps the part (checksum included) for the completion.
func (m *mpu) part(body []byte, alg types.ChecksumAlgorithm) {
	m.t.Helper()
	n := int32(len(m.parts) + 1)
	out, err := m.ts.client.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String(m.key), UploadId: m.id,
		PartNumber: aws.Int32(n), Body: bytes.NewReader(body), ChecksumAlgorithm: alg})
	if err != nil {
		m.t.Fatalf("UploadPart %d: %v", n, err)
	}
	m.parts = append(m.parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag,
		ChecksumCRC32: out.ChecksumCRC32, ChecksumCRC32C: out.ChecksumCRC32C, ChecksumCRC64NVME: out.ChecksumCRC64NVME,
		ChecksumSHA1: out.ChecksumSHA1, ChecksumSHA256: out.ChecksumSHA256})
	m.joined.Write(body)
}

func (m *mpu) complete(edit func(*awss3.CompleteMultipartUploadInput)) (*awss3.CompleteMultipartUploadOutput, error) {
	in := &awss3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String(m.key), UploadId: m.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: m.parts}}
	if edit != nil {
		edit(in)
	}
	return m.ts.client.CompleteMultipartUpload(ctx, in)
}

func crc32b64(b []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)))
}

// A multipart upload created with a checksum algorithm gets a checksum of
// the whole object: composite (a checksum of the parts' checksums, "-N")
// or full-object; the part checksums listed at completion must be the
// stored ones, and a wrong object checksum completes nothing.
func TestMultipartChecksums(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	p1, p2 := bytes.Repeat([]byte("1"), 5<<20), []byte("the last part")

	t.Run("composite CRC32", func(t *testing.T) {
		m := startMPU(t, ts, "composite", types.ChecksumAlgorithmCrc32, "")
		m.part(p1, types.ChecksumAlgorithmCrc32)
		m.part(p2, types.ChecksumAlgorithmCrc32)
		raw := append(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(p1)), binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(p2))...)
		want := crc32b64(raw) + "-2"
		out, err := m.complete(nil)
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ChecksumCRC32) != want || out.ChecksumType != types.ChecksumTypeComposite {
			t.Fatalf("CompleteMultipartUpload checksum %q %q, want %q COMPOSITE", aws.ToString(out.ChecksumCRC32), out.ChecksumType, want)
		}
		head, err := ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("composite"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || aws.ToString(head.ChecksumCRC32) != want || head.ChecksumType != types.ChecksumTypeComposite {
			t.Fatalf("HeadObject checksum %q %q (%v), want %q COMPOSITE", aws.ToString(head.ChecksumCRC32), head.ChecksumType, err, want)
		}
	})

	t.Run("full-object CRC64NVME", func(t *testing.T) {
		m := startMPU(t, ts, "full", types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeFullObject)
		m.part(p1, types.ChecksumAlgorithmCrc64nvme)
		m.part(p2, types.ChecksumAlgorithmCrc64nvme)
		sum := crc64nvme.New()
		sum.Write(m.joined.Bytes())
		want := base64.StdEncoding.EncodeToString(sum.Sum(nil))
		_, err := m.complete(func(in *awss3.CompleteMultipartUploadInput) {
			in.ChecksumCRC64NVME, in.ChecksumType = aws.String(base64.StdEncoding.EncodeToString(make([]byte, 8))), types.ChecksumTypeFullObject
		})
		expectCode(t, "CompleteMultipartUpload with a wrong full-object checksum", err, "BadDigest", 400)
		out, err := m.complete(func(in *awss3.CompleteMultipartUploadInput) {
			in.ChecksumCRC64NVME, in.ChecksumType = aws.String(want), types.ChecksumTypeFullObject
		})
		if err != nil {
			t.Fatalf("CompleteMultipartUpload after the refused one (the upload must still be there): %v", err)
		}
		if aws.ToString(out.ChecksumCRC64NVME) != want || out.ChecksumType != types.ChecksumTypeFullObject {
			t.Fatalf("CompleteMultipartUpload checksum %q %q, want %q FULL_OBJECT", aws.ToString(out.ChecksumCRC64NVME), out.ChecksumType, want)
		}
		// The SDK checks a full-object checksum against the body it reads.
		get, err := ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("full"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(get.Body)
		get.Body.Close()
		if err != nil || !bytes.Equal(got, m.joined.Bytes()) || aws.ToString(get.ChecksumCRC64NVME) != want {
			t.Fatalf("GetObject with checksum mode: %d bytes, checksum %q, %v", len(got), aws.ToString(get.ChecksumCRC64NVME), err)
		}
		// A range carries no whole-object checksum to check it against.
		rng, err := ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("full"), Range: aws.String("bytes=0-9"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, rng.Body)
		rng.Body.Close()
		if rng.ChecksumCRC64NVME != nil {
			t.Fatalf("a range read carries the whole object's checksum %q", aws.ToString(rng.ChecksumCRC64NVME))
		}
	})

	t.Run("listed part checksum must be the stored one", func(t *testing.T) {
		m := startMPU(t, ts, "tampered", types.ChecksumAlgorithmCrc32, "")
		m.part(p1, types.ChecksumAlgorithmCrc32)
		m.part(p2, types.ChecksumAlgorithmCrc32)
		m.parts[1].ChecksumCRC32 = aws.String(crc32b64([]byte("other bytes")))
		_, err := m.complete(nil)
		expectCode(t, "CompleteMultipartUpload listing a wrong part checksum", err, "InvalidPart", 400)
		_, err = ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("tampered")})
		expectCode(t, "HeadObject after the refused completion", err, "", 404)
	})

	t.Run("x-amz-mp-object-size", func(t *testing.T) {
		m := startMPU(t, ts, "sized", "", "")
		m.part(p1, "")
		m.part(p2, "")
		_, err := m.complete(func(in *awss3.CompleteMultipartUploadInput) { in.MpuObjectSize = aws.Int64(int64(m.joined.Len()) + 1) })
		expectCode(t, "CompleteMultipartUpload with a wrong x-amz-mp-object-size", err, "InvalidRequest", 400)
		if _, err := m.complete(func(in *awss3.CompleteMultipartUploadInput) { in.MpuObjectSize = aws.Int64(int64(m.joined.Len())) }); err != nil {
			t.Fatalf("CompleteMultipartUpload with the right size: %v", err)
		}
	})

	t.Run("rules of algorithm and type", func(t *testing.T) {
		for _, c := range []struct {
			alg types.ChecksumAlgorithm
			typ types.ChecksumType
		}{{types.ChecksumAlgorithmSha256, types.ChecksumTypeFullObject}, {types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeComposite}} {
			_, err := ts.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("x"), ChecksumAlgorithm: c.alg, ChecksumType: c.typ})
			expectCode(t, "CreateMultipartUpload "+string(c.alg)+" "+string(c.typ), err, "InvalidRequest", 400)
		}
	})
}
