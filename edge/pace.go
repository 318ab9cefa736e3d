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

// relayedBody is an origin's body streamed to one client. The fetch
// timeout bounds each wait for the origin's next bytes, not the whole
// transfer: stall cancels the fetch when a read waits longer. The write
// deadline is renewed before each read, as fasthttp writes what one read
// returned before it reads again.
type relayedBody struct {
	pacing.Writes
	body   io.ReadCloser
	cancel context.CancelFunc
	stall  *time.Timer
	wait   time.Duration
}

func (r *relayedBody) Read(p []byte) (int, error) {
	if err := r.Renew(); err != nil {
		return 0, err
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
