// Package s3 serves an origin.Store over the S3 REST API with fasthttp:
// path-style and virtual-hosted-style requests, AWS Signature V4
// (headers, presigned URLs, aws-chunked payloads), flexible checksums, and
// S3's XML documents and error codes.
package s3

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/edgecdn/edge/internal/pacing"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3/sigv4"
)

// Config configures a Handler. The zero value serves path-style requests
// to nobody: set Credentials or PublicBuckets.
type Config struct {
	// Region is what GetBucketLocation answers and SigV4 scopes must name
	// (besides "us-east-1" and "auto", which clients use by default).
	Region string
	// BaseDomain enables virtual-hosted-style requests: Host
	// <bucket>.<BaseDomain> addresses the bucket.
	BaseDomain string
	// Credentials maps access key ids to secret keys.
	Credentials map[string]string
	// PublicBuckets may be read (GET, HEAD, LIST) without a signature.
	PublicBuckets []string
	// MaxXMLBody caps request documents (DeleteObjects, Complete…); default 2 MiB.
	MaxXMLBody int64
	// Logger receives one line per request; nil logs nothing.
	Logger *zap.Logger
	// Now is the clock for signature checks (default time.Now).
	Now func() time.Time
}

// Handler serves the S3 API for one store.
type Handler struct {
	store    origin.Store
	cfg      Config
	verifier *sigv4.Verifier
	public   map[string]bool
	log      *zap.Logger
	requests atomic.Uint64
	metrics  *metrics
}

type credentials map[string]string

func (c credentials) SecretKey(id string) (string, bool) {
	s, ok := c[id]
	return s, ok
}

// New returns a Handler serving store.
func New(store origin.Store, cfg Config) (*Handler, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MaxXMLBody <= 0 {
		cfg.MaxXMLBody = 2 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	for id, secret := range cfg.Credentials {
		if id == "" || secret == "" {
			return nil, fmt.Errorf("s3: credentials need a non-empty access key id and secret")
		}
	}
	h := &Handler{
		metrics: newMetrics(),
		store:   store,
		cfg:     cfg,
		public:  make(map[string]bool),
		log:     cfg.Logger,
		verifier: &sigv4.Verifier{
			Creds:         credentials(cfg.Credentials),
			AcceptRegions: []string{cfg.Region, "us-east-1", "auto"},
			Service:       "s3",
			Now:           cfg.Now,
		},
	}
	for _, b := range cfg.PublicBuckets {
		h.public[b] = true
	}
	return h, nil
}

// ServerConfig bounds what one connection may cost the server.
type ServerConfig struct {
	// ReadTimeout bounds the wait for a request's headers from its first
	// byte, and each 256 KiB of its body (default 5 min): a slow upload of
	// any size arrives, a client that stops sending is answered
	// RequestTimeout, as S3 does.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write of up to 256 KiB of a response
	// (default 5 min): an object of any size reaches a slow client, one
	// that stops reading is cut.
	WriteTimeout time.Duration
	IdleTimeout  time.Duration // default 60 s
	// MaxHeaderBytes caps the request line and headers (431 beyond); default 16 KiB.
	MaxHeaderBytes int
	// MaxConnsPerIP caps one client address's open connections (default 512).
	MaxConnsPerIP int
}

// NewServer wraps h in a fasthttp server with streamed request bodies,
// timeouts against slow clients, and S3 errors for transport failures.
func NewServer(h *Handler, sc ServerConfig) *fasthttp.Server {
	if sc.ReadTimeout <= 0 {
		sc.ReadTimeout = 5 * time.Minute
	}
	if sc.WriteTimeout <= 0 {
		sc.WriteTimeout = 5 * time.Minute
	}
	if sc.IdleTimeout <= 0 {
		sc.IdleTimeout = 60 * time.Second
	}
	if sc.MaxHeaderBytes <= 0 {
		sc.MaxHeaderBytes = 16 << 10
	}
	if sc.MaxConnsPerIP <= 0 {
		sc.MaxConnsPerIP = 512
	}
	return &fasthttp.Server{
		Handler:                      pacing.Handler(func(ctx *fasthttp.RequestCtx) { h.handle(ctx, sc.ReadTimeout) }, sc.WriteTimeout),
		ErrorHandler:                 h.transportError,
		Name:                         "edge-origin",
		ReadBufferSize:               sc.MaxHeaderBytes,
		ReadTimeout:                  sc.ReadTimeout,
		WriteTimeout:                 sc.WriteTimeout,
		IdleTimeout:                  sc.IdleTimeout,
		MaxRequestBodySize:           4 << 20, // bodies beyond this are streamed, not buffered
		MaxConnsPerIP:                sc.MaxConnsPerIP,
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
	}
}

// transportError answers requests fasthttp could not parse.
func (h *Handler) transportError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	api := errInvalidRequest.withMessage("The request could not be parsed: " + err.Error())
	switch {
	case errors.As(err, &small):
		api = errRequestHeaderTooLarge
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		api = errMaxMessageLength
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		api = errRequestTimeout
	}
	h.writeError(ctx, "", api, "")
	ctx.SetConnectionClose()
}

// ServeFastHTTP serves one S3 request.
func (h *Handler) ServeFastHTTP(ctx *fasthttp.RequestCtx) { h.handle(ctx, 0) }

// handle serves one S3 request; its body may wait readTimeout for each
// 256 KiB from the client (pacing.Request; no bound of its own when 0).
func (h *Handler) handle(ctx *fasthttp.RequestCtx, readTimeout time.Duration) {
	start := time.Now()
	r := &request{ctx: ctx, id: strconv.FormatUint(h.requests.Add(1), 16), readTimeout: readTimeout}
	ctx.Response.Header.Set("x-amz-request-id", r.id)
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic serving request", zap.String("request_id", r.id), zap.Any("panic", p), zap.Stack("stack"))
			ctx.Response.Reset()
			h.writeError(ctx, r.id, errInternal, string(ctx.URI().PathOriginal()))
			ctx.SetConnectionClose()
		}
		h.logRequest(r, start)
		h.metrics.observe(r, start)
	}()
	if err := h.serve(r); err != nil {
		h.fail(r, err)
	}
}

func (h *Handler) logRequest(r *request, start time.Time) {
	ce := h.log.Check(zap.InfoLevel, "s3 request")
	if ce == nil {
		return
	}
	ce.Write(
		zap.String("request_id", r.id),
		zap.String("op", r.op),
		zap.String("bucket", r.bucket),
		zap.String("key", r.key),
		zap.Int("status", r.ctx.Response.StatusCode()),
		zap.Int64("bytes_in", r.bytesIn),
		zap.Int("bytes_out", r.ctx.Response.Header.ContentLength()),
		zap.Duration("dur", time.Since(start)),
	)
}

// fail answers r with the S3 error for err.
func (h *Handler) fail(r *request, err error) {
	api := errorFor(err)
	if api.Status >= 500 {
		h.log.Error("s3 request failed", zap.String("request_id", r.id), zap.String("op", r.op), zap.Error(err))
	} else if detail := errorDetail(err); detail != "" && api.Status == 400 {
		api.Message = strings.TrimSuffix(api.Message, ".") + ": " + detail + "."
	}
	if api == errNotModified {
		r.ctx.SetStatusCode(api.Status)
		return
	}
	doc := errorResponse{Resource: string(r.ctx.URI().PathOriginal()), RequestID: r.id}
	var sig *sigv4.Error
	if errors.As(err, &sig) {
		doc.Region = sig.Region
	}
	h.writeErrorDoc(r.ctx, api, doc)
	r.drainBody()
}

// maxDrain is how much of an unread request body a failed request still
// reads so the client sees its error: closing a socket with unread data
// makes the kernel send a reset, and the client loses the response.
const maxDrain = 64 << 20

// drainBody discards what the client is still sending after an early
// rejection; a body larger than maxDrain ends the connection instead.
func (r *request) drainBody() {
	stream := r.ctx.RequestBodyStream()
	if stream == nil {
		return
	}
	if _, err := io.CopyN(io.Discard, stream, maxDrain); err != io.EOF {
		r.ctx.SetConnectionClose()
	}
}

// errorDetail says precisely what was wrong with a request, when the error
// knows more than its S3 code does.
func errorDetail(err error) string {
	var api apiError
	var sig *sigv4.Error
	var oe *origin.Error
	switch {
	case errors.As(err, &api):
		return "" // its message is already specific
	case errors.Is(err, sigv4.ErrUnsupportedAuth):
		// Clients that probe for Signature V2 match S3's exact words to
		// fall back to V4.
		return ""
	case errors.As(err, &sig):
		return sig.Detail
	case errors.As(err, &oe):
		if errors.Unwrap(oe.Err) != nil { // a sentinel wrapped with particulars
			return oe.Err.Error()
		}
	}
	return ""
}

func (h *Handler) writeError(ctx *fasthttp.RequestCtx, id string, api apiError, resource string) {
	h.writeErrorDoc(ctx, api, errorResponse{Resource: resource, RequestID: id})
}

// writeErrorDoc answers with api's status and an Error document: doc with
// api's code and message.
func (h *Handler) writeErrorDoc(ctx *fasthttp.RequestCtx, api apiError, doc errorResponse) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(api.Status)
	if api.Status == fasthttp.StatusMethodNotAllowed {
		ctx.Response.Header.Set("Allow", "GET, HEAD, PUT, POST, DELETE")
	}
	if ctx.IsHead() {
		return // a HEAD response has no body to carry the document
	}
	doc.Code, doc.Message = api.Code, api.Message
	writeXML(ctx, api.Status, doc)
}
