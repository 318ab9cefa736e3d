// Package s3keys decides the key pair of the S3 API for both commands: the
// environment first, then the config file, else a pair generated in the
// data directory and printed once.
package s3keys

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/edgecdn/edge/origin/s3"
)

// The environment variables that carry a key pair.
const (
	EnvAccessKeyID     = "EDGE_ACCESS_KEY_ID"
	EnvSecretAccessKey = "EDGE_SECRET_ACCESS_KEY"
)

// Resolve returns the pair to serve with. Half a pair, in the environment
// or in the file, is an error naming what to set: a server that silently
// generated keys instead would reject the client its user configured.
func Resolve(configured s3.Keys, dataDir string, stdout io.Writer) (s3.Keys, error) {
	env := s3.Keys{AccessKeyID: os.Getenv(EnvAccessKeyID), SecretAccessKey: os.Getenv(EnvSecretAccessKey)}
	switch {
	case env.AccessKeyID != "" || env.SecretAccessKey != "":
		if env.AccessKeyID == "" || env.SecretAccessKey == "" {
			return s3.Keys{}, fmt.Errorf("set both %s and %s, or neither", EnvAccessKeyID, EnvSecretAccessKey)
		}
		return env, nil
	case configured.AccessKeyID != "" || configured.SecretAccessKey != "":
		if configured.AccessKeyID == "" || configured.SecretAccessKey == "" {
			return s3.Keys{}, errors.New("config: set both access_key_id and secret_access_key (or " + EnvAccessKeyID + " and " + EnvSecretAccessKey + "), or neither to have a pair generated")
		}
		return configured, nil
	}
	keys, created, err := s3.LoadOrCreateKeys(dataDir)
	if err != nil {
		return s3.Keys{}, err
	}
	if created {
		fmt.Fprintf(stdout, "Generated S3 credentials (saved in %s, shown once):\n  access key id:     %s\n  secret access key: %s\n",
			filepath.Join(dataDir, s3.KeysFile), keys.AccessKeyID, keys.SecretAccessKey)
	}
	return keys, nil
}
