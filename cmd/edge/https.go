package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/edgecdn/edge/certs"
	"github.com/edgecdn/edge/cmd/internal/serving"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/internal/filewatch"
)

// https is the edge's HTTPS listener and the certificates it serves.
type https struct {
	ln    net.Listener
	certs *certs.Manager
	port  int // the port bound
}

// openHTTPS loads the certificates of the sites with tls and binds
// tls_listen; nil when no site serves HTTPS or tls_listen is empty.
func openHTTPS(cfg config, listen listenFunc, log *zap.Logger) (*https, error) {
	var sites []certs.Site
	for _, s := range cfg.Sites {
		if t := s.TLS; t != nil {
			sites = append(sites, certs.Site{Hosts: s.Hosts, CertFile: t.CertFile, KeyFile: t.KeyFile, SelfSigned: t.SelfSigned})
		}
	}
	if len(sites) == 0 || cfg.TLSListen == "" {
		if len(sites) > 0 {
			log.Warn("sites have tls but tls_listen is empty: HTTPS is off")
		}
		return nil, nil
	}
	cm, err := certs.New(certs.Config{Sites: sites, Dir: filepath.Join(cfg.Data, "tls"), Logger: log})
	if err != nil {
		return nil, err
	}
	ln, err := listen("tcp", cfg.TLSListen)
	if err != nil {
		return nil, fmt.Errorf("tls listen: %w", err)
	}
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	port, _ := strconv.Atoi(p)
	return &https{ln: ln, certs: cm, port: port}, nil
}

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
