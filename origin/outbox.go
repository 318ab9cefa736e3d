package origin

import (
	"encoding/binary"
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// The outbox is written in the same transaction as each change (see
// writeTx.record) and read by a publisher through the Outbox interface.

// EventsAfter returns up to max events with Seq > seq, in commit order.
func (e *Engine) EventsAfter(seq uint64, max int) ([]Event, error) {
	var out []Event
	err := e.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktOutbox).Cursor()
		for k, v := c.Seek(be64(seq + 1)); k != nil && len(out) < max; k, v = c.Next() {
			var ev Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, opError("EventsAfter", "", "", err)
}

// Ack drops the events up to and including seq.
func (e *Engine) Ack(seq uint64) error {
	err := e.db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bktOutbox)
		return deleteWhile(ob, func(k []byte) bool { return binary.BigEndian.Uint64(k) <= seq })
	})
	return opError("Ack", "", "", err)
}

// LastSeq is the sequence number of the newest committed change (0 if none).
func (e *Engine) LastSeq() (uint64, error) {
	var seq uint64
	err := e.view(func(tx *bolt.Tx) error {
		seq = tx.Bucket(bktOutbox).Sequence()
		return nil
	})
	return seq, opError("LastSeq", "", "", err)
}

// trimOutbox keeps at most limit events, dropping the oldest: a consumer
// that fell that far behind sees a gap in Seq and resynchronises.
func trimOutbox(ob *bolt.Bucket, newest uint64, limit int) error {
	return deleteWhile(ob, func(k []byte) bool { return newest-binary.BigEndian.Uint64(k) >= uint64(limit) })
}

// deleteWhile deletes the bucket's first keys while drop says so. Keys are
// collected first: deleting under a bbolt cursor can skip the next key.
func deleteWhile(b *bolt.Bucket, drop func(k []byte) bool) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && drop(k); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
