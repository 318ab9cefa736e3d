package s3_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/edgecdn/edge/origin/s3"
)

// The read and write timeouts bound a client that stops, not a transfer:
// a large object goes up from and down to a slow client whole, an upload
// that stops is answered RequestTimeout and stores nothing, as S3 does.
func TestTimeoutsAreBetweenReadsAndWrites(t *testing.T) {
	t.Parallel()
	const timeout = 800 * time.Millisecond
	ts := startServerConfig(t, s3.ServerConfig{ReadTimeout: timeout, WriteTimeout: timeout})
	ts.mkbucket("public")
	body := make([]byte, 12<<20)
	rand.Read(body)
	presignPut := func(key string) *url.URL {
		u, err := url.Parse(ts.presignPut("public", key))
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	dial := func(u *url.URL) net.Conn {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.(*net.TCPConn).SetReadBuffer(256 << 10) // over a loopback segment: a smaller window stalls the sender on probes
		c.SetDeadline(time.Now().Add(30 * time.Second))
		return c
	}

	// Up: 12 MiB at 6 MiB/s, two seconds, more than two read timeouts.
	u := presignPut("slow-up")
	c := dial(u)
	start := time.Now()
	fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", u.RequestURI(), u.Host, len(body))
	for rest := body; len(rest) > 0; {
		n, err := c.Write(rest[:min(len(rest), 64<<10)])
		if err != nil {
			t.Fatalf("uploading at 6 MiB/s, after %v: %v", time.Since(start), err)
		}
		rest = rest[n:]
		time.Sleep(time.Duration(n) * time.Second / (6 << 20)) // the client's pace, not an ordering device
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a slow upload's answer after %v: %v", time.Since(start), err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || time.Since(start) < 2*timeout {
		t.Fatalf("a slow upload: %d after %v", resp.StatusCode, time.Since(start))
	}
	if got := ts.get("public", "slow-up"); sha256.Sum256([]byte(got)) != sha256.Sum256(body) {
		t.Fatalf("the slow upload stored %d bytes, not the %d sent", len(got), len(body))
	}

	// Down: the same object, read at 6 MiB/s.
	c = dial(u)
	start = time.Now()
	fmt.Fprintf(c, "GET /public/slow-up HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host)
	paced := readerFunc(func(p []byte) (int, error) {
		n, err := c.Read(p)
		time.Sleep(time.Duration(n) * time.Second / (6 << 20)) // the client's pace, not an ordering device
		return n, err
	})
	resp, err = http.ReadResponse(bufio.NewReader(paced), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("a slow download after %v: %d, %d of %d bytes, %v", time.Since(start), resp.StatusCode, len(got), len(body), err)
	}
	if took := time.Since(start); took < 2*timeout {
		t.Fatalf("the slow download took %v: not slow enough to test the timeout", took)
	}

	// An upload that stops half way.
	u = presignPut("stalled")
	c = dial(u)
	fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", u.RequestURI(), u.Host, len(body))
	c.Write(body[:1<<20])
	resp, err = http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a stalled upload got no answer: %v", err)
	}
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(answer), "<Code>RequestTimeout</Code>") {
		t.Fatalf("a stalled upload: %d %s", resp.StatusCode, answer)
	}
	if _, err := ts.client.HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: aws.String("public"), Key: aws.String("stalled")}); err == nil {
		t.Fatal("the stalled upload stored an object")
	}

	// An upload that trickles a byte now and then to hold the connection:
	// 256 KiB must arrive per read timeout.
	u = presignPut("trickle")
	c = dial(u)
	start = time.Now()
	fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", u.RequestURI(), u.Host, 1<<20)
	go func() {
		for i := 0; i < 1<<20; i++ {
			if _, err := c.Write(body[i : i+1]); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond) // the attacker's pace, not an ordering device
		}
	}()
	resp, err = http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a trickling upload got no answer: %v", err)
	}
	answer, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(answer), "<Code>RequestTimeout</Code>") || time.Since(start) > 5*timeout {
		t.Fatalf("a trickling upload, after %v: %d %s", time.Since(start), resp.StatusCode, answer)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
