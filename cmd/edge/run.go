package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/edgecdn/edge/cmd/internal/cliflags"
	"github.com/edgecdn/edge/cmd/internal/logging"
	"github.com/edgecdn/edge/cmd/internal/s3keys"
	"github.com/edgecdn/edge/cmd/internal/serving"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
	"github.com/edgecdn/edge/purge"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// addrs are the bound addresses, for tests that listen on port 0.
type addrs struct{ Edge, HTTPS, Admin, S3 string }

// shutdownTimeout bounds each server's requests in flight when the
// process stops.
const shutdownTimeout = 10 * time.Second

// listenFunc binds a server's address: net.Listen, but for tests.
type listenFunc func(network, address string) (net.Listener, error)

// run is the whole program: flags, config, store, S3 API, edge, admin,
// until ctx ends or a server fails, then a shutdown in reverse order.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addrs)) error {
	return runListening(ctx, args, stdout, stderr, ready, net.Listen)
}

func runListening(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addrs), listen listenFunc) error {
	cfg := defaultConfig()
	flags := cliflags.New("edge", "YAML config file (sites, limits)", stderr)
	flags.String("listen", "edge address (default :8080)", &cfg.Listen)
	flags.StringOrNone("tls-listen", "HTTPS address of the sites with tls (default :8443; empty: none)", &cfg.TLSListen)
	flags.String("admin", "admin address: /healthz, /readyz, /metrics, the purge API (default 127.0.0.1:8081)", &cfg.Admin)
	flags.StringOrNone("s3", "embedded S3 API address (default :9000; empty: none)", &cfg.S3)
	flags.String("data", "data directory of the embedded store (default ./data)", &cfg.Data)
	flags.String("origin", "remote S3-compatible or HTTP origin URL instead of the embedded store", &cfg.Origin)
	flags.String("redis", "purge bus: redis:// URL shared with the origin and the other edges", &cfg.Redis)
	configPath, err := flags.Parse(args, func(path string) error { return loadConfig(path, &cfg) })
	if err != nil {
		return err
	}
	log, level, err := logging.New(cfg.LogLevel, cfg.LogFormat, stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	if cfg.GOMAXPROCS < 0 {
		return fmt.Errorf("gomaxprocs is %d: give the number of cores to run on, or 0 for all the process may use", cfg.GOMAXPROCS)
	}
	if cfg.GOMAXPROCS > 0 {
		runtime.GOMAXPROCS(cfg.GOMAXPROCS)
	}

	// The origin: the embedded store, or a remote endpoint.
	var o edge.Origin
	var store *origin.Engine
	var purger atomic.Pointer[edge.Edge]
	var outbox atomic.Pointer[purge.OutboxPublisher]
	if cfg.Origin != "" {
		u, err := url.Parse(cfg.Origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-origin %q: give an http:// or https:// URL", cfg.Origin)
		}
		ep := edge.S3Endpoint{URL: cfg.Origin, Region: cfg.OriginRegion, VirtualHosted: cfg.OriginVirtualHosted,
			AccessKeyID: os.Getenv("EDGE_ORIGIN_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("EDGE_ORIGIN_SECRET_ACCESS_KEY")}
		if o, err = edge.NewS3Origin(ep, nil); err != nil {
			return fmt.Errorf("-origin: %w (EDGE_ORIGIN_ACCESS_KEY_ID and EDGE_ORIGIN_SECRET_ACCESS_KEY)", err)
		}
		if configPath == "" {
			// No sites configured: the default site proxies the origin
			// path for path (for an S3 endpoint, /<bucket>/<key>).
			cfg.Sites = []edge.Site{{Hosts: cfg.Sites[0].Hosts, Upstream: cfg.Origin}}
		}
	} else {
		store, err = origin.Open(cfg.Data, &origin.Options{Sink: origin.EventSinkFunc(func(ev origin.Event) {
			if e := purger.Load(); e != nil {
				e.ApplyEvent(ev) // read-your-writes: purged before the write returns
			}
			if p := outbox.Load(); p != nil {
				p.Notify() // and to the other edges, off the write path
			}
		})})
		if err != nil {
			return err
		}
		defer store.Close()
		o = edge.FromStore(store)
	}

	// The edge's ports bind before it is built: a redirect names the
	// HTTPS port, and ACME answers challenges on both.
	edgeLn, err := listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("edge listen: %w", err)
	}
	defer edgeLn.Close() // when a later step fails; closing it twice does no harm
	tlsSrv, err := openHTTPS(cfg, listen, portOf(edgeLn.Addr()), log)
	if err != nil {
		return err
	}
	httpsPort := cfg.HTTPSPort
	if tlsSrv != nil {
		defer tlsSrv.close()
		defer tlsSrv.ln.Close() // when a later step fails; closing it twice does no harm
		if httpsPort == 0 {
			httpsPort = tlsSrv.port
		}
	}
	ed, err := edge.New(edge.Config{
		HTTPSPort: httpsPort,
		Sites:     cfg.Sites, CacheBytes: cfg.CacheBytes, MaxObjectSize: cfg.MaxObjectSize,
		VaryKeys: cfg.VaryKeys, TooBigKeys: cfg.TooBigKeys,
		Logger: log, AccessLogEvery: cfg.AccessLogEvery,
	}, o)
	if err != nil {
		return err
	}
	// Policy files reload when they change and on SIGHUP; a file that
	// does not load leaves the previous policy in force (edge.ReloadPolicies).
	watchCtx, stopWatching := context.WithCancel(ctx)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		if err := ed.WatchPolicies(watchCtx); err != nil {
			log.Warn("policy files are not watched for changes: reload them with SIGHUP", zap.Error(err))
		}
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-watchCtx.Done():
				return
			case <-hup:
				ed.ReloadPolicies() // logged and shown on /readyz when refused
				if tlsSrv != nil {
					tlsSrv.certs.Reload() // logged and counted when refused
				}
			}
		}
	}()
	if tlsSrv != nil {
		certsWatched := make(chan struct{})
		go func() { defer close(certsWatched); tlsSrv.watch(watchCtx, log) }()
		defer func() { <-certsWatched }() // after stopWatching, below
	}
	defer func() { signal.Stop(hup); stopWatching(); <-watching }()
	servers := serving.New(log)
	defer func() {
		if !servers.Drained() {
			log.Warn("requests still running at exit: the cache is left open for them")
			return
		}
		ed.Close() // after the servers and the purge machinery
	}()
	purger.Store(ed)

	// The purge bus, its publishers and subscriber, and the purge API;
	// they stop when run returns, after the servers and before the edge.
	pb, err := startPurging(cfg, ed, store, log, stdout)
	if err != nil {
		return err
	}
	defer pb.stop()
	if pb.outbox != nil {
		outbox.Store(pb.outbox)
	}

	// The admin port starts first and stops last: while traffic drains,
	// /readyz answers 503.
	var stopping atomic.Bool
	pb.admin.Ready = func() error {
		if stopping.Load() {
			return errors.New("shutting down")
		}
		return ed.Ready()
	}
	var bound addrs
	defer servers.Shutdown(shutdownTimeout) // when a later step fails
	adminLn, err := listen("tcp", cfg.Admin)
	if err != nil {
		return fmt.Errorf("admin listen: %w", err)
	}
	if tlsSrv != nil {
		pb.admin.Collectors = append(pb.admin.Collectors, tlsSrv.collectors()...)
	}
	pb.admin.LogLevel = level
	pb.admin.Profiling = cfg.AdminPprof
	pb.admin.Collectors = append(pb.admin.Collectors, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var s3h *s3.Handler // the embedded store's S3 API, when it has one
	if store != nil {
		if err := origin.EnsureBuckets(ctx, store, cfg.PublicBuckets); err != nil {
			return err
		}
		if cfg.S3 != "" {
			if s3h, err = newS3(store, cfg, log, stdout); err != nil {
				return err
			}
			pb.admin.Collectors = append(pb.admin.Collectors, s3h.Collectors()...)
		}
	}
	if pb.outbox != nil {
		pb.admin.Collectors = append(pb.admin.Collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edge_purge_outbox_backlog", Help: "The embedded store's committed changes the purge bus has not carried yet.",
		}, func() float64 { return float64(pb.outbox.Backlog()) }))
	}
	adminSrv := &http.Server{Handler: ed.AdminHandler(pb.admin), ReadHeaderTimeout: 5 * time.Second}
	servers.Go("admin", adminLn, adminSrv.Serve, adminSrv.Shutdown)
	bound.Admin = adminLn.Addr().String()

	if s3h != nil {
		if bound.S3, err = serveS3(servers, listen, s3h, cfg); err != nil {
			return err
		}
	}
	edgeSrv := edge.NewServer(ed, edge.ServerConfig{MaxConnsPerIP: cfg.MaxConnsPerIP})
	if tlsSrv != nil && tlsSrv.certs.ACME() {
		tlsSrv.answerChallenges(edgeSrv)
	}
	servers.Go("edge", edgeLn, edgeSrv.Serve, edgeSrv.ShutdownWithContext)
	bound.Edge = edgeLn.Addr().String()
	if tlsSrv != nil {
		tlsSrv.serve(servers, ed, edge.ServerConfig{MaxConnsPerIP: cfg.MaxConnsPerIP})
		bound.HTTPS = tlsSrv.ln.Addr().String()
		// Certificates are ordered once the CA's challenges can be
		// answered; renewals stop with the process.
		// Its own context: its orders end before the certificates close,
		// whatever ends run.
		acmeCtx, stopACME := context.WithCancel(context.Background())
		defer stopACME() // deferred after close: runs before it
		if err := tlsSrv.certs.StartACME(acmeCtx); err != nil {
			return fmt.Errorf("acme: %w", err)
		}
	}

	log.Info("edge serving", zap.Int("gomaxprocs", runtime.GOMAXPROCS(0)), zap.String("edge", bound.Edge), zap.String("https", bound.HTTPS), zap.String("admin", bound.Admin), zap.String("s3", bound.S3), zap.String("data", cfg.Data))
	fmt.Fprintf(stdout, "edge on %s, HTTPS on %s, admin on %s, S3 API on %s\n", bound.Edge, orNone(bound.HTTPS), bound.Admin, orNone(bound.S3))
	if ready != nil {
		ready(bound)
	}
	failed := servers.Wait(ctx)
	if failed != nil {
		log.Error("a server stopped; shutting down the others", zap.Error(failed))
	}
	stopping.Store(true)
	if failed == nil && cfg.ShutdownDelay > 0 {
		// Load balancers see /readyz fail and stop sending traffic
		// before the edge port closes.
		log.Info("shutting down: /readyz answers 503 while traffic drains", zap.Duration("shutdown_delay", cfg.ShutdownDelay))
		time.Sleep(cfg.ShutdownDelay)
	}
	servers.Shutdown(shutdownTimeout)
	return failed
}

// newS3 is the embedded store's S3 API; with no keys configured it uses
// (and on first start creates and prints) the data directory's pair.
func newS3(store *origin.Engine, cfg config, log *zap.Logger, stdout io.Writer) (*s3.Handler, error) {
	keys, err := s3keys.Resolve(s3.Keys{}, cfg.Data, stdout)
	if err != nil {
		return nil, err
	}
	return s3.New(store, s3.Config{
		Region:        cfg.Region,
		Credentials:   map[string]string{keys.AccessKeyID: keys.SecretAccessKey},
		PublicBuckets: cfg.PublicBuckets,
		Logger:        log,
	})
}

// serveS3 starts the S3 API on cfg.S3.
func serveS3(servers *serving.Group, listen listenFunc, h *s3.Handler, cfg config) (string, error) {
	ln, err := listen("tcp", cfg.S3)
	if err != nil {
		return "", fmt.Errorf("s3 listen: %w", err)
	}
	srv := s3.NewServer(h, s3.ServerConfig{})
	servers.Go("s3", ln, srv.Serve, srv.ShutdownWithContext)
	return ln.Addr().String(), nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
