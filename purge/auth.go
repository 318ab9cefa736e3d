package purge

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
)

// Authenticated wraps a bus so that every message carries an HMAC-SHA256
// of its bytes under key, and a message without the right one is refused
// (Delivery.Rejected) instead of delivered: a client that can only reach
// Redis can neither purge nor forge sequence numbers or heartbeats. Every
// publisher and subscriber of the bus must use the same key.
func Authenticated(b Bus, key []byte) (Bus, error) {
	if len(key) < 16 {
		return nil, errors.New("purge: the bus key must be at least 16 bytes (use a long random string)")
	}
	return &authBus{Bus: b, key: append([]byte(nil), key...)}, nil
}

type authBus struct {
	Bus
	key []byte
}

func (b *authBus) mac(data []byte) []byte {
	m := hmac.New(sha256.New, b.key)
	m.Write(data)
	return m.Sum(nil)
}

// Publish sends the MAC, then the message.
func (b *authBus) Publish(ctx context.Context, data []byte) error {
	return b.Bus.Publish(ctx, append(b.mac(data), data...))
}

func (b *authBus) Subscribe(ctx context.Context) (Subscription, error) {
	s, err := b.Bus.Subscribe(ctx)
	if err != nil {
		return nil, err
	}
	return &authSub{Subscription: s, bus: b}, nil
}

type authSub struct {
	Subscription
	bus *authBus
}

func (s *authSub) Receive(ctx context.Context) (Delivery, error) {
	d, err := s.Subscription.Receive(ctx)
	if err != nil || d.Reset {
		return d, err
	}
	if len(d.Data) < sha256.Size || !hmac.Equal(d.Data[:sha256.Size], s.bus.mac(d.Data[sha256.Size:])) {
		return Delivery{Rejected: "the message is not signed with the bus key"}, nil
	}
	return Delivery{Data: d.Data[sha256.Size:]}, nil
}
