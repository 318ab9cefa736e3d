package edge

import (
	"context"
	"io"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/internal/pacing"
)

// setBody makes body the response's: as it is when it is small, written a
// chunk at a time when it is large, so that the server's write timeout
// bounds a client that stops taking it, not how long a slow one takes
// (NewServer hands the body its connection).
func setBody(ctx *fasthttp.RequestCtx, body []byte) {
	if len(body) <= pacing.Chunk {
		ctx.Response.SetBodyRaw(body)
		return
	}
	// One allocation per response this large is nothing next to its I/O.
	ctx.Response.SetBodyStream(pacing.NewBytes(body), len(body))
}

// relayBody is an origin's body streamed to one client, paced (each
// chunk under a renewed write deadline) and guarded against a stalled
// origin.
func relayBody(body io.ReadCloser, cancel context.CancelFunc, stall *time.Timer, wait time.Duration) *pacing.Reader {
	return pacing.NewReader(&stallGuard{body: body, cancel: cancel, stall: stall, wait: wait})
}

// stallGuard bounds each wait for the origin's next bytes by the fetch
// timeout, not the whole transfer: stall cancels the fetch when a read
// waits longer.
type stallGuard struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	stall  *time.Timer
	wait   time.Duration
}

func (g *stallGuard) Read(p []byte) (int, error) {
	g.stall.Reset(g.wait)
	n, err := g.body.Read(p)
	g.stall.Stop()
	return n, err
}

func (g *stallGuard) Close() error {
	g.stall.Stop()
	err := g.body.Close()
	g.cancel()
	return err
}
