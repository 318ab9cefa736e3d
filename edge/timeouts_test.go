package edge_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

// serveWith puts te.edge on a second loopback port with its own server
// limits, until the test ends, and returns the address.
func (te *testEdge) serveWith(sc edge.ServerConfig) string {
	return serveOn(te.t, edge.NewServer(te.edge, sc))
}

// ask sends GET path on a new connection with a small receive window,
// closed when the test ends; the connection gives up after 30 s.
func ask(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.(*net.TCPConn).SetReadBuffer(256 << 10) // over a segment (64 KiB on loopback): a smaller window stalls the sender on probes
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// slowGet asks for path and reads the response at about rate bytes a
// second, as a client on a slow link does.
func slowGet(t *testing.T, addr, path string, rate int) (*http.Response, []byte, error) {
	t.Helper()
	c := ask(t, addr, path)
	const step = 16 << 10
	paced := readerFunc(func(p []byte) (int, error) {
		n, err := c.Read(p)
		time.Sleep(time.Duration(n) * time.Second / time.Duration(rate)) // the client's pace, not an ordering device
		return n, err
	})
	resp, err := http.ReadResponse(bufio.NewReaderSize(paced, step), nil)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// The write timeout bounds a client that stops taking the response, not
// the time a whole response takes: a large object to a slow client is
// sent whole however long it takes, and a client that stops reading is
// cut once it has taken nothing for about the write timeout.
func TestWriteTimeoutIsBetweenWrites(t *testing.T) {
	t.Parallel()
	const writeTimeout = 800 * time.Millisecond
	te := startEdge(t)
	// Objects over 1 MiB stream through uncached; the fetch timeout bounds
	// each wait for the origin, not the stream.
	streamed := startEdge(t, func(c *edge.Config, _ *countingStore) {
		c.MaxObjectSize = 1 << 20
		c.FetchTimeout = 300 * time.Millisecond
	})
	body := make([]byte, 12<<20)
	rand.Read(body)
	te.put("big", string(body), origin.Headers{})
	streamed.put("big", string(body), origin.Headers{})
	addr := te.serveWith(edge.ServerConfig{WriteTimeout: writeTimeout})
	streamedAddr := streamed.serveWith(edge.ServerConfig{WriteTimeout: writeTimeout})

	// 12 MiB at 6 MiB/s: two seconds, more than two write timeouts and
	// many fetch timeouts.
	slow := func(t *testing.T, what, addr string) { slowGetWhole(t, what, addr, "/big", body, writeTimeout) }
	t.Run("stored", func(t *testing.T) {
		t.Parallel()
		slow(t, "filled from the origin", addr)
		slow(t, "a hit", addr)
	})
	t.Run("streamed", func(t *testing.T) {
		t.Parallel()
		slow(t, "streamed through", streamedAddr)
	})
	// A client that asks and then takes nothing is cut.
	t.Run("stalled", func(t *testing.T) {
		t.Parallel()
		c := ask(t, addr, "/big")
		time.Sleep(3 * writeTimeout) // the stall under test
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _ := io.Copy(io.Discard, c)
		if n >= int64(len(body)) {
			t.Fatalf("a client that read nothing for %v got the whole response (%d bytes) with a %v write timeout", 3*writeTimeout, n, writeTimeout)
		}
	})
}

// A kept-alive connection with no next request is closed after the idle
// timeout, and a connection that sends nothing at all after the read
// timeout.
func TestIdleAndFirstByteTimeouts(t *testing.T) {
	t.Parallel()
	te := startEdge(t)
	te.put("x", "hello", origin.Headers{})
	// The idle gap between requests is twice the read timeout and well
	// under the idle timeout, with room for a loaded machine either way.
	const readTimeout, idleTimeout, gap = 300 * time.Millisecond, 1500 * time.Millisecond, 600 * time.Millisecond
	addr := te.serveWith(edge.ServerConfig{ReadTimeout: readTimeout, IdleTimeout: idleTimeout})

	closedAfter := func(c net.Conn) time.Duration {
		start := time.Now()
		c.SetReadDeadline(start.Add(10 * time.Second))
		io.Copy(io.Discard, c)
		return time.Since(start)
	}

	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if d := closedAfter(silent); d < readTimeout*2/3 || d > readTimeout+2*time.Second {
		t.Errorf("a connection that sent nothing was closed after %v; read timeout %v", d, readTimeout)
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	br := bufio.NewReader(idle)
	for i := range 4 { // requests spread over more than the idle timeout keep the connection
		io.WriteString(idle, "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d on a kept-alive connection: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "hello" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
		if i < 3 {
			time.Sleep(gap) // the idleness under test
		}
	}
	// Measured from the last response, so that the last gap is the wait
	// for the close itself.
	if d := closedAfter(idle); d < idleTimeout*4/5 || d > idleTimeout+3*time.Second {
		t.Errorf("an idle kept-alive connection was closed after %v; idle timeout %v", d, idleTimeout)
	}
}

// An object over max_object_size streamed from an upstream site: the
// fetch timeout bounds the wait for its head (504) and for each 256 KiB of
// its body, not the transfer, with or without a Content-Length.
func TestStreamedFromAnUpstream(t *testing.T) {
	t.Parallel()
	const writeTimeout, fetchTimeout = 800 * time.Millisecond, 300 * time.Millisecond
	body := make([]byte, 12<<20)
	rand.Read(body)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		case "/chunked": // no length: the edge relays it chunked
			for rest := body; len(rest) > 0; rest = rest[min(len(rest), 1<<20):] {
				w.Write(rest[:min(len(rest), 1<<20)])
				w.(http.Flusher).Flush()
			}
		case "/stalls":
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body[:2<<20])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // until the edge gives up on it
		case "/slow-head":
			time.Sleep(3 * fetchTimeout) // the stall under test
			w.Write(body[:10])
		}
	}))
	t.Cleanup(up.Close)
	te := startEdgeWith(t, edge.Config{
		Sites:         []edge.Site{{Hosts: []string{"localhost"}, Upstream: up.URL}},
		MaxObjectSize: 1 << 20,
		FetchTimeout:  fetchTimeout,
	}, nil)
	addr := te.serveWith(edge.ServerConfig{WriteTimeout: writeTimeout})

	for _, path := range []string{"/big", "/chunked"} {
		t.Run("slow client "+path, func(t *testing.T) {
			t.Parallel()
			slowGetWhole(t, "streamed", addr, path, body, writeTimeout)
		})
	}
	t.Run("origin stalls mid-body", func(t *testing.T) {
		t.Parallel()
		c := ask(t, addr, "/stalls")
		start := time.Now()
		n, err := io.Copy(io.Discard, c)
		if err != nil || n >= int64(len(body)) || n < 2<<20 {
			t.Fatalf("read %d bytes, %v: want the 2 MiB sent, then the connection closed", n, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("the client waited %v for an origin that stopped, fetch timeout %v", took, fetchTimeout)
		}
	})
	t.Run("origin slow to answer", func(t *testing.T) {
		t.Parallel()
		if r := te.get("/slow-head"); r.status != http.StatusGatewayTimeout {
			t.Fatalf("%d %q, want 504", r.status, r.h("Cache-Status"))
		}
	})
}

// A fill from a slow but steady origin takes as long as it takes; one
// from an origin that stops sending ends in 504 and stores nothing.
func TestFillFromASlowOrigin(t *testing.T) {
	t.Parallel()
	const fetchTimeout = 300 * time.Millisecond
	body := make([]byte, 2<<20)
	rand.Read(body)
	var stalledFills atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("Cache-Control", "max-age=60")
		switch r.URL.Path {
		case "/steady": // 2 MiB over about a second: many fetch timeouts
			for rest := body; len(rest) > 0; rest = rest[min(len(rest), 64<<10):] {
				w.Write(rest[:min(len(rest), 64<<10)])
				w.(http.Flusher).Flush()
				time.Sleep(30 * time.Millisecond) // the origin's pace, not an ordering device
			}
		case "/stalls":
			stalledFills.Add(1)
			w.Write(body[:1<<20])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // until the edge gives up on it
		case "/trickles": // 1 KiB every 20 ms: 5 s for 256 KiB
			for rest := body; len(rest) > 0 && r.Context().Err() == nil; rest = rest[1<<10:] {
				w.Write(rest[:1<<10])
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond) // the origin's pace, not an ordering device
			}
		}
	}))
	t.Cleanup(up.Close)
	te := startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: up.URL}}, FetchTimeout: fetchTimeout}, nil)

	start := time.Now()
	r := te.get("/steady")
	if r.status != 200 || r.body != string(body) {
		t.Fatalf("a fill from a steady origin: %d, %d of %d bytes, %q", r.status, len(r.body), len(body), r.h("Cache-Status"))
	}
	if took := time.Since(start); took < 2*fetchTimeout {
		t.Fatalf("the fill took %v: the origin was not slow enough to test the timeout", took)
	}
	if r := te.get("/steady"); r.status != 200 || !strings.Contains(r.h("Cache-Status"), "hit") {
		t.Fatalf("after the fill: %d %q, want a hit", r.status, r.h("Cache-Status"))
	}

	start = time.Now()
	if r := te.get("/stalls"); r.status != http.StatusGatewayTimeout {
		t.Fatalf("a fill from an origin that stopped: %d %q, want 504", r.status, r.h("Cache-Status"))
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the client waited %v for an origin that stopped, fetch timeout %v", took, fetchTimeout)
	}
	te.get("/stalls")
	if n := stalledFills.Load(); n != 2 {
		t.Fatalf("the origin was asked %d times for two requests: a cut body was stored", n)
	}

	// Bytes now and then do not hold a fill: 256 KiB per fetch timeout.
	start = time.Now()
	if r := te.get("/trickles"); r.status != http.StatusGatewayTimeout || time.Since(start) > 3*time.Second {
		t.Fatalf("a fill from a trickling origin, after %v: %d %q, want 504 soon after the fetch timeout", time.Since(start), r.status, r.h("Cache-Status"))
	}
}

// slowGetWhole GETs path at 6 MiB/s and wants body whole, the transfer
// taking more than two write timeouts (else it tested nothing).
func slowGetWhole(t *testing.T, what, addr, path string, body []byte, writeTimeout time.Duration) {
	t.Helper()
	start := time.Now()
	resp, got, err := slowGet(t, addr, path, 6<<20)
	if err != nil {
		t.Fatalf("%s, slow GET %s after %v: %v (%d of %d bytes)", what, path, time.Since(start), err, len(got), len(body))
	}
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("%s, slow GET %s: %d, %d of %d bytes, intact %v", what, path, resp.StatusCode, len(got), len(body), bytes.Equal(got, body))
	}
	if took := time.Since(start); took < 2*writeTimeout {
		t.Fatalf("%s, slow GET %s took %v: the client was not slow enough to test the timeout", what, path, took)
	}
}
