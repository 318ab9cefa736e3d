package s3_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
)

// selfSigned makes a certificate for 127.0.0.1.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), pool
}

// Over TLS, aws-sdk-go-v2 sends an unseekable body as aws-chunked
// STREAMING-UNSIGNED-PAYLOAD-TRAILER with its CRC32 in a trailer: the
// store keeps the object bytes only and the checksum from the trailer.
func TestTrailerChecksumOverTLS(t *testing.T) {
	store, err := origin.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s3.New(store, s3.Config{Credentials: map[string]string{testKeyID: testSecret}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, pool := selfSigned(t)
	srv := s3.NewServer(h, s3.ServerConfig{})
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLSEmbed(ln, certPEM, keyPEM) }()
	t.Cleanup(func() { srv.Shutdown(); <-done; store.Close() })

	client := awss3.New(awss3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("https://" + ln.Addr().String()), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	})
	if _, err := client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("hello world", 20000) // several aws-chunked chunks
	_, err = client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
		Body: io.MultiReader(strings.NewReader(body)), ContentLength: aws.Int64(int64(len(body))), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatalf("PutObject with a trailing checksum: %v", err)
	}
	info, err := store.HeadObject(ctx, "bkt", "k", origin.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(body)) || info.Checksums["CRC32"] == "" {
		t.Fatalf("stored size %d (want %d, no chunk framing), checksums %v", info.Size, len(body), info.Checksums)
	}
	out, err := client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body) // the SDK validates the CRC32 as it reads
	out.Body.Close()
	if err != nil || string(got) != body {
		t.Fatalf("GetObject: %d bytes, %v", len(got), err)
	}
	if aws.ToString(out.ChecksumCRC32) != info.Checksums["CRC32"] {
		t.Fatalf("GET checksum %q, stored %q", aws.ToString(out.ChecksumCRC32), info.Checksums["CRC32"])
	}
}

// A header-signed PUT whose body is not the one its x-amz-content-sha256
// names is refused, and nothing is stored.
func TestSignedPayloadMismatchIsRefused(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	signer := v4.NewSigner()
	good := sha256.Sum256([]byte("good"))
	req, err := http.NewRequest("PUT", ts.url+"/bkt/k", strings.NewReader("evil"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-amz-content-sha256", hex.EncodeToString(good[:]))
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(good[:]), "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "XAmzContentSHA256Mismatch") {
		t.Fatalf("tampered signed payload: %d %s", resp.StatusCode, b)
	}
	if _, err := ts.store.HeadObject(ctx, "bkt", "k", origin.GetOptions{}); err == nil {
		t.Fatal("the tampered body was stored")
	}
}
