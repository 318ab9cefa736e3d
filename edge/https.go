package edge

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// SiteTLS is where a site's HTTPS certificate comes from (package
// certs): a pair of PEM files, reloaded when they change; an ACME CA,
// which issues and renews it; or a self-signed certificate for
// development.
type SiteTLS struct {
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ACME       bool   `yaml:"acme"`
	SelfSigned bool   `yaml:"self_signed"`
}

// acmeChallengePrefix is where an ACME CA fetches HTTP-01 challenge
// answers (RFC 8555 §8.3), over plain HTTP: never redirected.
const acmeChallengePrefix = "/.well-known/acme-challenge/"

// checkHTTPS validates a site's HTTPS options.
func (site *Site) checkHTTPS() error {
	if t := site.TLS; t != nil {
		files := t.CertFile != "" || t.KeyFile != ""
		switch {
		case files && (t.CertFile == "" || t.KeyFile == ""):
			return fmt.Errorf("tls: give both cert_file and key_file")
		case b2i(files)+b2i(t.ACME)+b2i(t.SelfSigned) != 1:
			return fmt.Errorf("tls: give cert_file and key_file, or acme: true, or self_signed: true: one of them")
		}
	}
	if site.TLS == nil && (site.HTTPSRedirect || site.HSTS != "") {
		return fmt.Errorf("https_redirect and hsts need the site to serve HTTPS: give it tls")
	}
	if site.HSTS != "" {
		age, _, _ := strings.Cut(strings.TrimSpace(site.HSTS), ";")
		v, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(age)), "max-age=")
		if _, err := strconv.ParseUint(strings.Trim(v, `"`), 10, 32); !ok || err != nil {
			return fmt.Errorf("hsts %q: start with max-age=<seconds> (RFC 6797), e.g. \"max-age=31536000; includeSubDomains\"", site.HSTS)
		}
	}
	return nil
}

// redirectToHTTPS answers a plain HTTP request of a site that redirects
// with 308 (the method and body stay) to the same URL over HTTPS.
func (e *Edge) redirectToHTTPS(ctx *fasthttp.RequestCtx) {
	host := ctx.Request.Header.Host()
	if h, _, err := net.SplitHostPort(string(host)); err == nil {
		host = []byte(h)
	}
	loc := append(append([]byte("https://"), host...), e.httpsPort...)
	// The path and query, never an absolute-form target's scheme and host.
	loc = append(loc, ctx.URI().PathOriginal()...)
	if q := ctx.URI().QueryString(); len(q) > 0 {
		loc = append(append(loc, '?'), q...)
	}
	ctx.Response.Header.Set("Location", string(loc))
	ctx.Response.Header.Set("Cache-Control", "no-store") // a site may stop redirecting
	ctx.Response.Header.SetContentType("text/plain; charset=utf-8")
	ctx.SetStatusCode(fasthttp.StatusPermanentRedirect)
	ctx.SetBodyString("This site is served over HTTPS: " + string(loc) + "\n")
}

// redirects reports whether a request goes to HTTPS instead.
func redirects(ctx *fasthttp.RequestCtx, site *Site) bool {
	return site.HTTPSRedirect && !ctx.IsTLS() && !strings.HasPrefix(b2s(ctx.Path()), acmeChallengePrefix)
}

// httpsPortSuffix is ":port" for a redirect's Location, empty for 443.
func httpsPortSuffix(port int) []byte {
	if port == 0 || port == 443 {
		return nil
	}
	return []byte(":" + strconv.Itoa(port))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
