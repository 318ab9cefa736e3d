package s3

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KeysFile is where a server with no configured credentials keeps the pair
// it generated on first start, readable by its owner only.
const KeysFile = "s3-credentials.json"

// Keys is one access key pair.
type Keys struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// LoadOrCreateKeys returns the pair saved in dir, or generates, saves (mode
// 0600) and returns a new one; created says which, so the caller prints a
// new pair exactly once.
func LoadOrCreateKeys(dir string) (k Keys, created bool, err error) {
	path := filepath.Join(dir, KeysFile)
	data, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(data, &k); err != nil || k.AccessKeyID == "" || k.SecretAccessKey == "" {
			return k, false, fmt.Errorf("%s is damaged: delete it to generate a new key pair", path)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return k, false, err
	}
	k = Keys{AccessKeyID: "EDGE" + randomString(16, upperAlnum), SecretAccessKey: randomString(40, secretAlphabet)}
	data, err = json.MarshalIndent(k, "", "  ")
	if err != nil {
		return k, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return k, false, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return k, false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return k, false, err
	}
	return k, true, nil
}

const (
	upperAlnum     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
