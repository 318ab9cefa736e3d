package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/edgecdn/edge/cmd/internal/cliflags"
	"github.com/edgecdn/edge/cmd/internal/logging"
	"github.com/edgecdn/edge/cmd/internal/s3keys"
	"github.com/edgecdn/edge/cmd/internal/serving"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
	"github.com/edgecdn/edge/purge"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// run is the whole program: flags, config, store, S3 server, and a clean
// shutdown when ctx ends. ready, when set, receives the bound address.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) error {
	cfg := defaultConfig()
	flags := cliflags.New("origin", "YAML config file", stderr)
	flags.String("listen", "address to serve the S3 API on (default :9000)", &cfg.Listen)
	flags.String("admin", "address for /healthz and /metrics (default: none)", &cfg.Admin)
	flags.String("data", "data directory (default ./data)", &cfg.Data)
	flags.String("region", "the region SigV4 scopes name (default us-east-1; \"auto\" is always accepted)", &cfg.Region)
	flags.String("redis", "purge bus: publish every write to this redis:// URL, where the edges subscribe", &cfg.Redis)
	if _, err := flags.Parse(args, func(path string) error { return loadConfig(path, &cfg) }); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log, level, err := logging.New(cfg.LogLevel, cfg.LogFormat, stderr)
	if err != nil {
		return err
	}
	defer log.Sync()

	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	keys, err := s3keys.Resolve(s3.Keys{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey}, cfg.Data, stdout)
	if err != nil {
		return err
	}

	bus, err := cfg.Config.Open(log)
	if err != nil {
		return err
	}
	var publisher atomic.Pointer[purge.OutboxPublisher]
	store, err := origin.Open(cfg.Data, &origin.Options{MaxObjectSize: cfg.MaxObjectSize, Sink: origin.EventSinkFunc(func(origin.Event) {
		if p := publisher.Load(); p != nil {
			p.Notify() // publish at once; the write does not wait for it
		}
	})})
	if err != nil {
		return err
	}
	defer store.Close()
	bg, stopBG := context.WithCancel(context.Background())
	published := make(chan struct{})
	if bus != nil {
		p := purge.NewOutboxPublisher(bus, store, purge.OutboxConfig{Logger: log})
		publisher.Store(p)
		go func() {
			defer close(published)
			if err := p.Run(bg); err != nil {
				log.Error("purge publisher stopped", zap.Error(err))
			}
		}()
		log.Info("publishing writes on the purge bus", zap.String("publisher", p.ID()))
	} else {
		close(published)
	}
	defer func() {
		stopBG()
		<-published
		if bus != nil {
			bus.Close()
		}
	}()
	if err := origin.EnsureBuckets(ctx, store, cfg.PublicBuckets); err != nil {
		return err
	}
	handler, err := s3.New(store, s3.Config{
		Region:        cfg.Region,
		BaseDomain:    cfg.BaseDomain,
		Credentials:   map[string]string{keys.AccessKeyID: keys.SecretAccessKey},
		PublicBuckets: cfg.PublicBuckets,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := s3.NewServer(handler, s3.ServerConfig{})
	servers := serving.New(log)
	defer servers.Shutdown(10 * time.Second)
	if cfg.Admin != "" {
		adminLn, err := net.Listen("tcp", cfg.Admin)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin listen: %w", err)
		}
		adminSrv := &http.Server{Handler: adminHandler(handler, publisher.Load(), level), ReadHeaderTimeout: 5 * time.Second}
		servers.Go("admin", adminLn, adminSrv.Serve, adminSrv.Shutdown)
		log.Info("serving the admin port", zap.String("addr", adminLn.Addr().String()))
	}
	servers.Go("s3", ln, srv.Serve, srv.ShutdownWithContext)
	log.Info("serving the S3 API", zap.String("addr", ln.Addr().String()), zap.String("data", cfg.Data))
	if ready != nil {
		ready(ln.Addr().String())
	}
	return servers.Wait(ctx)
}

// adminHandler serves /healthz, /loglevel (GET; PUT {"level":"debug"})
// and /metrics: the S3 API's requests, time and bytes, and the outbox's
// backlog when writes are published.
func adminHandler(h *s3.Handler, p *purge.OutboxPublisher, level http.Handler) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(h.Collectors()...)
	if p != nil {
		reg.MustRegister(outboxBacklog(p))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/loglevel", level)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

// outboxBacklog is the committed changes not yet on the bus.
func outboxBacklog(p *purge.OutboxPublisher) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "purge_outbox_backlog", Help: "Committed changes the purge bus has not carried yet."},
		func() float64 { return float64(p.Backlog()) })
}
