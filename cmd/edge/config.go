package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/edgecdn/edge/cmd/internal/busconfig"
	"github.com/edgecdn/edge/cmd/internal/yamlfile"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/purge"
)

// config is the edge's YAML file; flags override its fields.
type config struct {
	Listen string `yaml:"listen"`
	// TLSListen serves the sites with tls over HTTPS (default :8443;
	// empty: no HTTPS). HTTPSPort is the port clients reach it on, for
	// https_redirect, when that is not the port bound (a port mapping).
	TLSListen string `yaml:"tls_listen"`
	HTTPSPort int    `yaml:"https_port"`
	Admin     string `yaml:"admin"`
	S3        string `yaml:"s3"`
	Data      string `yaml:"data"`
	Region    string `yaml:"region"`
	Origin    string `yaml:"origin"`
	// OriginRegion and OriginVirtualHosted describe the -origin endpoint
	// when it is S3; its key pair comes from EDGE_ORIGIN_ACCESS_KEY_ID and
	// EDGE_ORIGIN_SECRET_ACCESS_KEY only, never from a file.
	OriginRegion        string `yaml:"origin_region"`
	OriginVirtualHosted bool   `yaml:"origin_virtual_hosted"`
	CacheBytes          int64  `yaml:"cache_bytes"`
	MaxObjectSize       int64  `yaml:"max_object_size"`
	VaryKeys            int    `yaml:"vary_keys"`
	TooBigKeys          int    `yaml:"too_big_keys"`
	AccessLogEvery      uint64 `yaml:"access_log_every"`
	MaxConnsPerIP       int    `yaml:"max_conns_per_ip"`
	LogLevel            string `yaml:"log_level"`
	LogFormat           string `yaml:"log_format"` // json (default) or console
	// AdminPprof serves Go's profiles on the admin port (/debug/pprof/).
	AdminPprof bool `yaml:"admin_pprof"`
	// GOMAXPROCS is how many cores run Go code at once (0: every core the
	// process may use, Go's default). Fewer than the machine has shortens
	// the tail when the edge shares its cores with other busy processes.
	GOMAXPROCS    int         `yaml:"gomaxprocs"`
	PublicBuckets []string    `yaml:"public_buckets"`
	Sites         []edge.Site `yaml:"sites"`

	busconfig.Config `yaml:",inline"`
	// BusSilence is how long without an origin heartbeat makes the bus
	// unhealthy (default 500ms).
	BusSilence time.Duration `yaml:"bus_silence"`
	// AllowUnboundedStaleness lets purge-mode sites run without a bus
	// that carries the origin's writes: they then act as ttl sites.
	AllowUnboundedStaleness bool `yaml:"allow_unbounded_staleness"`
	// ShutdownDelay is how long /readyz answers 503 on SIGTERM before the
	// edge stops accepting: a load balancer's probe interval (default 0).
	ShutdownDelay time.Duration `yaml:"shutdown_delay"`
	Purge         purgeConfig   `yaml:"purge"`
	// ACME orders the certificates of the sites with tls: {acme: true}.
	ACME *acmeConfig `yaml:"acme"`
}

// acmeConfig is the ACME CA the sites' certificates come from (certs.ACME).
type acmeConfig struct {
	// CA is the directory URL (default Let's Encrypt's production;
	// https://acme-staging-v02.api.letsencrypt.org/directory to try).
	CA    string `yaml:"ca"`
	Email string `yaml:"email"`
	// CARoot trusts a private CA's root for its API (a PEM file).
	CARoot     string   `yaml:"ca_root"`
	Challenges []string `yaml:"challenges"`
	// OnDemand lists names (or *.domain) allowed a certificate ordered at
	// their first handshake; empty: only the sites' hosts get any.
	OnDemand []string `yaml:"on_demand"`
	// Storage is "file" (the data directory; default) or "redis" (the
	// purge bus's Redis, shared by the edges, with the ACME lock).
	Storage string `yaml:"storage"`
	// RenewCheckInterval is how often renewals are considered (default
	// 10 minutes).
	RenewCheckInterval time.Duration `yaml:"renew_check_interval"`
}

// purgeConfig is the purge API's part of the config.
type purgeConfig struct {
	// Tokens may call the API; with none, one comes from EDGE_PURGE_TOKEN
	// or is generated into the data directory at first start.
	Tokens []purge.Token `yaml:"tokens"`
	// Rate and Burst limit each token (calls a second; default 10 and 20).
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// defaultConfig is the all-in-one that make run starts (ARCHITECTURE.md):
// Host localhost or 127.0.0.1 serves bucket "public", which anyone may read.
func defaultConfig() config {
	return config{
		Listen: ":8080", TLSListen: ":8443", Admin: "127.0.0.1:8081", S3: ":9000", Data: "./data", Region: "us-east-1", LogLevel: "info",
		AccessLogEvery: 100, PublicBuckets: []string{"public"},
		Sites: []edge.Site{{Hosts: []string{"localhost", "127.0.0.1"}, Bucket: "public", TLS: &edge.SiteTLS{SelfSigned: true}}},
	}
}

func loadConfig(path string, cfg *config) error {
	cfg.Sites = nil // the file's sites replace the default one
	if err := yamlfile.Decode(path, cfg); err != nil {
		return err
	}
	if len(cfg.Sites) == 0 {
		return fmt.Errorf("config %s: list at least one site under sites: (hosts and bucket or upstream)", path)
	}
	if cfg.ACME != nil && cfg.ACME.CARoot != "" && !filepath.IsAbs(cfg.ACME.CARoot) {
		cfg.ACME.CARoot = filepath.Join(filepath.Dir(path), cfg.ACME.CARoot)
	}
	for i := range cfg.Sites {
		// Policy and certificate files are found beside the config that
		// names them.
		beside := func(p *string) {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(filepath.Dir(path), *p)
			}
		}
		beside(&cfg.Sites[i].PolicyFile)
		if t := cfg.Sites[i].TLS; t != nil {
			beside(&t.CertFile)
			beside(&t.KeyFile)
		}
	}
	return nil
}
