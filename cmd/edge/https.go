package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"go.uber.org/zap"

	"github.com/edgecdn/edge/certs"
	"github.com/edgecdn/edge/certs/redisstorage"
	"github.com/edgecdn/edge/cmd/internal/serving"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/internal/filewatch"
	"github.com/edgecdn/edge/purge/redisbus"
)

// https is the edge's HTTPS listener and the certificates it serves.
type https struct {
	ln    net.Listener
	certs *certs.Manager
	port  int       // the port bound
	redis io.Closer // ACME's shared storage client, if any
}

// close stops renewals and lets go of ACME's storage.
func (h *https) close() {
	h.certs.Close()
	if h.redis != nil {
		h.redis.Close()
	}
}

// openHTTPS loads the certificates of the sites with tls and binds
// tls_listen; nil when no site serves HTTPS or tls_listen is empty.
// httpPort is the plain HTTP listener's, where ACME's HTTP-01
// challenges are answered.
func openHTTPS(cfg config, listen listenFunc, httpPort int, log *zap.Logger) (*https, error) {
	var sites []certs.Site
	for _, s := range cfg.Sites {
		if t := s.TLS; t != nil {
			sites = append(sites, certs.Site{Hosts: s.Hosts, CertFile: t.CertFile, KeyFile: t.KeyFile, ACME: t.ACME, SelfSigned: t.SelfSigned})
			if t.ACME && cfg.ACME == nil {
				return nil, fmt.Errorf("site %v has tls: {acme: true}: configure the CA under acme: (ca, email)", s.Hosts)
			}
		}
	}
	if len(sites) == 0 || cfg.TLSListen == "" {
		for _, s := range cfg.Sites {
			if s.HTTPSRedirect && s.TLS != nil && cfg.HTTPSPort == 0 {
				return nil, fmt.Errorf("site %v has https_redirect but this edge serves no HTTPS: set tls_listen (or https_port, when another listener serves it)", s.Hosts)
			}
		}
		if cfg.ACME != nil && len(cfg.ACME.OnDemand) > 0 {
			return nil, errors.New("acme on_demand needs an HTTPS listener: set tls_listen and give a site tls")
		}
		if len(sites) > 0 {
			log.Warn("sites have tls but tls_listen is empty: HTTPS is off")
		}
		return nil, nil
	}
	ln, err := listen("tcp", cfg.TLSListen)
	if err != nil {
		return nil, fmt.Errorf("tls listen: %w", err)
	}
	port := portOf(ln.Addr())
	var acme *certs.ACME
	var closer io.Closer
	if a := cfg.ACME; a != nil {
		// ListenHost stays empty: certmagic's own bind of a challenge
		// port on every address then always fails against the edge's
		// listener, whatever address that has, and it relies on ours.
		acme = &certs.ACME{CA: a.CA, Email: a.Email, CARoot: a.CARoot, Challenges: a.Challenges, OnDemand: a.OnDemand,
			RenewCheckInterval: a.RenewCheckInterval, HTTPPort: httpPort, TLSPort: port}
		switch a.Storage {
		case "", "file":
		case "redis":
			// The bus's Redis: the edges share certificates, challenge
			// answers and the lock that makes one of them order each.
			if cfg.Redis == "" {
				ln.Close()
				return nil, errors.New("acme storage redis: give redis (the purge bus's Redis URL), which the edges share")
			}
			client, err := redisbus.NewClient(redisbus.Config{URL: cfg.Redis, TLSCAFile: cfg.RedisTLSCA})
			if err != nil {
				ln.Close()
				return nil, fmt.Errorf("acme storage: %w", err)
			}
			acme.Storage = redisstorage.New(client, "")
			closer = client
		default:
			ln.Close()
			return nil, fmt.Errorf("acme storage %q: use file (the data directory, one edge) or redis (shared by the edges)", a.Storage)
		}
	}
	cm, err := certs.New(certs.Config{Sites: sites, Dir: filepath.Join(cfg.Data, "tls"), ACME: acme, Logger: log})
	if err != nil {
		ln.Close()
		if closer != nil {
			closer.Close()
		}
		return nil, err
	}
	return &https{ln: ln, certs: cm, port: port, redis: closer}, nil
}

func portOf(a net.Addr) int {
	_, p, _ := net.SplitHostPort(a.String())
	port, _ := strconv.Atoi(p)
	return port
}

// answerChallenges puts ACME's HTTP-01 answers in front of the plain
// HTTP server's handler; a request under the challenge path that is no
// challenge of ours goes to the edge like any other (a site may serve
// such files itself).
func (h *https) answerChallenges(srv *fasthttp.Server) {
	inner := srv.Handler
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		if bytes.HasPrefix(ctx.Path(), []byte(acmeChallengePath)) && h.answerChallenge(ctx) {
			return
		}
		inner(ctx)
	}
}

// answerChallenge answers ctx if it is one of ACME's HTTP-01 challenges.
func (h *https) answerChallenge(ctx *fasthttp.RequestCtx) bool {
	var r http.Request
	if err := fasthttpadaptor.ConvertRequest(ctx, &r, true); err != nil {
		return false
	}
	w := &challengeWriter{header: http.Header{}}
	if !h.certs.HandleHTTPChallenge(w, &r) {
		return false
	}
	for k, vs := range w.header {
		for _, v := range vs {
			ctx.Response.Header.Add(k, v)
		}
	}
	ctx.SetStatusCode(cmp.Or(w.status, http.StatusOK))
	ctx.SetBody(w.body.Bytes())
	return true
}

// challengeWriter keeps what certmagic writes of a challenge's answer.
type challengeWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *challengeWriter) Header() http.Header         { return w.header }
func (w *challengeWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *challengeWriter) WriteHeader(status int)      { w.status = status }

// acmeChallengePath is where an ACME CA asks for HTTP-01 answers.
const acmeChallengePath = "/.well-known/acme-challenge/"

// serve runs the HTTPS server in the group, over the edge's handler.
func (h *https) serve(servers *serving.Group, ed *edge.Edge, sc edge.ServerConfig) {
	srv := edge.NewServer(ed, sc)
	tlsConfig := h.certs.TLSConfig()
	servers.Go("edge-https", h.ln, func(ln net.Listener) error { return srv.Serve(tls.NewListener(ln, tlsConfig)) }, srv.ShutdownWithContext)
}

// watch reloads the certificate files when they change, until ctx ends.
func (h *https) watch(ctx context.Context, log *zap.Logger) {
	err := filewatch.Watch(ctx, h.certs.Files(), func() { h.certs.Reload() }, // refusals are logged and counted
		func(err error) { log.Warn("watching certificate files", zap.Error(err)) })
	if err != nil {
		log.Warn("certificate files are not watched for changes: reload them with SIGHUP", zap.Error(err))
	}
}

// collectors are the certificate reload metrics.
func (h *https) collectors() []prometheus.Collector {
	stat := func(i int) func() float64 {
		return func() float64 {
			reloads, refused, last := h.certs.Stats()
			return [...]float64{float64(reloads), float64(refused), b2f(last != "")}[i]
		}
	}
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edge_tls_certificate_reloads_total", Help: "Reloads of the sites' certificate files (changes, SIGHUP)."}, stat(0)),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edge_tls_certificate_reload_errors_total", Help: "Certificate reloads refused; the previous certificates stayed in use."}, stat(1)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edge_tls_certificate_reload_failing", Help: "1 while the last certificate reload was refused."}, stat(2)),
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
