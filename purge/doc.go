// Package purge carries invalidations from where things change to every
// edge: the store's committed writes, and the purge API's calls. It knows
// nothing of how a cache stores entries; an edge is a Target.
//
// # Model
//
// A Bus moves encoded Messages from publishers to every subscriber, at
// most once (Local in process; redisbus on Redis pub/sub). Because a
// subscriber may miss messages, the bus carries hints and the subscriber
// keeps the cache safe:
//
//   - Publishers number their purges 1, 2, 3… (the store's publisher,
//     OutboxPublisher, by the store's own sequence, from its durable
//     outbox, off the write path) and send a heartbeat every 100 ms that
//     carries the last number.
//   - A Subscriber applies purges in order per publisher. A gap in the
//     numbers, a heartbeat ahead of the last purge, or a publisher met
//     after its first purge means purges were lost: it flushes the Target
//     (an O(1) new cache epoch). Duplicates and purges older than a gap
//     are skipped.
//   - Silence from every origin publisher for longer than the timeout
//     (500 ms), or a broken subscription, makes the bus unhealthy: the
//     Target is flushed and degraded (every hit revalidated with the
//     origin) until heartbeats flow again, when it is flushed once more.
//   - The purge API (API) applies a purge locally before it answers, then
//     publishes it; edges acknowledge API purges on the bus, so ?wait=1
//     can report which live edges (heard within 3 s) applied it.
//
// # Caveats
//
//   - A message that does not decode is dropped whole and counted; it
//     then shows as a gap.
//   - Publisher ids change at every start: a restarted origin is a new
//     publisher, met at its first number.
//   - A failed publish still uses up its number, so the loss is found at
//     the next heartbeat.
//   - Sequence numbers are per publisher; purges of different publishers
//     are not ordered with each other, and need not be: object purges
//     carry generations, and API purges only ever remove.
package purge
