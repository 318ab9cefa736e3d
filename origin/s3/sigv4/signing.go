package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

const (
	algorithm        = "AWS4-HMAC-SHA256"
	chunkAlgorithm   = "AWS4-HMAC-SHA256-PAYLOAD"
	trailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER"
	scopeTerminator  = "aws4_request"

	// emptySHA256 is the hex SHA-256 of no bytes; every chunk's string to
	// sign carries it in place of the (absent) chunk headers.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	// keyCacheSize bounds the derived-key cache: one entry per access key,
	// day, region and service, so a few hundred cover any real deployment.
	keyCacheSize = 256
)

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// deriveKey is the SigV4 signing key: an HMAC chain over the scope.
func deriveKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerminator)
}

type keyCacheKey struct {
	secret, date, region, service string
}

// signingKey returns the derived key, from the cache when it is there. The
// key changes once a day per access key, and deriving it costs four HMACs,
// as much as the rest of a small request's check.
func (v *Verifier) signingKey(secret, date, region, service string) []byte {
	ck := keyCacheKey{secret, date, region, service}
	v.mu.Lock()
	k, ok := v.keys[ck]
	v.mu.Unlock()
	if ok {
		return k
	}
	k = deriveKey(secret, date, region, service)
	v.mu.Lock()
	if v.keys == nil || len(v.keys) >= keyCacheSize {
		// Yesterday's keys are useless today; dropping everything at once
		// is simpler than an LRU and costs one derivation per live key.
		v.keys = make(map[keyCacheKey][]byte)
	}
	v.keys[ck] = k
	v.mu.Unlock()
	return k
}

// signature is the lower-case hex HMAC of a string to sign.
func signature(key []byte, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

func requestStringToSign(amzDate, scope, canonical string) string {
	return strings.Join([]string{algorithm, amzDate, scope, sha256Hex([]byte(canonical))}, "\n")
}

func chunkStringToSign(amzDate, scope, previous, dataSHA256 string) string {
	return strings.Join([]string{chunkAlgorithm, amzDate, scope, previous, emptySHA256, dataSHA256}, "\n")
}

func trailerStringToSign(amzDate, scope, previous, trailerSHA256 string) string {
	return strings.Join([]string{trailerAlgorithm, amzDate, scope, previous, trailerSHA256}, "\n")
}

// sameSignature compares a computed lower-case hex signature with the one
// the client sent, in constant time, ignoring the case of the hex digits.
func sameSignature(computed, sent string) bool {
	return hmac.Equal([]byte(computed), []byte(strings.ToLower(sent)))
}
