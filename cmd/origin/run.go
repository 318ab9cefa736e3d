package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/edgecdn/edge/cmd/internal/logging"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
)

// run is the whole program: flags, config, store, S3 server, and a clean
// shutdown when ctx ends. ready, when set, receives the bound address.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("origin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML config file")
	listen := fs.String("listen", "", "address to serve the S3 API on (default :9000)")
	dataDir := fs.String("data", "", "data directory (default ./data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := defaultConfig()
	if *configPath != "" {
		if err := loadConfig(*configPath, &cfg); err != nil {
			return err
		}
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *dataDir != "" {
		cfg.Data = *dataDir
	}
	if id := os.Getenv("EDGE_ACCESS_KEY_ID"); id != "" {
		cfg.AccessKeyID, cfg.SecretAccessKey = id, os.Getenv("EDGE_SECRET_ACCESS_KEY")
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log, err := logging.New(cfg.LogLevel, stderr)
	if err != nil {
		return err
	}
	defer log.Sync()

	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	keys := s3.Keys{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey}
	if keys.AccessKeyID == "" {
		var created bool
		if keys, created, err = s3.LoadOrCreateKeys(cfg.Data); err != nil {
			return err
		}
		if created {
			fmt.Fprintf(stdout, "Generated S3 credentials (saved in %s/%s, shown once):\n  access key id:     %s\n  secret access key: %s\n",
				cfg.Data, s3.KeysFile, keys.AccessKeyID, keys.SecretAccessKey)
		}
	}

	store, err := origin.Open(cfg.Data, &origin.Options{MaxObjectSize: cfg.MaxObjectSize})
	if err != nil {
		return err
	}
	defer store.Close()
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
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving the S3 API", zap.String("addr", ln.Addr().String()), zap.String("data", cfg.Data))
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	start := time.Now()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.ShutdownWithContext(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown", zap.Error(err))
	}
	log.Info("stopped", zap.Duration("took", time.Since(start)))
	return nil
}
