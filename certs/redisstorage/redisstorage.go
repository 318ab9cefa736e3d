// Package redisstorage keeps ACME's certificates, keys, challenge tokens
// and locks in Redis (certmagic.Storage), so that the edges sharing one
// Redis share their certificates and order each one once: the lock a
// certificate's order takes is one lock for all of them.
package redisstorage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every Redis key of the storage.
const DefaultPrefix = "edge:acme"

// Storage is certmagic.Storage on Redis. A key's value and modification
// time are a hash; a sorted set of every key (all scores 0, so ordered
// by name) answers List, Exists and Delete of "directories".
type Storage struct {
	client redis.UniversalClient
	prefix string
	// Lease is how long a lock outlives a holder that stopped renewing
	// it (a crashed edge); held locks are renewed every Lease/3.
	Lease time.Duration
	// Poll is how often a waiting Lock tries again.
	Poll time.Duration

	mu    sync.Mutex
	held  map[string]*lock // by name
	local map[string]chan struct{}
	token func() string
}

type lock struct {
	token string
	stop  chan struct{}
	done  chan struct{}
}

var _ certmagic.Storage = (*Storage)(nil)

// New is a storage on client under prefix (DefaultPrefix if empty).
func New(client redis.UniversalClient, prefix string) *Storage {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Storage{client: client, prefix: prefix, Lease: time.Minute, Poll: time.Second, held: map[string]*lock{}, local: map[string]chan struct{}{},
		token: func() string {
			b := make([]byte, 16)
			rand.Read(b)
			return hex.EncodeToString(b)
		}}
}

func (s *Storage) valueKey(key string) string { return s.prefix + ":v:" + key }
func (s *Storage) indexKey() string           { return s.prefix + ":keys" }
func (s *Storage) lockKey(name string) string { return s.prefix + ":lock:" + name }

// Store puts value at key, with its modification time.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.valueKey(key), "value", value, "modified", strconv.FormatInt(time.Now().UnixNano(), 10))
		p.ZAdd(ctx, s.indexKey(), redis.Z{Member: key})
		return nil
	})
	return err
}

// Load is the value at key, or fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	v, err := s.client.HGet(ctx, s.valueKey(key), "value").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fs.ErrNotExist
	}
	return v, err
}

// under lists the keys below dir (every key, for "").
func (s *Storage) under(ctx context.Context, dir string) ([]string, error) {
	if dir == "" {
		return s.client.ZRange(ctx, s.indexKey(), 0, -1).Result()
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	return s.client.ZRangeByLex(ctx, s.indexKey(), &redis.ZRangeBy{Min: "[" + prefix, Max: "(" + prefix + "\xff"}).Result()
}

// Delete removes key and every key below it; a missing key is no error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	keys, err := s.under(ctx, key)
	if err != nil {
		return err
	}
	keys = append(keys, key)
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, s.valueKey(k))
			p.ZRem(ctx, s.indexKey(), k)
		}
		return nil
	})
	return err
}

// Exists: key is a key, or has keys below it.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	if n, err := s.client.Exists(ctx, s.valueKey(key)).Result(); err == nil && n > 0 {
		return true
	}
	keys, err := s.under(ctx, key)
	return err == nil && len(keys) > 0
}

// List is the keys in path: every key below it when recursive, else its
// direct entries (keys, and "directories" holding more).
func (s *Storage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	keys, err := s.under(ctx, path)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fs.ErrNotExist
	}
	if recursive {
		return keys, nil
	}
	prefix := ""
	if path != "" {
		prefix = strings.TrimSuffix(path, "/") + "/"
	}
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		rest := strings.TrimPrefix(k, prefix)
		entry, _, _ := strings.Cut(rest, "/")
		if !seen[entry] {
			seen[entry] = true
			out = append(out, prefix+entry)
		}
	}
	return out, nil
}

// Stat describes key: a key with its size and time, a "directory", or
// fs.ErrNotExist.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	h, err := s.client.HGetAll(ctx, s.valueKey(key)).Result()
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	if v, ok := h["value"]; ok {
		ns, _ := strconv.ParseInt(h["modified"], 10, 64)
		return certmagic.KeyInfo{Key: key, Modified: time.Unix(0, ns), Size: int64(len(v)), IsTerminal: true}, nil
	}
	if keys, err := s.under(ctx, key); err != nil {
		return certmagic.KeyInfo{}, err
	} else if len(keys) > 0 {
		return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
	}
	return certmagic.KeyInfo{}, fs.ErrNotExist
}

// Lock takes the named lock, waiting while another holds it (in this
// process or another edge), until ctx ends. The lock expires after Lease
// unless its holder renews it, so a crashed holder blocks no one long.
func (s *Storage) Lock(ctx context.Context, name string) error {
	// One holder per name in this process first: its bookkeeping (held)
	// is then never another's, even if a lease lapsed under it.
	if err := s.lockLocal(ctx, name); err != nil {
		return err
	}
	token := s.token()
	for {
		ok, err := s.client.SetNX(ctx, s.lockKey(name), token, s.Lease).Result()
		if err != nil {
			s.unlockLocal(name)
			return fmt.Errorf("redis lock %s: %w", name, err)
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			s.unlockLocal(name)
			return ctx.Err()
		case <-time.After(s.Poll):
		}
	}
	l := &lock{token: token, stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	s.held[name] = l
	s.mu.Unlock()
	go s.renew(name, l)
	return nil
}

// renew extends a held lock's lease until Unlock.
func (s *Storage) renew(name string, l *lock) {
	defer close(l.done)
	t := time.NewTicker(s.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.Lease/3)
			extendIfOurs.Run(ctx, s.client, []string{s.lockKey(name)}, l.token, s.Lease.Milliseconds())
			cancel()
		}
	}
}

// The scripts touch the lock only while it holds this holder's token: a
// lock that expired and was taken by another is never released or
// extended by its former holder.
var (
	extendIfOurs = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`)
	deleteIfOurs = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)
)

// Unlock releases a lock Lock took.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	l := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if l == nil {
		return fmt.Errorf("redis unlock %s: not locked here", name)
	}
	defer s.unlockLocal(name)
	close(l.stop)
	<-l.done
	// Released even when the caller's context is done (at shutdown), or
	// the lock would block the other edges for a whole lease.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return deleteIfOurs.Run(ctx, s.client, []string{s.lockKey(name)}, l.token).Err()
}

// lockLocal waits until no other caller in this process holds name.
func (s *Storage) lockLocal(ctx context.Context, name string) error {
	for {
		s.mu.Lock()
		ch, busy := s.local[name]
		if !busy {
			s.local[name] = make(chan struct{})
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (s *Storage) unlockLocal(name string) {
	s.mu.Lock()
	ch := s.local[name]
	delete(s.local, name)
	s.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}
