package certs

import (
	"crypto/tls"
	"strconv"
	"strings"
	"testing"
)

// Only the names a site lists, and those the on-demand allow-list
// admits, ever reach the ACME CA.
func TestACMENames(t *testing.T) {
	m, err := New(Config{Dir: t.TempDir(), ACME: &ACME{CA: "https://ca.invalid/dir", OnDemand: []string{"shop.example", "*.users.example"}},
		Sites: []Site{{Hosts: []string{"Secure.test"}, ACME: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for name, want := range map[string]bool{
		"secure.test": true, "shop.example": true, "a.users.example": true,
		"users.example": false, "a.b.users.example": false, "other.test": false, "xshop.example": false, "": false,
	} {
		if got := m.acme.handles(name); got != want {
			t.Errorf("%q: handled %v, want %v", name, got, want)
		}
	}
	if cert, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "other.test"}); cert != nil || err != nil {
		t.Errorf("a name neither listed nor allowed: %v %v", cert, err)
	}
	if !m.ACME() || m.Empty() {
		t.Error("a manager with an ACME site")
	}
}

func TestACMEConfigRefused(t *testing.T) {
	for _, c := range []struct {
		acme *ACME
		site Site
		want string
	}{
		{nil, Site{Hosts: []string{"a.test"}, ACME: true}, "no ACME CA is configured"},
		{&ACME{Challenges: []string{"dns-01"}}, Site{Hosts: []string{"a.test"}, ACME: true}, "use http-01 and/or tls-alpn-01"},
		{&ACME{OnDemand: []string{"a*.test"}}, Site{Hosts: []string{"a.test"}, ACME: true}, "on_demand"},
		{&ACME{CARoot: "/nonexistent/root.pem"}, Site{Hosts: []string{"a.test"}, ACME: true}, "ca_root"},
		{&ACME{}, Site{Hosts: []string{"a.test"}, ACME: true, SelfSigned: true}, "one of them"},
	} {
		if _, err := New(Config{Dir: t.TempDir(), ACME: c.acme, Sites: []Site{c.site}}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v %+v: %v, want an error saying %q", c.acme, c.site, err, c.want)
		}
	}
}

// Names the allow-list admits are ordered at a bounded rate: a client
// making up names under a wildcard spends the burst, then one a minute;
// a name admitted once stays admitted.
func TestOnDemandRate(t *testing.T) {
	m, err := New(Config{Dir: t.TempDir(), ACME: &ACME{CA: "https://ca.invalid/dir", OnDemand: []string{"*.users.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := t.Context()
	for i := range onDemandBurst {
		if err := m.acme.decideOnDemand(ctx, "u"+strconv.Itoa(i)+".users.example"); err != nil {
			t.Fatalf("name %d of the burst: %v", i, err)
		}
	}
	if err := m.acme.decideOnDemand(ctx, "one-more.users.example"); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Errorf("past the burst: %v", err)
	}
	if err := m.acme.decideOnDemand(ctx, "u0.users.example"); err != nil {
		t.Errorf("a name admitted before: %v", err)
	}
	if err := m.acme.decideOnDemand(ctx, "evil.test"); err == nil || !strings.Contains(err.Error(), "not in acme on_demand") {
		t.Errorf("outside the allow-list: %v", err)
	}
}
