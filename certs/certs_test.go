package certs

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/certs/certstest"
)

// serveTLS accepts TLS connections with m's config on a loopback port
// until the test ends, completing each handshake; it returns the address.
func serveTLS(t *testing.T, m *Manager) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", m.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					c.Write([]byte("x")) // a byte, so a TLS 1.3 client sees its session ticket
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// handshake connects with SNI name and returns the server certificate's
// serial, or the handshake's error.
func handshake(t *testing.T, addr, name string, cfg *tls.Config) (int64, *tls.ConnectionState, error) {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName = name
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.Read(make([]byte, 1))
	st := c.ConnectionState()
	return st.PeerCertificates[0].SerialNumber.Int64(), &st, nil
}

// Each site's name gets its own certificate; any other name, or none,
// gets an unrecognized_name alert and never another site's certificate.
func TestSNIPicksTheSitesCertificate(t *testing.T) {
	ca, dir := certstest.New(t), t.TempDir()
	aCert, aKey, aSerial := ca.Issue(t, dir, "a", "a.test", "www.a.test")
	bCert, bKey, bSerial := ca.Issue(t, dir, "b", "b.test")
	m, err := New(Config{Sites: []Site{
		{Hosts: []string{"a.test", "www.a.test"}, CertFile: aCert, KeyFile: aKey},
		{Hosts: []string{"B.test"}, CertFile: bCert, KeyFile: bKey},
	}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, m)
	client := &tls.Config{RootCAs: ca.Pool}
	for name, want := range map[string]int64{"a.test": aSerial, "www.a.test": aSerial, "b.test": bSerial, "B.TEST.": bSerial} {
		got, _, err := handshake(t, addr, name, client)
		if err != nil || got != want {
			t.Errorf("SNI %q: certificate %d (%v), want %d", name, got, err, want)
		}
	}
	for _, name := range []string{"c.test", "test", ""} {
		insecure := &tls.Config{InsecureSkipVerify: true} // whatever it would show, it must show nothing
		if got, _, err := handshake(t, addr, name, insecure); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
			t.Errorf("SNI %q: certificate %d, error %v; want an unrecognized_name alert", name, got, err)
		}
	}
}

// TLS 1.2 and 1.3 only, forward-secret AEAD suites, session resumption.
func TestTLSVersionsSuitesAndResumption(t *testing.T) {
	ca, dir := certstest.New(t), t.TempDir()
	c, k, _ := ca.Issue(t, dir, "a", "a.test")
	m, err := New(Config{Sites: []Site{{Hosts: []string{"a.test"}, CertFile: c, KeyFile: k}}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, m)
	if _, _, err := handshake(t, addr, "a.test", &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	cbc := &tls.Config{RootCAs: ca.Pool, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}
	if _, _, err := handshake(t, addr, "a.test", cbc); err == nil {
		t.Error("a client offering only a CBC suite was served")
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		client := &tls.Config{RootCAs: ca.Pool, MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		if _, st, err := handshake(t, addr, "a.test", client); err != nil || st.Version != v || st.DidResume {
			t.Fatalf("version %x: %v", v, err)
		}
		if _, st, err := handshake(t, addr, "a.test", client); err != nil || !st.DidResume {
			t.Errorf("version %x: the second connection did not resume (%v)", v, err)
		}
	}
}

// A pair rewritten on disk is served after a reload; one that does not
// load, or names other hosts, is refused and the previous one stays.
func TestReload(t *testing.T) {
	ca, dir := certstest.New(t), t.TempDir()
	c, k, first := ca.Issue(t, dir, "a", "a.test")
	m, err := New(Config{Sites: []Site{{Hosts: []string{"a.test"}, CertFile: c, KeyFile: k}}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, m)
	client := &tls.Config{RootCAs: ca.Pool}
	_, _, second := ca.Issue(t, dir, "a", "a.test")
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if got, _, err := handshake(t, addr, "a.test", client); err != nil || got != second {
		t.Fatalf("after the rotation: certificate %d (%v), want %d (was %d)", got, err, second, first)
	}
	os.WriteFile(c, []byte("-----BEGIN CERTIFICATE-----\nnot one\n"), 0o644)
	if err := m.Reload(); err == nil || !strings.Contains(err.Error(), c) {
		t.Errorf("a broken file: %v, want an error naming %s", err, c)
	}
	ca.Issue(t, dir, "a", "other.test")
	if err := m.Reload(); err == nil || !strings.Contains(err.Error(), "does not name host a.test") {
		t.Errorf("a certificate for another host: %v", err)
	}
	if got, _, err := handshake(t, addr, "a.test", client); err != nil || got != second {
		t.Fatalf("after refused reloads: certificate %d (%v), want the previous %d", got, err, second)
	}
	if reloads, refused, last := m.Stats(); reloads != 3 || refused != 2 || last == "" {
		t.Errorf("stats: %d reloads, %d refused, last %q", reloads, refused, last)
	}
	if files := m.Files(); len(files) != 2 || files[0] != c || files[1] != k {
		t.Errorf("files to watch: %v", files)
	}
}

// A self-signed certificate names every host (IP addresses too) and is
// the same one at the next start.
func TestSelfSigned(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Sites: []Site{{Hosts: []string{"localhost", "127.0.0.1"}, SelfSigned: true}}}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, m)
	pool := x509.NewCertPool()
	first, _ := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	pool.AddCert(first.Leaf)
	if _, _, err := handshake(t, addr, "localhost", &tls.Config{RootCAs: pool}); err != nil {
		t.Fatalf("localhost: %v", err)
	}
	// A client sends no SNI for an IP address: the address it reached
	// names the site.
	if _, _, err := handshake(t, addr, "", &tls.Config{RootCAs: pool}); err != nil {
		t.Fatalf("127.0.0.1 without SNI: %v", err)
	}
	if first.Leaf.VerifyHostname("127.0.0.1") != nil {
		t.Errorf("the certificate does not name 127.0.0.1: %v %v", first.Leaf.DNSNames, first.Leaf.IPAddresses)
	}
	again, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := again.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"}); !c.Leaf.Equal(first.Leaf) {
		t.Error("a new self-signed certificate at the second start")
	}
}

// Mistakes are refused at start, naming what to fix.
func TestNewRefuses(t *testing.T) {
	ca, dir := certstest.New(t), t.TempDir()
	c, k, _ := ca.Issue(t, dir, "a", "a.test")
	for _, tc := range []struct {
		site Site
		want string
	}{
		{Site{Hosts: []string{"a.test"}, CertFile: c}, "give cert_file and key_file"},
		{Site{Hosts: []string{"a.test"}, CertFile: c, KeyFile: k, SelfSigned: true}, "give cert_file and key_file"},
		{Site{Hosts: []string{"a.test"}, CertFile: filepath.Join(dir, "missing.crt"), KeyFile: k}, "missing.crt"},
		{Site{Hosts: []string{"b.test"}, CertFile: c, KeyFile: k}, "does not name host b.test"},
		{Site{}, "no hosts"},
	} {
		if _, err := New(Config{Sites: []Site{tc.site}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error saying %q", tc.site, err, tc.want)
		}
	}
	if _, err := New(Config{Sites: []Site{{Hosts: []string{"a.test"}, CertFile: c, KeyFile: k}, {Hosts: []string{"A.test"}, CertFile: c, KeyFile: k}}}); err == nil || !strings.Contains(err.Error(), "two sites") {
		t.Errorf("one host in two sites: %v", err)
	}
}
