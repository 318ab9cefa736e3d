package edge

import (
	"context"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// The server's write timeout bounds a client that stops taking a response,
// not the time a whole response takes: fasthttp sets one deadline before it
// writes a response, which would cut any large object to a slow enough
// client. A body larger than paceChunk therefore goes out a chunk at a
// time, and the connection's write deadline is renewed before each chunk.
const paceChunk = 256 << 10

// pacer is a response body that renews conn's write deadline by timeout
// before each chunk it writes. The server's handler hands it both once the
// edge has answered (NewServer); a body never handed them is written as is.
type pacer interface {
	pace(conn net.Conn, timeout time.Duration)
}

// setBody makes body the response's: as it is when it is small, paced
// when it is large.
func setBody(ctx *fasthttp.RequestCtx, body []byte) {
	if len(body) <= paceChunk {
		ctx.Response.SetBodyRaw(body)
		return
	}
	// One allocation per response this large is nothing next to its I/O.
	ctx.Response.SetBodyStream(&pacedBody{rest: body}, len(body))
}

// pacedBody is a large stored body on its way to one client.
type pacedBody struct {
	rest    []byte
	conn    net.Conn
	timeout time.Duration
}

func (b *pacedBody) pace(conn net.Conn, timeout time.Duration) { b.conn, b.timeout = conn, timeout }

// WriteTo is how fasthttp sends the body: a chunk at a time, each with a
// renewed deadline.
func (b *pacedBody) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for len(b.rest) > 0 {
		if b.conn != nil && b.timeout > 0 {
			if err := b.conn.SetWriteDeadline(time.Now().Add(b.timeout)); err != nil {
				return n, err
			}
		}
		m, err := w.Write(b.rest[:min(len(b.rest), paceChunk)])
		n += int64(m)
		b.rest = b.rest[m:]
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if len(b.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

// relayedBody is an origin's body streamed to one client. The fetch
// timeout bounds each wait for the origin's next bytes, not the whole
// transfer: stall cancels the fetch when a read waits longer.
type relayedBody struct {
	body    io.ReadCloser
	cancel  context.CancelFunc
	stall   *time.Timer
	wait    time.Duration
	conn    net.Conn
	timeout time.Duration
}

func (r *relayedBody) pace(conn net.Conn, timeout time.Duration) { r.conn, r.timeout = conn, timeout }

// Read is called between fasthttp's writes to the client, so renewing the
// write deadline here bounds each write, not the stream.
func (r *relayedBody) Read(p []byte) (int, error) {
	if r.conn != nil && r.timeout > 0 {
		if err := r.conn.SetWriteDeadline(time.Now().Add(r.timeout)); err != nil {
			return 0, err
		}
	}
	r.stall.Reset(r.wait)
	n, err := r.body.Read(p)
	r.stall.Stop()
	return n, err
}

func (r *relayedBody) Close() error {
	r.stall.Stop()
	err := r.body.Close()
	r.cancel()
	return err
}
