package edge

import "sync/atomic"

// stats are the edge's counters (exported as metrics by the admin server).
type stats struct {
	// hits, stale hits and misses are the sites' (metrics.go), summed.
	staleIfError, rejected                     atomic.Uint64
	originFetches, backgroundRefreshes, panics atomic.Uint64
	// originErrors counts origin requests that got no answer; collapsed
	// the requests served by a fill another request made.
	originErrors, collapsed atomic.Uint64
	// fillRequests counts requests that made or joined a fill, once
	// joined: until it moves, a waiter may still become a leader.
	fillRequests atomic.Uint64
	// rejoins counts waiters of a confirmed read that found their fill's
	// origin request older than themselves and waited for the next.
	rejoins atomic.Uint64
	// policyReloads counts policy reloads, policyReloadErrors the refused.
	policyReloads, policyReloadErrors atomic.Uint64
}

// Stats are the edge's request counters since start.
type Stats struct {
	Hits, StaleHits, StaleIfError, Misses, Rejected uint64
	OriginFetches, BackgroundRefreshes, Panics      uint64
	// FillRequests counts requests that made or joined an origin fill.
	FillRequests uint64
	// Rejoins counts requests that waited for a second fill, their first
	// having asked the origin before they arrived (strong reads).
	Rejoins uint64
}

// Stats returns the current counters.
func (e *Edge) Stats() Stats {
	return Stats{
		Hits: e.results(resultHit), StaleHits: e.results(resultStale), StaleIfError: e.stats.staleIfError.Load(),
		Misses: e.results(resultMiss), Rejected: e.stats.rejected.Load(), OriginFetches: e.stats.originFetches.Load(),
		BackgroundRefreshes: e.stats.backgroundRefreshes.Load(), Panics: e.stats.panics.Load(),
		FillRequests: e.stats.fillRequests.Load(), Rejoins: e.stats.rejoins.Load(),
	}
}
