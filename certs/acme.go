package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// ACME is how certificates are ordered for the sites with acme: from an
// ACME CA (RFC 8555) through certmagic, which issues, renews ahead of
// expiry, staples OCSP where the CA offers it, and keeps certificates,
// keys and its locks in Storage. The edge answers the challenges itself:
// HTTP-01 on its plain HTTP port, TLS-ALPN-01 on its HTTPS port.
type ACME struct {
	// CA is the directory URL (default Let's Encrypt's production).
	CA string
	// Email is the account's contact; Agreed accepts the CA's terms.
	Email string
	// CARoot names a PEM file of roots to trust for the CA's own HTTPS,
	// for a private or test CA (default: the system's).
	CARoot string
	// Challenges offered: "http-01", "tls-alpn-01" (default both).
	Challenges []string
	// OnDemand lists names (exact, or "*.example.com" for one label
	// under it) that may get a certificate ordered at their first
	// handshake without a site listing them; empty: none ever.
	OnDemand []string
	// Storage keeps certificates, keys, challenge tokens and locks; edges
	// sharing one order each certificate once (default: files in the
	// data directory, for one edge).
	Storage certmagic.Storage
	// HTTPPort and TLSPort are the ports the edge's listeners bound, on
	// ListenHost: the challenges are answered there (certmagic starts no
	// listener of its own).
	HTTPPort, TLSPort int
	ListenHost        string
	// RenewCheckInterval is how often certificates are checked for
	// renewal (default certmagic's, 10 minutes).
	RenewCheckInterval time.Duration
}

// acmeState is the ACME part of a Manager.
type acmeState struct {
	// magic manages the sites' names from Start; onDemand (nil without
	// an allow-list) orders the allow-list's at their first handshake.
	// certmagic defers every name of a config with on-demand to the
	// handshake, hence two configs over one cache and storage.
	magic, onDemandMagic *certmagic.Config
	issuer               *certmagic.ACMEIssuer
	cache                *certmagic.Cache
	names                []string        // the sites' names, managed from Start
	hosts                map[string]bool // the same, for handshakes
	// onDemand are the allow-list's exact names and wildcard suffixes.
	onDemand []string
	// newNames limits how fast names never ordered before may be ordered
	// on demand (a client can make up names under a wildcard; the CA's
	// rate limits, which the sites' renewals need too, would pay);
	// ordered remembers the names admitted.
	newNames *rate.Limiter
	mu       sync.Mutex
	ordered  map[string]bool
}

// On-demand orders of names never ordered before: a burst of
// onDemandBurst, then one every onDemandEvery.
const (
	onDemandBurst = 10
	onDemandEvery = time.Minute
)

// newACME prepares certmagic for names; nothing is ordered before Start.
func newACME(cfg *ACME, names []string, dir string, log *zap.Logger) (*acmeState, error) {
	if cfg.CA == "" {
		cfg.CA = certmagic.LetsEncryptProductionCA
	}
	if cfg.Storage == nil {
		cfg.Storage = &certmagic.FileStorage{Path: filepath.Join(dir, "acme")}
	}
	var roots *x509.CertPool
	if cfg.CARoot != "" {
		data, err := os.ReadFile(cfg.CARoot)
		if err != nil {
			return nil, fmt.Errorf("acme ca_root: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("acme ca_root %s: no PEM certificate in it", cfg.CARoot)
		}
	}
	challenges := cfg.Challenges
	if len(challenges) == 0 {
		challenges = []string{"http-01", "tls-alpn-01"}
	}
	for _, c := range challenges {
		if c != "http-01" && c != "tls-alpn-01" {
			return nil, fmt.Errorf("acme challenges: %q: use http-01 and/or tls-alpn-01", c)
		}
	}
	for _, n := range cfg.OnDemand {
		if n == "" || strings.Count(n, "*") > 1 || strings.Contains(n, "*") && !strings.HasPrefix(n, "*.") {
			return nil, fmt.Errorf("acme on_demand %q: give a name, or *.name for the names one label under it", n)
		}
	}
	st := &acmeState{names: names, hosts: map[string]bool{}, onDemand: cfg.OnDemand,
		newNames: rate.NewLimiter(rate.Every(onDemandEvery), onDemandBurst), ordered: map[string]bool{}}
	for _, n := range names {
		st.hosts[n] = true
	}
	st.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(c certmagic.Certificate) (*certmagic.Config, error) {
			if st.onDemandMagic != nil && !slices.ContainsFunc(c.Names, func(n string) bool { return st.hosts[n] }) {
				return st.onDemandMagic, nil
			}
			return st.magic, nil
		},
		RenewCheckInterval: cfg.RenewCheckInterval,
		Logger:             log,
	})
	newConfig := func(onDemand *certmagic.OnDemandConfig) (*certmagic.Config, *certmagic.ACMEIssuer) {
		c := certmagic.New(st.cache, certmagic.Config{Storage: cfg.Storage, Logger: log, OnDemand: onDemand})
		iss := certmagic.NewACMEIssuer(c, certmagic.ACMEIssuer{
			CA: cfg.CA, Email: cfg.Email, Agreed: true, TrustedRoots: roots,
			DisableHTTPChallenge:    !slices.Contains(challenges, "http-01"),
			DisableTLSALPNChallenge: !slices.Contains(challenges, "tls-alpn-01"),
			AltHTTPPort:             cfg.HTTPPort, AltTLSALPNPort: cfg.TLSPort, ListenHost: cfg.ListenHost,
			Logger: log,
		})
		c.Issuers = []certmagic.Issuer{iss}
		return c, iss
	}
	st.magic, st.issuer = newConfig(nil)
	if len(cfg.OnDemand) > 0 {
		st.onDemandMagic, _ = newConfig(&certmagic.OnDemandConfig{DecisionFunc: st.decideOnDemand})
	}
	return st, nil
}

// allowedOnDemand: name is in the on-demand allow-list.
func (st *acmeState) allowedOnDemand(name string) bool {
	for _, n := range st.onDemand {
		if suffix, ok := strings.CutPrefix(n, "*"); ok {
			if label, ok := strings.CutSuffix(name, suffix); ok && label != "" && !strings.Contains(label, ".") {
				return true
			}
		} else if n == name {
			return true
		}
	}
	return false
}

// decideOnDemand admits a name of the allow-list, at a bounded rate for
// names not ordered before.
func (st *acmeState) decideOnDemand(_ context.Context, name string) error {
	if !st.allowedOnDemand(name) {
		return fmt.Errorf("%s is not in acme on_demand", name)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ordered[name] {
		return nil
	}
	if !st.newNames.Allow() {
		return fmt.Errorf("%s: too many new on-demand names (%d, then one a minute)", name, onDemandBurst)
	}
	st.ordered[name] = true
	return nil
}

// handles: the handshake is for a name ACME serves (a site's, or one the
// on-demand allow-list admits).
func (st *acmeState) handles(name string) bool {
	return st.hosts[name] || st.allowedOnDemand(name)
}

// StartACME orders (or loads from storage) the certificates of the sites
// with acme, in the background, and keeps them renewed until Close. Call
// it once the listeners answer: the CA's challenges come to them.
func (m *Manager) StartACME(ctx context.Context) error {
	if m.acme == nil || len(m.acme.names) == 0 {
		return nil
	}
	return m.acme.magic.ManageAsync(ctx, m.acme.names)
}

// HandleHTTPChallenge answers an ACME HTTP-01 challenge request (under
// /.well-known/acme-challenge/); false when r is none of its own.
func (m *Manager) HandleHTTPChallenge(w http.ResponseWriter, r *http.Request) bool {
	if m.acme == nil {
		return false
	}
	return m.acme.issuer.HandleHTTPChallenge(w, r)
}

// ACME reports whether certificates come from an ACME CA.
func (m *Manager) ACME() bool { return m.acme != nil }

// Close stops renewals.
func (m *Manager) Close() {
	if m.acme != nil {
		m.acme.cache.Stop()
	}
}

// acmeProtocol is TLS-ALPN-01's protocol (RFC 8737).
const acmeProtocol = acmez.ACMETLS1Protocol

func (st *acmeState) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if !st.hosts[name] && st.onDemandMagic != nil {
		return st.onDemandMagic.GetCertificate(hello)
	}
	return st.magic.GetCertificate(hello)
}
