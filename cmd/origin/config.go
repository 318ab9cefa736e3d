package main

import (
	"errors"

	"github.com/edgecdn/edge/cmd/internal/busconfig"
	"github.com/edgecdn/edge/cmd/internal/yamlfile"
)

// config is the origin server's YAML file; flags override its fields.
type config struct {
	Listen string `yaml:"listen"`
	// Admin serves /healthz and /metrics (default none: "" binds nothing).
	Admin           string   `yaml:"admin"`
	Data            string   `yaml:"data"`
	Region          string   `yaml:"region"`
	BaseDomain      string   `yaml:"base_domain"`
	AccessKeyID     string   `yaml:"access_key_id"`
	SecretAccessKey string   `yaml:"secret_access_key"`
	PublicBuckets   []string `yaml:"public_buckets"`
	MaxObjectSize   int64    `yaml:"max_object_size"`
	LogLevel        string   `yaml:"log_level"`
	LogFormat       string   `yaml:"log_format"` // json (default) or console
	// The purge bus the store's writes are published on, for the edges.
	busconfig.Config `yaml:",inline"`
}

func defaultConfig() config {
	return config{Listen: ":9000", Data: "./data", Region: "us-east-1", LogLevel: "info"}
}

// loadConfig reads path over the defaults, rejecting unknown fields so a
// typo is an error with its line number instead of a silent default.
func loadConfig(path string, cfg *config) error { return yamlfile.Decode(path, cfg) }

func (c *config) validate() error {
	if c.Region == "" {
		return errors.New("config: region must name the region clients sign for (us-east-1 if in doubt)")
	}
	if c.MaxObjectSize < 0 {
		return errors.New("config: max_object_size must be a positive number of bytes")
	}
	if c.Data == "" {
		return errors.New("config: data must name a directory")
	}
	return nil
}
