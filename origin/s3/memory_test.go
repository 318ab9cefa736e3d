package s3_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// patternReader yields a fixed number of deterministic pseudo-random bytes:
// the AES-CTR keystream of a key derived from a seed. It is fast enough
// (AES-NI) to feed gigabytes under the race detector, and two readers with
// the same seed yield the same bytes.
type patternReader struct {
	stream cipher.Stream
	left   int64
}

func newPatternReader(seed string, n int64) *patternReader {
	key := sha256.Sum256([]byte(seed))
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		panic(err)
	}
	return &patternReader{stream: cipher.NewCTR(block, make([]byte, aes.BlockSize)), left: n}
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	clear(b)
	p.stream.XORKeyStream(b, b)
	p.left -= int64(len(b))
	return len(b), nil
}

// patternBytes is the whole output of newPatternReader(seed, n).
func patternBytes(seed string, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(newPatternReader(seed, int64(n)), b); err != nil {
		panic(err)
	}
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// hashingReader hashes what is read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// heapSampler records the peak of the live-plus-unswept heap while a
// transfer runs.
type heapSampler struct {
	stop chan struct{}
	done chan uint64 // the peak, once stopped
}

const heapObjectsMetric = "/memory/classes/heap/objects:bytes"

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: heapObjectsMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		panic("runtime/metrics has no " + heapObjectsMetric)
	}
	return s[0].Value.Uint64()
}

// sampleHeap reads the heap every interval until stopped.
func sampleHeap(interval time.Duration) *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan uint64, 1)}
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		peak := heapObjects()
		for {
			select {
			case <-s.stop:
				s.done <- max(peak, heapObjects())
				return
			case <-tick.C:
				peak = max(peak, heapObjects())
			}
		}
	}()
	return s
}

// peak stops the sampler and returns the largest heap it saw.
func (s *heapSampler) peak() uint64 {
	close(s.stop)
	return <-s.done
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// TestStreaming1GiBKeepsMemoryFlat uploads 1 GiB through a presigned PUT and
// downloads it through a presigned GET: the bytes must round-trip and
// neither direction may buffer the object in memory (client and server
// share this process, so the heap covers both).
func TestStreaming1GiBKeepsMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 1 GiB through the server; skipped in -short mode")
	}
	const (
		size      = 1 << 30
		maxGrowth = 64 << 20
	)
	ts := startServer(t)
	ts.mkbucket("big")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 3 * time.Minute}

	put, err := awss3.NewPresignClient(ts.client).PresignPutObject(t.Context(),
		&awss3.PutObjectInput{Bucket: aws.String("big"), Key: aws.String("one-gib.bin")},
		awss3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatalf("PresignPutObject: %v", err)
	}
	getURL := presignGet(t, ts, "big", "one-gib.bin", 10*time.Minute)

	runtime.GC()
	baseline := heapObjects()
	sampler := sampleHeap(50 * time.Millisecond)
	stopped := false
	defer func() {
		if !stopped {
			sampler.peak()
		}
	}()

	// Upload: the body is generated as it is sent and hashed on the way.
	sent := &hashingReader{r: newPatternReader("one-gib", size), h: sha256.New()}
	req, err := http.NewRequestWithContext(t.Context(), put.Method, put.URL, sent)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range put.SignedHeader {
		if !strings.EqualFold(k, "Host") {
			req.Header[k] = vs
		}
	}
	req.ContentLength = size
	upStart := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("presigned PUT of 1 GiB: %v", err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	upTime := time.Since(upStart)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned PUT of 1 GiB: %s\n%s", resp.Status, msg)
	}
	if sent.n != size {
		t.Fatalf("the client sent %d bytes, want %d", sent.n, size)
	}
	putETag := resp.Header.Get("ETag")

	// Download: hash while discarding.
	downStart := time.Now()
	resp, err = client.Get(getURL)
	if err != nil {
		t.Fatalf("presigned GET of 1 GiB: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		t.Fatalf("presigned GET of 1 GiB: %s\n%s", resp.Status, msg)
	}
	got := sha256.New()
	n, err := io.Copy(got, resp.Body)
	downTime := time.Since(downStart)
	if err != nil {
		t.Fatalf("reading the 1 GiB GET body after %d bytes: %v", n, err)
	}
	peak := sampler.peak()
	stopped = true

	if resp.ContentLength != size || n != size {
		t.Fatalf("GET returned Content-Length %d and %d bytes, want %d", resp.ContentLength, n, size)
	}
	if g := resp.Header.Get("ETag"); g != putETag {
		t.Errorf("GET ETag %s, the PUT answered %s", g, putETag)
	}
	if want, have := hex.EncodeToString(sent.h.Sum(nil)), hex.EncodeToString(got.Sum(nil)); want != have {
		t.Fatalf("downloaded sha256 %s, uploaded %s", have, want)
	}
	var growth uint64
	if peak > baseline {
		growth = peak - baseline
	}
	mbps := func(d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }
	t.Logf("upload %v (%.0f MiB/s), download %v (%.0f MiB/s)", upTime.Round(time.Millisecond), mbps(upTime),
		downTime.Round(time.Millisecond), mbps(downTime))
	t.Logf("heap objects: baseline %s after GC, peak %s during the transfers, growth %s (limit %s)",
		mib(baseline), mib(peak), mib(growth), mib(maxGrowth))
	if growth >= maxGrowth {
		t.Fatalf("heap grew by %s while streaming 1 GiB (baseline %s, peak %s); want < %s: something buffers the body",
			mib(growth), mib(baseline), mib(peak), mib(maxGrowth))
	}
}
