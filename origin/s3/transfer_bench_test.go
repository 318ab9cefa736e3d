package s3_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
)

// benchServer serves a fresh store with a public bucket over loopback
// until b ends; it returns the base URL, the store and a presigner.
func benchServer(b *testing.B) (string, *origin.Engine, *awss3.PresignClient, *http.Client) {
	store, err := origin.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.CreateBucket(context.Background(), "public"); err != nil {
		b.Fatal(err)
	}
	h, err := s3.New(store, s3.Config{PublicBuckets: []string{"public"}, Credentials: map[string]string{testKeyID: testSecret}})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := s3.NewServer(h, s3.ServerConfig{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	b.Cleanup(func() {
		client.CloseIdleConnections()
		srv.Shutdown()
		ln.Close()
		<-done
		store.Close()
	})
	url := "http://" + ln.Addr().String()
	presigner := awss3.NewPresignClient(awss3.New(awss3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	}))
	return url, store, presigner, client
}

var benchSizes = []struct {
	name string
	size int
}{{"64KiB", 64 << 10}, {"64MiB", 64 << 20}}

// BenchmarkGet is an anonymous GET of a 64 KiB and of a 64 MiB object over
// loopback, read whole by net/http: the S3 API's download throughput.
func BenchmarkGet(b *testing.B) {
	url, store, _, client := benchServer(b)
	for _, bs := range benchSizes {
		body := bytes.Repeat([]byte("0123456789abcdef"), bs.size/16)
		if _, err := store.PutObject(context.Background(), "public", bs.name, bytes.NewReader(body), origin.PutOptions{Size: int64(bs.size)}); err != nil {
			b.Fatal(err)
		}
		b.Run(bs.name, func(b *testing.B) {
			b.SetBytes(int64(bs.size))
			for b.Loop() {
				resp, err := client.Get(url + "/public/" + bs.name)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != int64(bs.size) || resp.StatusCode != 200 {
					b.Fatalf("%d: %d bytes, %v", resp.StatusCode, n, err)
				}
			}
		})
	}
}

// BenchmarkPut is a PUT by presigned URL (UNSIGNED-PAYLOAD: no hashing in
// the client) of a 64 KiB and of a 64 MiB object over loopback: the S3
// API's upload throughput, the store's durable write included.
func BenchmarkPut(b *testing.B) {
	_, _, presigner, client := benchServer(b)
	for _, bs := range benchSizes {
		body := bytes.Repeat([]byte("0123456789abcdef"), bs.size/16)
		signed, err := presigner.PresignPutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String("public"), Key: aws.String(bs.name)}, awss3.WithPresignExpires(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bs.name, func(b *testing.B) {
			b.SetBytes(int64(bs.size))
			for b.Loop() {
				req, err := http.NewRequest(http.MethodPut, signed.URL, bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				answer, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%d: %s", resp.StatusCode, answer)
				}
			}
		})
	}
}
