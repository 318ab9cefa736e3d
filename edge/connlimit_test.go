package edge_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

// One client address may hold at most MaxConnsPerIP connections: the next
// is answered 429 and closed, and a freed slot can be used again.
func TestConnectionsPerClientAreCapped(t *testing.T) {
	te := startEdge(t)
	te.put("x", "x", origin.Headers{CacheControl: "max-age=60"})
	addr := serveOn(t, edge.NewServer(te.edge, edge.ServerConfig{MaxConnsPerIP: 3}))
	open := func() (net.Conn, int) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return c, resp.StatusCode
	}
	var held []net.Conn
	for i := range 3 {
		c, status := open()
		if status != 200 {
			t.Fatalf("connection %d: %d", i+1, status)
		}
		held = append(held, c)
	}
	c, status := open()
	c.Close()
	if status != 429 {
		t.Fatalf("a fourth connection from one address: %d, want 429", status)
	}
	held[0].Close()
	waitFor(t, "a freed slot", func() bool {
		c, status := open()
		c.Close()
		return status == 200
	})
	for _, c := range held[1:] {
		c.Close()
	}
}
