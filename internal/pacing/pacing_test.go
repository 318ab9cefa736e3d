package pacing_test

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/edgecdn/edge/internal/pacing"
)

// deadlines records the deadlines set on it.
type deadlines struct {
	net.Conn
	writes, reads []time.Time
}

func (d *deadlines) SetWriteDeadline(t time.Time) error { d.writes = append(d.writes, t); return nil }
func (d *deadlines) SetReadDeadline(t time.Time) error  { d.reads = append(d.reads, t); return nil }

// chunks records the size of each write.
type chunks struct {
	bytes.Buffer
	sizes []int
}

func (c *chunks) Write(p []byte) (int, error) {
	c.sizes = append(c.sizes, len(p))
	return c.Buffer.Write(p)
}

func TestBytesRenewsTheDeadlineEachChunk(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), (2*pacing.Chunk+100)/16)
	b := pacing.NewBytes(body)
	conn := &deadlines{}
	b.Pace(conn, time.Minute)
	var out chunks
	before := time.Now()
	n, err := b.WriteTo(&out)
	if err != nil || n != int64(len(body)) || !bytes.Equal(out.Bytes(), body) {
		t.Fatalf("WriteTo: %d of %d bytes, %v", n, len(body), err)
	}
	if len(out.sizes) != 3 || out.sizes[0] != pacing.Chunk || out.sizes[1] != pacing.Chunk {
		t.Fatalf("writes of %v bytes, want two of %d and the rest", out.sizes, pacing.Chunk)
	}
	if len(conn.writes) != 3 {
		t.Fatalf("%d write deadlines for 3 writes", len(conn.writes))
	}
	for _, d := range conn.writes {
		if d.Before(before.Add(time.Minute)) || d.After(time.Now().Add(time.Minute)) {
			t.Fatalf("a write deadline %v is not a minute from its write", d)
		}
	}
}

// A body never handed a connection is written as it is.
func TestUnpacedBodiesAreWrittenAsTheyAre(t *testing.T) {
	var out chunks
	if _, err := pacing.NewBytes([]byte("small")).WriteTo(&out); err != nil || out.String() != "small" {
		t.Fatalf("%q, %v", out.String(), err)
	}
	r := pacing.NewReader(io.NopCloser(strings.NewReader("streamed")))
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "streamed" || r.Close() != nil {
		t.Fatalf("%q, %v", got, err)
	}
}

func TestReaderRenewsBeforeEachRead(t *testing.T) {
	conn := &deadlines{}
	r := pacing.NewReader(strings.NewReader(strings.Repeat("x", 10)))
	r.Pace(conn, time.Second)
	buf := make([]byte, 4)
	for {
		if _, err := r.Read(buf); err == io.EOF {
			break
		}
	}
	if len(conn.writes) != 4 { // three reads of data, one of EOF
		t.Fatalf("%d write deadlines for 4 reads", len(conn.writes))
	}
}

func TestRequestRenewsTheReadDeadline(t *testing.T) {
	conn := &deadlines{}
	body := pacing.Request(strings.NewReader("uploaded"), conn, time.Second)
	got, err := io.ReadAll(body)
	if err != nil || string(got) != "uploaded" || len(conn.reads) == 0 {
		t.Fatalf("%q, %v, %d read deadlines", got, err, len(conn.reads))
	}
	if plain := strings.NewReader("x"); pacing.Request(plain, conn, 0) != io.Reader(plain) {
		t.Fatal("a zero timeout wrapped the body")
	}
}

func TestReaderWritesAChunkPerDeadline(t *testing.T) {
	conn := &deadlines{}
	body := strings.Repeat("y", 2*pacing.Chunk+7)
	r := pacing.NewReader(strings.NewReader(body))
	r.Pace(conn, time.Second)
	var out bytes.Buffer
	n, err := r.WriteTo(&out)
	if err != nil || n != int64(len(body)) || out.String() != body {
		t.Fatalf("WriteTo: %d of %d bytes, %v", n, len(body), err)
	}
	if len(conn.writes) != 3 { // two full chunks, then the rest and EOF
		t.Fatalf("%d write deadlines for 2 chunks and the rest", len(conn.writes))
	}
}

// A read that returns data with io.EOF, or with an error, still has its
// data written; the error ends the body.
func TestReaderWritesDataThatCameWithAnError(t *testing.T) {
	var out bytes.Buffer
	withEOF := iotest.DataErrReader(io.MultiReader(strings.NewReader("abc"), strings.NewReader("def")))
	n, err := pacing.NewReader(withEOF).WriteTo(&out)
	if err != nil || n != 6 || out.String() != "abcdef" {
		t.Fatalf("%d bytes %q, %v", n, out.String(), err)
	}
	out.Reset()
	withErr := iotest.DataErrReader(io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(io.ErrUnexpectedEOF)))
	n, err = pacing.NewReader(withErr).WriteTo(&out)
	if err != io.ErrUnexpectedEOF || n != 2 || out.String() != "ab" {
		t.Fatalf("%d bytes %q, %v: want the 2 bytes, then the error", n, out.String(), err)
	}
}

// slowReader gives n bytes a read, each read taking d.
type slowReader struct {
	left, n int
	d       time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.d) // the client's pace, not an ordering device
	n := min(r.n, r.left, len(p))
	r.left -= n
	return n, nil
}

// A request body's deadline is a budget per Chunk: reads within a chunk
// do not move it later (a byte now and then does not hold the
// connection), the next chunk gets the whole timeout again.
func TestRequestDeadlineIsPerChunk(t *testing.T) {
	conn := &deadlines{}
	// Reads of 200 ms against windows of 100 ms: a pause of the test's
	// own between two reads (a GC, a busy machine) stays inside them.
	body := pacing.Request(&slowReader{left: 2 * pacing.Chunk, n: pacing.Chunk / 2, d: 200 * time.Millisecond}, conn, time.Second)
	buf, total := make([]byte, pacing.Chunk/2), 0
	for {
		n, err := body.Read(buf)
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if total != 2*pacing.Chunk {
		t.Fatalf("%d bytes", total)
	}
	d := conn.reads
	if len(d) < 4 {
		t.Fatalf("%d read deadlines for 4 reads of data", len(d))
	}
	if diff := d[1].Sub(d[0]); diff < -100*time.Millisecond || diff > 100*time.Millisecond {
		t.Errorf("the second read of a chunk moved the deadline by %v (a read takes 200 ms)", diff)
	}
	if moved := d[2].Sub(d[0]); moved < 300*time.Millisecond {
		t.Errorf("the next chunk's deadline moved by %v, want the time the first chunk took (~400 ms)", moved)
	}

	conn = &deadlines{}
	io.ReadAll(pacing.Request(&slowReader{left: 20, n: 1, d: 20 * time.Millisecond}, conn, time.Second))
	for _, dl := range conn.reads {
		if diff := dl.Sub(conn.reads[0]); diff < -200*time.Millisecond || diff > 200*time.Millisecond {
			t.Fatalf("a byte at a time moved the deadline by %v (the bytes took 400 ms)", diff)
		}
	}
}

// A Budget allows its timeout per Chunk: reads within a chunk spend it,
// the bytes past a chunk's end count toward the next, and a chunk that
// arrived restores the whole timeout.
func TestBudget(t *testing.T) {
	b := pacing.NewBudget(time.Second)
	if l := b.Left(); l != time.Second {
		t.Fatalf("a new budget allows %v", l)
	}
	b.Took(pacing.Chunk/2, 300*time.Millisecond)
	if l := b.Left(); l != 700*time.Millisecond {
		t.Fatalf("after half a chunk in 300 ms: %v left, want 700 ms", l)
	}
	b.Took(pacing.Chunk/2+10, 800*time.Millisecond)
	if l := b.Left(); l != time.Second {
		t.Fatalf("after a whole chunk: %v left, want the whole timeout", l)
	}
	b.Took(pacing.Chunk-20, 900*time.Millisecond) // 10 past the first chunk, then this: 10 short of the second
	if l := b.Left(); l != 100*time.Millisecond {
		t.Fatalf("10 bytes short of the second chunk: %v left, want 100 ms", l)
	}
	b.Took(1, 200*time.Millisecond)
	if l := b.Left(); l > 0 {
		t.Fatalf("a chunk that took longer than the timeout: %v left, want none", l)
	}
}
