// Package redisbus is the purge bus on Redis pub/sub, for edges and an
// origin in different processes or on different machines.
//
// # Model
//
// Every message is published on one channel (DefaultChannel); every edge
// subscribes to it. The client is a redis.UniversalClient: one server, a
// Sentinel-managed primary (URL query master_name=…) or a Cluster (more
// addresses with addr=…); users, passwords (ACL) and TLS (rediss://) come
// from the URL.
//
// # Caveats
//
//   - Redis pub/sub is at most once: a subscriber that is reconnecting
//     misses what is published meanwhile. The subscription reports every
//     (re)subscription as a Reset, and package purge flushes on it.
//   - A silent network fault (or a paused server) is not an error here:
//     reads just time out. Package purge notices it by the publishers'
//     missing heartbeats.
package redisbus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/edgecdn/edge/purge"
)

// DefaultChannel is the pub/sub channel of the purge bus.
const DefaultChannel = "edge:purge"

// Config says which Redis to use.
type Config struct {
	// URL is redis://[user:password@]host:port[/db], or rediss:// for
	// TLS; ?master_name=NAME makes host:port (and each addr=) a Sentinel;
	// more addr=host:port without master_name make it a Cluster.
	URL string
	// Channel defaults to DefaultChannel.
	Channel string
	// TLSCAFile, if set, is a PEM file of the CAs that sign the server's
	// certificate (for rediss:// with a private CA).
	TLSCAFile string
}

// Bus is the Redis purge bus.
type Bus struct {
	client  redis.UniversalClient
	channel string
}

var _ purge.Bus = (*Bus)(nil)

// Open connects to Redis (lazily: a server that is down now is retried
// by every call) after checking the configuration.
func Open(cfg Config) (*Bus, error) {
	if cfg.Channel == "" {
		cfg.Channel = DefaultChannel
	}
	client, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Bus{client: client, channel: cfg.Channel}, nil
}

// NewClient is a client of the Redis cfg names, for other uses of the bus's
// Redis (shared certificate storage).
func NewClient(cfg Config) (redis.UniversalClient, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, fmt.Errorf("redis URL %q: give redis://[user:password@]host:port[/db] (or rediss:// for TLS)", Redact(cfg.URL))
	}
	var roots *x509.CertPool
	if cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("redis TLS CA file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis TLS CA file %s holds no PEM certificate", cfg.TLSCAFile)
		}
	}
	withRoots := func(t *tls.Config) *tls.Config {
		if t != nil && roots != nil {
			t.RootCAs = roots
		}
		return t
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("redis URL %q: %w", Redact(cfg.URL), err)
		}
		o.TLSConfig, o.ContextTimeoutEnabled = withRoots(o.TLSConfig), true
		return redis.NewFailoverClient(o), nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("redis URL %q: %w", Redact(cfg.URL), err)
		}
		o.TLSConfig, o.ContextTimeoutEnabled = withRoots(o.TLSConfig), true
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis URL %q: %w", Redact(cfg.URL), err)
	}
	// Deadlines come from the callers' contexts: a publish gives up after
	// a second rather than go-redis's own timeouts.
	o.TLSConfig, o.ContextTimeoutEnabled = withRoots(o.TLSConfig), true
	return redis.NewClient(o), nil
}

// Redact hides a URL's password, for messages.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Ping checks that Redis answers (and that the credentials work).
func (b *Bus) Ping(ctx context.Context) error { return b.client.Ping(ctx).Err() }

// Publish sends data on the channel.
func (b *Bus) Publish(ctx context.Context, data []byte) error {
	return b.client.Publish(ctx, b.channel, data).Err()
}

// Subscribe starts a subscription; its first Receive reports a Reset once
// Redis confirms it.
func (b *Bus) Subscribe(ctx context.Context) (purge.Subscription, error) {
	ps := b.client.Subscribe(ctx, b.channel)
	return &subscription{ps: ps}, nil
}

// Close closes the client.
func (b *Bus) Close() error { return b.client.Close() }

type subscription struct {
	ps *redis.PubSub
}

// Receive waits for the next message until ctx's deadline. A subscription
// confirmation (the first, or after go-redis reconnected) is a Reset.
func (s *subscription) Receive(ctx context.Context) (purge.Delivery, error) {
	for {
		timeout := time.Duration(0)
		if dl, ok := ctx.Deadline(); ok {
			if timeout = time.Until(dl); timeout <= 0 {
				return purge.Delivery{}, context.DeadlineExceeded
			}
		}
		msg, err := s.ps.ReceiveTimeout(ctx, timeout)
		if err != nil {
			var ne net.Error
			switch {
			case ctx.Err() != nil:
				return purge.Delivery{}, ctx.Err()
			case errors.As(err, &ne) && ne.Timeout():
				return purge.Delivery{}, context.DeadlineExceeded
			case errors.Is(err, redis.ErrClosed):
				return purge.Delivery{}, purge.ErrClosed
			}
			return purge.Delivery{}, err
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				return purge.Delivery{Reset: true}, nil
			}
		case *redis.Message:
			return purge.Delivery{Data: []byte(m.Payload)}, nil
		}
		// Pongs and other replies: keep waiting.
	}
}

func (s *subscription) Close() error { return s.ps.Close() }
