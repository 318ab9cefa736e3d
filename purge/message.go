package purge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the message format this package writes and reads. A message
// of another version is refused whole (ErrBadMessage): a subscriber that
// cannot read a purge must count it as lost, never apply part of it.
const Version = 1

// Type says what a message is for.
type Type string

const (
	// TypePurge carries invalidations.
	TypePurge Type = "purge"
	// TypeHeartbeat says "I am alive and my last message was Seq", so that
	// silence and lost messages can be told apart from a quiet store.
	TypeHeartbeat Type = "heartbeat"
	// TypeAck says the sender applied the publisher AckOf's messages up to
	// Seq (purges of the purge API, for ?wait=1).
	TypeAck Type = "ack"
)

// Role is what a publisher is: its silence means different things.
type Role string

const (
	// RoleOrigin publishes the store's committed writes; while it is not
	// heard, writes may be going unannounced.
	RoleOrigin Role = "origin"
	// RoleEdge publishes purges of the purge API and acknowledgements.
	RoleEdge Role = "edge"
)

// Kind is what one purge item invalidates.
type Kind string

// The kinds of purge item. Objects and buckets come from the store's
// writes and name a bucket; the others come from the purge API and name
// what a client sees: hosts and URL paths.
const (
	KindObject     Kind = "object"     // Bucket, Key (object key), Generation
	KindBucket     Kind = "bucket"     // Bucket: every object of it
	KindURL        Kind = "url"        // Host, Key (raw URL path)
	KindPrefix     Kind = "prefix"     // Host, Key (raw URL path prefix)
	KindTag        Kind = "tag"        // Key (tag), optionally limited to Message.Scope
	KindHost       Kind = "host"       // Host: everything of its site
	KindEverything Kind = "everything" // all, optionally limited to Message.Scope
)

// Item is one invalidation.
type Item struct {
	Kind   Kind   `json:"kind"`
	Bucket string `json:"bucket,omitempty"`
	Host   string `json:"host,omitempty"`
	Key    string `json:"key,omitempty"`
	// Generation, for KindObject, is the object's generation after the
	// write: entries and fills of older generations are invalidated.
	Generation int64 `json:"gen,omitempty"`
}

// Message is what travels on the bus. Every publisher numbers its purge
// messages 1, 2, 3… (the origin: by the store's sequence), so that a
// subscriber sees a loss as a gap; heartbeats carry the last number.
type Message struct {
	V    int  `json:"v"`
	Type Type `json:"type"`
	// Publisher identifies the sending process (a new id every start) and
	// Role what it is.
	Publisher string `json:"pub"`
	Role      Role   `json:"role"`
	// Seq is the purge's number, or for a heartbeat the number of the
	// publisher's last purge, or for an ack the last number applied.
	Seq uint64 `json:"seq"`
	// First is the number of this publisher's first purge since it
	// started: a subscriber meeting a publisher at any later number has
	// missed some.
	First uint64 `json:"first"`
	// Issued is when the publisher sent it, for propagation measurements.
	Issued time.Time `json:"issued"`
	// Soft marks matched entries stale (to revalidate) instead of removing them.
	Soft bool `json:"soft,omitempty"`
	// Scope limits tag and everything items to these hosts' sites (a
	// purge token allowed only some hosts); empty is no limit.
	Scope []string `json:"scope,omitempty"`
	Items []Item   `json:"items,omitempty"`
	// AckOf is the publisher whose purges an ack acknowledges.
	AckOf string `json:"ack_of,omitempty"`
}

// Limits a decoded message must respect: a subscriber never works on an
// unbounded message.
const (
	// MaxItems is the most items one message (one purge API call) carries.
	MaxItems = 1000
	// MaxMessageBytes bounds an encoded message.
	MaxMessageBytes = 4 << 20
)

// ErrBadMessage is returned by Decode for anything that is not a valid
// message of this version.
var ErrBadMessage = errors.New("purge: bad message")

// Encode returns the wire form of m; a message too big for Decode to take
// is refused here, not dropped by every receiver.
func Encode(m *Message) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxMessageBytes {
		return nil, fmt.Errorf("%w: %d bytes encoded, over %d", ErrBadMessage, len(data), MaxMessageBytes)
	}
	return data, nil
}

// Decode parses and validates a message; on any error nothing of it may be
// used.
func Decode(data []byte) (*Message, error) {
	if len(data) > MaxMessageBytes {
		return nil, fmt.Errorf("%w: %d bytes, over %d", ErrBadMessage, len(data), MaxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the message", ErrBadMessage)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Message) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadMessage}, args...)...)
	}
	switch {
	case m.V != Version:
		return bad("version %d, this build reads %d", m.V, Version)
	case m.Publisher == "":
		return bad("no publisher")
	case m.Role != RoleOrigin && m.Role != RoleEdge:
		return bad("role %q", m.Role)
	case len(m.Items) > MaxItems:
		return bad("%d items, over %d", len(m.Items), MaxItems)
	}
	switch m.Type {
	case TypePurge:
		if m.Seq == 0 || len(m.Items) == 0 {
			return bad("a purge needs a sequence number and items")
		}
		if m.First == 0 || m.First > m.Seq {
			return bad("first %d does not precede seq %d", m.First, m.Seq)
		}
		for i := range m.Items {
			if err := m.Items[i].validate(); err != nil {
				return bad("item %d: %v", i, err)
			}
		}
	case TypeHeartbeat:
		if len(m.Items) > 0 || m.First == 0 || m.First > m.Seq+1 {
			return bad("heartbeat with items, or first %d after seq %d", m.First, m.Seq)
		}
	case TypeAck:
		if m.AckOf == "" || len(m.Items) > 0 {
			return bad("ack without ack_of, or with items")
		}
	default:
		return bad("type %q", m.Type)
	}
	return nil
}

func (it *Item) validate() error {
	need := func(ok bool, what string) error {
		if !ok {
			return fmt.Errorf("%s item needs %s", it.Kind, what)
		}
		return nil
	}
	switch it.Kind {
	case KindObject:
		return need(it.Bucket != "" && it.Key != "" && it.Generation >= 0, "bucket, key and a generation ≥ 0")
	case KindBucket:
		return need(it.Bucket != "", "a bucket")
	case KindURL, KindPrefix:
		return need(it.Host != "" && len(it.Key) > 0 && it.Key[0] == '/', "a host and a path starting with /")
	case KindTag:
		return need(it.Key != "", "a tag")
	case KindHost:
		return need(it.Host != "", "a host")
	case KindEverything:
		return nil
	}
	return fmt.Errorf("kind %q", it.Kind)
}
