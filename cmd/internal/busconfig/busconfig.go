// Package busconfig is the purge bus part of both commands' config: which
// Redis carries purges between an origin and its edges.
package busconfig

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/edgecdn/edge/purge"
	"github.com/edgecdn/edge/purge/redisbus"
)

// Config is inlined in both commands' YAML files.
type Config struct {
	// Redis is the bus URL (redis://, rediss://; see redisbus.Config).
	Redis string `yaml:"redis"`
	// RedisChannel defaults to redisbus.DefaultChannel.
	RedisChannel string `yaml:"redis_channel"`
	// RedisTLSCA is a PEM file of CAs for rediss:// with a private CA.
	RedisTLSCA string `yaml:"redis_tls_ca"`
	// BusKey signs and checks every bus message (HMAC-SHA256), so that a
	// client with only Redis access cannot purge or forge the sequence;
	// EnvBusKey overrides it. Origin and edges need the same key.
	BusKey string `yaml:"bus_key"`
}

// EnvBusKey is the environment variable that carries the bus key.
const EnvBusKey = "EDGE_BUS_KEY"

// Open returns the Redis bus, or nil when none is configured. A Redis
// that does not answer yet is not an error (the bus retries), but it is
// logged, with the reason, so a wrong URL or password shows at start.
// With a bus key, the bus signs and checks every message.
func (c Config) Open(log *zap.Logger) (purge.Bus, error) {
	if c.Redis == "" {
		return nil, nil
	}
	key := c.BusKey
	if k := os.Getenv(EnvBusKey); k != "" {
		key = k
	}
	b, err := redisbus.Open(redisbus.Config{URL: c.Redis, Channel: c.RedisChannel, TLSCAFile: c.RedisTLSCA})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		for _, refused := range []string{"WRONGPASS", "NOAUTH", "NOPERM"} {
			if strings.HasPrefix(err.Error(), refused) {
				b.Close()
				return nil, fmt.Errorf("redis refused the credentials of %s: %v (check the user and password in the URL)", redisbus.Redact(c.Redis), err)
			}
		}
		log.Warn("the purge bus's Redis does not answer yet; retrying in the background", zap.Error(err))
	}
	if key == "" {
		log.Warn("the purge bus is not authenticated: anyone who can reach its Redis can purge; set bus_key or " + EnvBusKey + " (the same on the origin and every edge)")
		return b, nil
	}
	signed, err := purge.Authenticated(b, []byte(key))
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("bus_key: %w", err)
	}
	return signed, nil
}
