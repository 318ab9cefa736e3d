package edge

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// S3Endpoint is a remote S3-compatible origin (AWS S3, R2, MinIO, another
// cmd/origin). With a key pair, every origin request is signed (SigV4), so
// the edge can front a private bucket, as a custom domain with origin
// access does; without one the bucket's objects must be public.
type S3Endpoint struct {
	// URL is the endpoint: http(s)://host[:port].
	URL string `yaml:"url"`
	// Region signs the requests (default us-east-1; R2 takes "auto").
	Region string `yaml:"region"`
	// AccessKeyID and SecretAccessKey sign the requests; never logged.
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	// VirtualHosted addresses the bucket as a host name
	// (<bucket>.<host>/<key>) instead of a path (<host>/<bucket>/<key>).
	VirtualHosted bool `yaml:"virtual_hosted"`
}

// String describes the endpoint without its secret.
func (s S3Endpoint) String() string {
	signed := "unsigned"
	if s.AccessKeyID != "" {
		signed = "signed as " + s.AccessKeyID
	}
	return fmt.Sprintf("%s (%s, %s)", s.URL, s.Region, signed)
}

// emptySHA256 is the payload hash of a request without a body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// NewS3Origin reads bucket sites from ep with client (nil:
// DefaultHTTPClient).
func NewS3Origin(ep S3Endpoint, client *http.Client) (Origin, error) {
	u, err := url.Parse(ep.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("edge: S3 origin %q: give an http:// or https:// URL", ep.URL)
	}
	if (ep.AccessKeyID == "") != (ep.SecretAccessKey == "") {
		return nil, fmt.Errorf("edge: S3 origin %s: give both access_key_id and secret_access_key, or neither", ep.URL)
	}
	if ep.Region == "" {
		ep.Region = "us-east-1"
	}
	if client == nil {
		client = DefaultHTTPClient(0)
	}
	o := &s3Origin{endpoint: u, ep: ep, client: client}
	if ep.AccessKeyID != "" {
		// S3 signs the path as sent, without escaping it again.
		o.signer = v4.NewSigner(func(so *v4.SignerOptions) { so.DisableURIPathEscaping = true })
		o.creds = aws.Credentials{AccessKeyID: ep.AccessKeyID, SecretAccessKey: ep.SecretAccessKey}
	}
	return o, nil
}

// s3Origin reads objects from an S3 endpoint.
type s3Origin struct {
	endpoint *url.URL
	ep       S3Endpoint
	client   *http.Client
	signer   *v4.Signer // nil: unsigned requests
	creds    aws.Credentials
}

func (o *s3Origin) ready() error { return nil }

// objectURL is the URL of an object, its key escaped as S3 signs it.
func (o *s3Origin) objectURL(bucket, key string) string {
	host, path := o.endpoint.Host, strings.TrimSuffix(o.endpoint.EscapedPath(), "/")
	if o.ep.VirtualHosted {
		host = bucket + "." + host
	} else {
		path += "/" + s3Escape(bucket)
	}
	return o.endpoint.Scheme + "://" + host + path + "/" + s3Escape(key)
}

// s3Escape escapes a key as SigV4 canonicalises S3 paths: every byte but
// the unreserved characters and '/' as %XX. The dots of a "." or ".."
// segment are escaped too: a server or proxy that normalises paths would
// otherwise read another bucket's object with the edge's signature.
func s3Escape(key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '.' && dotSegment(key, i) {
			b.WriteString("%2E")
			continue
		}
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// dotSegment reports whether key[i] belongs to a segment that is "." or
// "..".
func dotSegment(key string, i int) bool {
	start := strings.LastIndexByte(key[:i], '/') + 1
	end := strings.IndexByte(key[i:], '/')
	if end < 0 {
		end = len(key)
	} else {
		end += i
	}
	seg := key[start:end]
	return seg == "." || seg == ".."
}

// sign signs hreq in place when the origin has a key pair.
func (o *s3Origin) sign(hreq *http.Request) error {
	if o.signer == nil {
		return nil
	}
	hreq.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	return o.signer.SignHTTP(hreq.Context(), o.creds, hreq, emptySHA256, "s3", o.ep.Region, time.Now())
}

func (o *s3Origin) fetch(ctx context.Context, req *fetchRequest) (*originResponse, error) {
	target := o.objectURL(req.Site.Bucket, req.Key)
	if req.IfNoneMatch != "" || !req.IfModifiedSince.IsZero() {
		return o.revalidate(ctx, target, req)
	}
	return fetchHTTP(ctx, o.client, target, req, o.sign)
}

// revalidate confirms a stored object by its metadata: a HEAD, compared by
// generation where the origin has them (cmd/origin), else by entity-tag
// and Last-Modified. A conditional GET would not do: S3 keeps the ETag
// when only metadata changes (CopyObject with REPLACE), and some S3
// servers answer 304 without the new Content-Type or Cache-Control. What
// still matches comes back as a 304 that carries every current field;
// anything else is fetched whole.
func (o *s3Origin) revalidate(ctx context.Context, target string, req *fetchRequest) (*originResponse, error) {
	head := *req
	head.Method, head.IfNoneMatch, head.IfModifiedSince, head.revalidatingGeneration = http.MethodHead, "", time.Time{}, 0
	resp, err := fetchHTTP(ctx, o.client, target, &head, o.sign)
	if err != nil {
		return nil, err
	}
	whole := *req
	whole.IfNoneMatch, whole.IfModifiedSince, whole.revalidatingGeneration = "", time.Time{}, 0
	if resp.Status != http.StatusOK {
		return fetchHTTP(ctx, o.client, target, &whole, o.sign) // gone, or an error: the GET says which
	}
	same := resp.ETag != "" && resp.ETag == req.IfNoneMatch
	if req.revalidatingGeneration > 0 || resp.Generation > 0 {
		same = resp.Generation == req.revalidatingGeneration
	} else if !req.IfModifiedSince.IsZero() && req.IfNoneMatch == "" {
		same = !resp.LastMod.IsZero() && !resp.LastMod.After(req.IfModifiedSince)
	} else if !req.revalidatingLastMod.IsZero() && !resp.LastMod.Equal(req.revalidatingLastMod) {
		same = false // same tag, newer date: metadata changed
	}
	if !same {
		return fetchHTTP(ctx, o.client, target, &whole, o.sign)
	}
	resp.Status = http.StatusNotModified
	resp.Header.Del("Content-Length")
	return resp, nil
}
