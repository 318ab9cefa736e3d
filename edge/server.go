package edge

import (
	"fmt"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/edgecdn/edge/internal/pacing"
)

// ServerConfig bounds what one client connection may cost.
type ServerConfig struct {
	ReadTimeout time.Duration // default 10 s: headers (and small bodies) must arrive in it
	// WriteTimeout bounds each write of up to 256 KiB of a response
	// (default 60 s; internal/pacing), not the whole response: a slow
	// client is served whole, a stalled one is cut.
	WriteTimeout time.Duration
	IdleTimeout  time.Duration // default 60 s
	// MaxHeaderBytes caps the request line and headers (431 beyond); default 16 KiB.
	MaxHeaderBytes int
	// MaxBodyBytes caps request bodies passed to upstreams (413 beyond); default 8 MiB.
	MaxBodyBytes int
	// MaxConnsPerIP caps one client address's open connections (default
	// 512): one host cannot take every connection the server will hold.
	MaxConnsPerIP int
}

// NewServer wraps the edge in a fasthttp server with timeouts (no
// slowloris), header and body limits, and 431/413 for over-size requests.
func NewServer(e *Edge, sc ServerConfig) *fasthttp.Server {
	if sc.ReadTimeout <= 0 {
		sc.ReadTimeout = 10 * time.Second
	}
	if sc.WriteTimeout <= 0 {
		sc.WriteTimeout = 60 * time.Second
	}
	if sc.IdleTimeout <= 0 {
		sc.IdleTimeout = 60 * time.Second
	}
	if sc.MaxHeaderBytes <= 0 {
		sc.MaxHeaderBytes = 16 << 10
	}
	if sc.MaxBodyBytes <= 0 {
		sc.MaxBodyBytes = 8 << 20
	}
	if sc.MaxConnsPerIP <= 0 {
		sc.MaxConnsPerIP = 512
	}
	return &fasthttp.Server{
		Handler:                      pacing.Handler(e.ServeFastHTTP, sc.WriteTimeout),
		Logger:                       zapPrintf{e.log},
		ErrorHandler:                 e.transportError,
		Name:                         "edge",
		ReadBufferSize:               sc.MaxHeaderBytes,
		ReadTimeout:                  sc.ReadTimeout,
		WriteTimeout:                 sc.WriteTimeout,
		IdleTimeout:                  sc.IdleTimeout,
		MaxRequestBodySize:           sc.MaxBodyBytes,
		MaxConnsPerIP:                sc.MaxConnsPerIP,
		NoDefaultContentType:         true,
		NoDefaultDate:                true, // a stored response keeps its Date (serve.go)
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
	}
}

// zapPrintf routes fasthttp's connection-level messages (malformed
// requests, timeouts) to the edge's logger at debug level: they are the
// client's faults, answered already.
type zapPrintf struct{ log *zap.Logger }

func (z zapPrintf) Printf(format string, args ...any) {
	z.log.Debug("connection", zap.String("msg", fmt.Sprintf(format, args...)))
}
