// Package certs chooses the certificate of each TLS handshake by the
// name the client asked for (SNI), among the sites' own: a pair of PEM
// files per site, reloaded when they change; one ordered from an ACME CA
// and renewed (acme.go); or a self-signed certificate for development. A name no site lists gets no certificate
// at all — the handshake ends with an unrecognized_name alert — never
// another site's.
package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// Site is one site's certificate source: CertFile and KeyFile (PEM),
// ACME, or SelfSigned.
type Site struct {
	Hosts             []string
	CertFile, KeyFile string
	ACME, SelfSigned  bool
}

// Config is every site that serves HTTPS.
type Config struct {
	Sites []Site
	// Dir keeps generated self-signed certificates across restarts, and
	// ACME's files unless ACME names another storage.
	Dir string
	// ACME configures the CA of the sites with ACME, and on-demand names.
	ACME   *ACME
	Logger *zap.Logger
}

// Manager answers handshakes. Its methods are safe for concurrent use.
type Manager struct {
	cfg    Config
	log    *zap.Logger
	byHost map[string]*source // lower-case host → its site's source
	files  []*source          // the file-backed ones, for reloads
	acme   *acmeState         // nil without ACME
	// reloadMu makes reloads one at a time; stats count them.
	reloadMu              sync.Mutex
	reloads, reloadErrors atomic.Uint64
	lastError             atomic.Pointer[string]
}

// source is one site's current certificate.
type source struct {
	site Site
	cert atomic.Pointer[tls.Certificate]
}

// New loads every site's certificate; one that does not load, or does not
// cover its site's hosts, is an error naming the files.
func New(cfg Config) (*Manager, error) {
	m := &Manager{cfg: cfg, log: cfg.Logger, byHost: map[string]*source{}}
	if m.log == nil {
		m.log = zap.NewNop()
	}
	var acmeNames []string
	seen := map[string]bool{}
	for i, site := range cfg.Sites {
		if len(site.Hosts) == 0 {
			return nil, fmt.Errorf("certs: site %d has no hosts", i+1)
		}
		for _, h := range site.Hosts {
			h = strings.ToLower(h)
			if seen[h] {
				return nil, fmt.Errorf("certs: host %q is in two sites", h)
			}
			seen[h] = true
		}
		src := &source{site: site}
		var cert *tls.Certificate
		var err error
		files := site.CertFile != "" || site.KeyFile != ""
		switch {
		case site.ACME && !files && !site.SelfSigned:
			if cfg.ACME == nil {
				return nil, fmt.Errorf("certs: site %v has acme but no ACME CA is configured", site.Hosts)
			}
			for _, h := range site.Hosts {
				acmeNames = append(acmeNames, strings.ToLower(h))
			}
			continue
		case site.SelfSigned && !files && !site.ACME:
			cert, err = selfSigned(cfg.Dir, site.Hosts)
		case !site.SelfSigned && !site.ACME && site.CertFile != "" && site.KeyFile != "":
			cert, err = loadPair(site)
			m.files = append(m.files, src)
		default:
			err = errors.New("give cert_file and key_file, or acme, or self_signed: one of them")
		}
		if err != nil {
			return nil, fmt.Errorf("certs: site %v: %w", site.Hosts, err)
		}
		src.cert.Store(cert)
		for _, h := range site.Hosts {
			m.byHost[strings.ToLower(h)] = src
		}
	}
	if cfg.ACME != nil {
		st, err := newACME(cfg.ACME, acmeNames, cfg.Dir, m.log)
		if err != nil {
			return nil, fmt.Errorf("certs: %w", err)
		}
		m.acme = st
	}
	return m, nil
}

// Empty reports whether no site serves HTTPS.
func (m *Manager) Empty() bool {
	return len(m.byHost) == 0 && (m.acme == nil || len(m.acme.names) == 0)
}

// loadPair reads a site's PEM files and checks that the certificate
// names every host of the site.
func loadPair(site Site) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(site.CertFile, site.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("cert_file %s, key_file %s: %w", site.CertFile, site.KeyFile, err)
	}
	for _, h := range site.Hosts {
		if err := cert.Leaf.VerifyHostname(h); err != nil {
			return nil, fmt.Errorf("cert_file %s does not name host %s (it names %v): %w", site.CertFile, h, cert.Leaf.DNSNames, err)
		}
	}
	return &cert, nil
}

// GetCertificate is tls.Config's: the certificate of the site that lists
// the name asked for, or for a client that names none (as for an IP
// address) the address it reached; none (an unrecognized_name alert)
// for any other.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name == "" && hello.Conn != nil {
		// A client sends no name for an IP address (RFC 6066 §3): the
		// address it reached is the name, if a site lists it.
		if tcp, ok := hello.Conn.LocalAddr().(*net.TCPAddr); ok {
			name = tcp.IP.String()
		}
	}
	if src := m.byHost[name]; src != nil {
		return src.cert.Load(), nil
	}
	if m.acme != nil && m.acme.handles(name) {
		return m.acme.getCertificate(hello) // TLS-ALPN-01 challenges too
	}
	return nil, nil // tls turns "no certificate" into unrecognized_name
}

// Reload rereads every site's files. A pair that does not load (or no
// longer covers its hosts) is refused and the previous one stays in
// use; the error names the files.
func (m *Manager) Reload() error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	m.reloads.Add(1)
	var errs []error
	for _, src := range m.files {
		cert, err := loadPair(src.site)
		if err != nil {
			errs = append(errs, fmt.Errorf("site %v: %w", src.site.Hosts, err))
			continue
		}
		src.cert.Store(cert)
	}
	err := errors.Join(errs...)
	if err != nil {
		m.reloadErrors.Add(1)
		msg := err.Error()
		m.lastError.Store(&msg)
		m.log.Error("certificate reload refused: the previous certificates stay in use", zap.Error(err))
		return err
	}
	m.lastError.Store(nil)
	m.log.Info("certificates reloaded", zap.Int("files", len(m.files)))
	return nil
}

// Files are the certificate and key files to watch for changes.
func (m *Manager) Files() []string {
	var out []string
	for _, src := range m.files {
		out = append(out, src.site.CertFile, src.site.KeyFile)
	}
	return out
}

// Stats are the reloads so far, those refused, and the last refusal's
// error ("" when the last reload succeeded).
func (m *Manager) Stats() (reloads, refused uint64, lastError string) {
	if p := m.lastError.Load(); p != nil {
		lastError = *p
	}
	return m.reloads.Load(), m.reloadErrors.Load(), lastError
}

// TLSConfig is the server side of every HTTPS connection: TLS 1.2 and
// 1.3 only, forward-secret AEAD suites for 1.2 (1.3's are all such),
// session resumption by tickets (Go's default), HTTP/1.1.
func (m *Manager) TLSConfig() *tls.Config {
	protos := []string{"http/1.1"}
	if m.acme != nil {
		protos = append(protos, acmeProtocol) // TLS-ALPN-01 challenges
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: m.GetCertificate,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos: protos,
	}
}
