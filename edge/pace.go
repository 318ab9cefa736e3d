package edge

import (
	"context"
	"fmt"
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

// originWait bounds the waits for an origin by the fetch timeout: for its
// answer's head, then for each 256 KiB of its body (stallGuard), not the
// whole transfer. A large object from a slow but steady origin arrives;
// one that stops sending, or trickles, is given up on.
type originWait struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	stall  *time.Timer
	wait   time.Duration
}

func (e *Edge) newOriginWait() *originWait {
	ctx, cancel := context.WithCancelCause(context.Background())
	w := &originWait{ctx: ctx, cancel: cancel, wait: e.cfg.FetchTimeout}
	w.stall = time.AfterFunc(w.wait, func() { cancel(errOriginStalled) })
	return w
}

// headed takes the fetch's result once it returned: its error, or the
// stall's when the timeout fired first or as the answer came (its body
// is cut then).
func (w *originWait) headed(resp *originResponse, err error) error {
	if !w.stall.Stop() && err == nil {
		if resp.Body != nil {
			resp.Body.Close()
		}
		err = errOriginStalled
	}
	return w.explain(err)
}

// explain names the stall as the cause of a read the timeout ended; the
// end of a body is never a stall.
func (w *originWait) explain(err error) error {
	if err != nil && err != io.EOF && context.Cause(w.ctx) == errOriginStalled {
		return errOriginStalled
	}
	return err
}

// done ends the fetch: its connection is released.
func (w *originWait) done() {
	w.stall.Stop()
	w.cancel(nil)
}

// body is the answer's body under a pacing.Budget of the timeout per 256
// KiB (not counting the time a slow client takes what was read): an
// origin that trickles a byte now and then cannot hold a fill and its
// waiters. Closing it ends the fetch.
func (w *originWait) body(body io.ReadCloser) io.ReadCloser {
	return &stallGuard{body: body, w: w, budget: pacing.NewBudget(w.wait)}
}

type stallGuard struct {
	body   io.ReadCloser
	w      *originWait
	budget pacing.Budget
}

func (g *stallGuard) Read(p []byte) (int, error) {
	start := time.Now()
	g.w.stall.Reset(g.budget.Left()) // at once when none is left: the read is cut
	n, err := g.body.Read(p)
	g.budget.Took(n, time.Since(start))
	g.w.stall.Stop()
	return n, g.w.explain(err)
}

func (g *stallGuard) Close() error {
	err := g.body.Close()
	g.w.done()
	return err
}

// errOriginStalled is a timeout: 504.
var errOriginStalled = fmt.Errorf("the origin was too slow for the fetch timeout: %w", context.DeadlineExceeded)
