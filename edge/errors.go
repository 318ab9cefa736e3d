package edge

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
)

// failure is an answer the edge gives instead of a response: the status,
// the Cache-Status detail (RFC 9211) that says why, and the cause, for
// the log. Every error the edge answers goes through Edge.fail.
type failure struct {
	status int
	detail string
	cause  error // nil for a client's mistake, which is not logged
	// close ends the connection after the answer (framing errors: what
	// follows on the connection cannot be trusted).
	close bool
}

func (f *failure) Error() string {
	if f.cause != nil {
		return f.detail + ": " + f.cause.Error()
	}
	return f.detail
}

// The failures a client causes; their fixed values are shared.
var (
	errFraming       = &failure{status: fasthttp.StatusBadRequest, detail: "ambiguous-framing", close: true}
	errFolded        = &failure{status: fasthttp.StatusBadRequest, detail: "obsolete-line-folding", close: true}
	errBadTarget     = &failure{status: fasthttp.StatusBadRequest, detail: "bad-target"}
	errUnknownHost   = &failure{status: fasthttp.StatusMisdirectedRequest, detail: "unknown-host"}
	errMethod        = &failure{status: fasthttp.StatusMethodNotAllowed, detail: "method"}
	errHeaderTooBig  = &failure{status: fasthttp.StatusRequestHeaderFieldsTooLarge, detail: "header-too-large", close: true}
	errBodyTooBig    = &failure{status: fasthttp.StatusRequestEntityTooLarge, detail: "body-too-large", close: true}
	errClientTimeout = &failure{status: fasthttp.StatusRequestTimeout, detail: "client-timeout", close: true}
	errUnreadable    = &failure{status: fasthttp.StatusBadRequest, detail: "unreadable-request", close: true}
	errClosing       = &failure{status: fasthttp.StatusServiceUnavailable, detail: "shutting-down", close: true}
)

// originFailure is the answer when the origin cannot be used: 504 when it
// was too slow, else 502.
func originFailure(detail string, err error) *failure {
	if errors.Is(err, context.DeadlineExceeded) {
		return &failure{status: fasthttp.StatusGatewayTimeout, detail: detail, cause: err}
	}
	return &failure{status: fasthttp.StatusBadGateway, detail: detail, cause: err}
}

// requestFailure is the answer when an origin request failed: the
// origin's answer could not be read as HTTP (bad framing, such as a
// Transfer-Encoding the edge does not know, RFC 9112 §6.1), or it could
// not be reached in time.
func requestFailure(err error) *failure {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "transfer encoding"), strings.Contains(msg, "Transfer-Encoding"),
		strings.Contains(msg, "Content-Length"):
		return originFailure("origin-bad-framing", err)
	case strings.Contains(msg, "malformed HTTP"):
		return originFailure("origin-bad-response", err)
	}
	return originFailure("origin-unreachable", err)
}

// fail answers f: the status, a one-line body, Cache-Status; it counts the
// answer by status and detail, and logs failures with a cause (not the
// client's mistakes), a few a second at most.
func (e *Edge) fail(ctx *fasthttp.RequestCtx, f *failure) {
	// ctx.Error resets the headers: everything else goes after it.
	ctx.Error(fasthttp.StatusMessage(f.status), f.status)
	ctx.Response.Header.Set("Cache-Status", "edge; detail="+f.detail)
	if f.status == fasthttp.StatusMethodNotAllowed {
		ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, HEAD")
	}
	if f.close {
		ctx.SetConnectionClose()
	}
	e.failures.WithLabelValues(strconv.Itoa(f.status), f.detail).Inc()
	if f.cause != nil {
		e.errLog.Do(func() {
			e.log.Warn("request failed", zap.Int("status", f.status), zap.String("detail", f.detail),
				zap.ByteString("host", ctx.Request.Header.Host()), zap.ByteString("uri", ctx.RequestURI()), zap.Error(f.cause))
		})
	}
}

// transportError answers requests fasthttp could not read.
func (e *Edge) transportError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var nerr net.Error
	switch {
	case errors.As(err, &small):
		e.fail(ctx, errHeaderTooBig)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		e.fail(ctx, errBodyTooBig)
	case errors.As(err, &nerr) && nerr.Timeout():
		e.fail(ctx, errClientTimeout)
	default:
		e.fail(ctx, errUnreadable)
	}
}
