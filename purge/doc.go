// Package purge will hold purge messages, the bus (in-process and Redis
// pub/sub fed from the origin's outbox), the purge HTTP API and its tokens.
// See DESIGN.md; built by the purge issue.
package purge
