package purge

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is where an edge with no configured purge token keeps the one
// it generated on first start, readable by its owner only.
const TokenFile = "purge-token"

// LoadOrCreateToken returns the token saved in dir, or generates, saves
// (mode 0600) and returns a new one; created says which, so the caller
// prints a new token exactly once.
func LoadOrCreateToken(dir string) (token string, created bool, err error) {
	path := filepath.Join(dir, TokenFile)
	data, err := os.ReadFile(path)
	if err == nil {
		token = strings.TrimSpace(string(data))
		if len(token) < 16 {
			return "", false, fmt.Errorf("%s is damaged: delete it to generate a new purge token", path)
		}
		return token, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, err
	}
	var b [24]byte
	rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, err
	}
	// A new file of our own, mode 0600: os.WriteFile would reuse the mode
	// of a temporary file left over by a crash, maybe readable by all.
	f, err := os.CreateTemp(dir, TokenFile+".tmp*")
	if err != nil {
		return "", false, err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	_, err = f.WriteString(token + "\n")
	if err == nil {
		err = f.Sync() // the token is printed once: it must not be lost
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", false, err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return "", false, err
	}
	return token, true, nil
}
