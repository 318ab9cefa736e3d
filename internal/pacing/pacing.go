// Package pacing renews a connection's deadline chunk by chunk of a large
// transfer, so that a server's read and write timeouts bound a peer that
// stops sending or taking bytes, not how long a large body takes to or
// from a slow one.
//
// fasthttp sets one write deadline before it writes a response, and one
// read deadline before it reads a request: on their own they cut any
// transfer that takes longer than the timeout, however steadily it moves.
package pacing

import (
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Chunk is the most a paced body writes under one deadline.
const Chunk = 256 << 10

// Pacer is a response body that renews the write deadline of the
// connection it is written to, once Handler has told it which.
type Pacer interface {
	Pace(conn net.Conn, timeout time.Duration)
}

// Handler runs h, then hands a response body that is a Pacer the request's
// connection and the server's write timeout.
func Handler(h fasthttp.RequestHandler, writeTimeout time.Duration) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		h(ctx)
		if p, ok := ctx.Response.BodyStream().(Pacer); ok {
			p.Pace(ctx.Conn(), writeTimeout)
		}
	}
}

// Writes renews a connection's write deadline; the zero value renews
// nothing (a body never handed a connection is written as is).
type Writes struct {
	conn    net.Conn
	timeout time.Duration
}

// Pace sets the connection and the time each write may wait.
func (w *Writes) Pace(conn net.Conn, timeout time.Duration) { w.conn, w.timeout = conn, timeout }

// Renew moves the write deadline to a timeout from now.
func (w *Writes) Renew() error {
	if w.conn == nil || w.timeout <= 0 {
		return nil
	}
	return w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
}

// Bytes is a body in memory written a Chunk at a time, the deadline
// renewed before each.
type Bytes struct {
	Writes
	rest []byte
}

// NewBytes paces b.
func NewBytes(b []byte) *Bytes { return &Bytes{rest: b} }

// WriteTo is how fasthttp sends a body stream that has it.
func (b *Bytes) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for len(b.rest) > 0 {
		if err := b.Renew(); err != nil {
			return n, err
		}
		m, err := w.Write(b.rest[:min(len(b.rest), Chunk)])
		n += int64(m)
		b.rest = b.rest[m:]
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (b *Bytes) Read(p []byte) (int, error) {
	if len(b.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

// Reader is a streamed body written a Chunk at a time, the deadline
// renewed before each.
type Reader struct {
	Writes
	r io.Reader
}

// NewReader paces r; Close closes r when it is an io.Closer.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// WriteTo is how fasthttp sends a body stream that has it: what one read
// of the stream gives, up to a Chunk, written whole under a renewed
// deadline. (Given the stream itself, fasthttp's writer would send it 4 KiB
// per write.) One read, not a full chunk: a stream that trickles goes out
// as it comes.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	buf := chunkBufs.Get().(*[Chunk]byte)
	defer chunkBufs.Put(buf)
	var n int64
	for {
		m, rerr := r.r.Read(buf[:])
		if m > 0 {
			if err := r.Renew(); err != nil {
				return n, err
			}
			m, err := w.Write(buf[:m])
			n += int64(m)
			if err != nil {
				return n, err
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// chunkBufs are the buffers Reader.WriteTo copies a chunk through.
var chunkBufs = sync.Pool{New: func() any { return new([Chunk]byte) }}

// SupportsBodyWriteTo has fasthttp use WriteTo for a body of unknown
// length (chunked) too.
func (r *Reader) SupportsBodyWriteTo() bool { return true }

// Read renews the deadline too: a caller that reads the body and writes
// what it read before reading again is paced as well.
func (r *Reader) Read(p []byte) (int, error) {
	if err := r.Renew(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r *Reader) Close() error {
	if c, ok := r.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Budget is the wait a transfer may spend on each Chunk, counting only
// the time spent waiting for the peer (not what the other side does with
// what it read): a peer must move a Chunk per timeout, and one that sends
// nothing, or a byte now and then, runs out.
type Budget struct {
	timeout time.Duration
	left    time.Duration // of the wait allowed for this chunk
	since   int           // bytes of this chunk so far
}

// NewBudget allows timeout per Chunk.
func NewBudget(timeout time.Duration) Budget { return Budget{timeout: timeout, left: timeout} }

// Left is the wait the next read may spend: what is left of this chunk's,
// or a whole timeout once a chunk has arrived. It is zero or less once
// spent.
func (b *Budget) Left() time.Duration {
	if b.since >= Chunk {
		b.since, b.left = b.since-Chunk, b.timeout
	}
	return b.left
}

// Took records a read that gave n bytes after waiting d.
func (b *Budget) Took(n int, d time.Duration) {
	b.left -= d
	b.since += n
}

// Request is a request body read under conn's read deadline, a Budget of
// timeout per Chunk: a slow upload of any size goes through, a client that
// sends less than a Chunk per timeout is cut.
func Request(body io.Reader, conn net.Conn, timeout time.Duration) io.Reader {
	if timeout <= 0 || conn == nil {
		return body
	}
	return &request{body: body, conn: conn, budget: NewBudget(timeout)}
}

type request struct {
	body   io.Reader
	conn   net.Conn
	budget Budget
}

func (r *request) Read(p []byte) (int, error) {
	start := time.Now()
	if err := r.conn.SetReadDeadline(start.Add(r.budget.Left())); err != nil {
		return 0, err
	}
	n, err := r.body.Read(p)
	r.budget.Took(n, time.Since(start))
	return n, err
}
