package purge_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/purge"
)

func purgeMsg(items ...purge.Item) *purge.Message {
	return &purge.Message{V: purge.Version, Type: purge.TypePurge, Publisher: "edge-1", Role: purge.RoleEdge, Seq: 3, First: 1,
		Issued: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Items: items}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range []*purge.Message{
		purgeMsg(purge.Item{Kind: purge.KindObject, Bucket: "b", Key: "a/b c", Generation: 42}),
		purgeMsg(purge.Item{Kind: purge.KindURL, Host: "cdn.example.com", Key: "/x%20y"}, purge.Item{Kind: purge.KindTag, Key: "t"}),
		{V: purge.Version, Type: purge.TypeHeartbeat, Publisher: "origin-1", Role: purge.RoleOrigin, Seq: 9, First: 5, Issued: time.Unix(1, 0).UTC()},
		{V: purge.Version, Type: purge.TypeHeartbeat, Publisher: "edge-2", Role: purge.RoleEdge, Seq: 0, First: 1, Issued: time.Unix(1, 0).UTC()},
		{V: purge.Version, Type: purge.TypeAck, Publisher: "edge-2", Role: purge.RoleEdge, Seq: 4, First: 1, AckOf: "edge-1", Issued: time.Unix(1, 0).UTC()},
	} {
		data, err := purge.Encode(m)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", m, err)
		}
		got, err := purge.Decode(data)
		if err != nil {
			t.Fatalf("Decode(%s): %v", data, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip:\n got  %+v\n want %+v", got, m)
		}
	}
}

// A message that is not wholly valid is refused whole: nothing of it may
// be applied.
func TestDecodeRefuses(t *testing.T) {
	ok := `{"v":1,"type":"purge","pub":"p","role":"edge","seq":2,"first":1,"issued":"2026-11-25T12:00:00Z","items":[{"kind":"tag","key":"t"}]}`
	if _, err := purge.Decode([]byte(ok)); err != nil {
		t.Fatalf("the valid base message: %v", err)
	}
	bad := map[string]string{
		"another version":       strings.Replace(ok, `"v":1`, `"v":2`, 1),
		"unknown field":         strings.Replace(ok, `"v":1`, `"v":1,"x":1`, 1),
		"trailing data":         ok + `{}`,
		"no publisher":          strings.Replace(ok, `"pub":"p"`, `"pub":""`, 1),
		"bad role":              strings.Replace(ok, `"role":"edge"`, `"role":"cdn"`, 1),
		"bad type":              strings.Replace(ok, `"type":"purge"`, `"type":"flush"`, 1),
		"purge without items":   strings.Replace(ok, `"items":[{"kind":"tag","key":"t"}]`, `"items":[]`, 1),
		"purge seq 0":           strings.Replace(ok, `"seq":2`, `"seq":0`, 1),
		"first after seq":       strings.Replace(ok, `"first":1`, `"first":3`, 1),
		"unknown kind":          strings.Replace(ok, `"kind":"tag"`, `"kind":"regex"`, 1),
		"tag without value":     strings.Replace(ok, `"key":"t"`, `"key":""`, 1),
		"url without slash":     strings.Replace(ok, `{"kind":"tag","key":"t"}`, `{"kind":"url","host":"h","key":"x"}`, 1),
		"object without bucket": strings.Replace(ok, `{"kind":"tag","key":"t"}`, `{"kind":"object","key":"k"}`, 1),
		"negative generation":   strings.Replace(ok, `{"kind":"tag","key":"t"}`, `{"kind":"object","bucket":"b","key":"k","gen":-1}`, 1),
		"ack without ack_of":    `{"v":1,"type":"ack","pub":"p","role":"edge","seq":2,"first":1,"issued":"2026-11-25T12:00:00Z"}`,
		"heartbeat with items":  strings.Replace(ok, `"type":"purge"`, `"type":"heartbeat"`, 1),
		"not JSON":              `purge everything`,
		"too long":              `{"v":1,"pub":"` + strings.Repeat("x", purge.MaxMessageBytes) + `"}`,
	}
	for name, data := range bad {
		if _, err := purge.Decode([]byte(data)); !errors.Is(err, purge.ErrBadMessage) {
			t.Errorf("%s: Decode err = %v, want ErrBadMessage", name, err)
		}
	}
	items := make([]purge.Item, purge.MaxItems+1)
	for i := range items {
		items[i] = purge.Item{Kind: purge.KindTag, Key: "t"}
	}
	if _, err := purge.Encode(purgeMsg(items...)); !errors.Is(err, purge.ErrBadMessage) {
		t.Errorf("Encode of %d items: %v, want ErrBadMessage", len(items), err)
	}
}

// FuzzDecode: whatever arrives on the bus, Decode either refuses it or
// returns a message that is valid and encodes back to an equal message.
func FuzzDecode(f *testing.F) {
	for _, m := range []*purge.Message{
		purgeMsg(purge.Item{Kind: purge.KindObject, Bucket: "b", Key: "k", Generation: 1}),
		purgeMsg(purge.Item{Kind: purge.KindPrefix, Host: "h", Key: "/p/"}, purge.Item{Kind: purge.KindEverything}),
		{V: purge.Version, Type: purge.TypeHeartbeat, Publisher: "o", Role: purge.RoleOrigin, Seq: 1, First: 1},
	} {
		data, err := purge.Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := purge.Decode(data)
		if err != nil {
			if !errors.Is(err, purge.ErrBadMessage) {
				t.Fatalf("Decode error %v is not ErrBadMessage", err)
			}
			return
		}
		again, err := purge.Encode(m)
		if err != nil {
			t.Fatalf("a decoded message does not encode: %v", err)
		}
		m2, err := purge.Decode(again)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decoding changed the message: %v\n%+v\n%+v", err, m, m2)
		}
	})
}
