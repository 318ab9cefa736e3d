package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/edgecdn/edge/cmd/internal/purgetoken"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/purge"
	"github.com/prometheus/client_golang/prometheus"
)

// purging is the running purge machinery of one edge process.
type purging struct {
	outbox *purge.OutboxPublisher // nil without an embedded store
	admin  edge.AdminOptions
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// stop ends the bus, its publishers and subscriber, and waits for them.
func (p *purging) stop() {
	p.cancel()
	p.wg.Wait()
}

func (p *purging) goRun(f func()) {
	p.wg.Add(1)
	go func() { defer p.wg.Done(); f() }()
}

// startPurging wires the purge bus: Redis when configured, else an
// in-process bus (enough for the all-in-one, whose store is in the same
// process, and for the purge API of a lone edge). It refuses an edge
// whose purge-mode sites could never hear of their origin's writes.
// The machinery runs until stop; on an error nothing is left running.
func startPurging(cfg config, ed *edge.Edge, store *origin.Engine, log *zap.Logger, stdout io.Writer) (_ *purging, err error) {
	redis, err := cfg.Config.Open(log)
	if err != nil {
		return nil, err
	}
	var bus purge.Bus = purge.NewLocal()
	if redis != nil {
		bus = redis
	}
	carriesOrigin := redis != nil || store != nil
	if ed.NeedsPurges() && !carriesOrigin && !cfg.AllowUnboundedStaleness {
		bus.Close()
		return nil, errors.New("sites with consistency purge need to hear of the origin's writes, and this edge has no purge bus: " +
			"give -redis redis://host:6379 (the Redis cmd/origin publishes to), or set consistency: ttl on those sites, " +
			"or set allow_unbounded_staleness: true to serve them stale until their TTL")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &purging{admin: edge.AdminOptions{Unbounded: ed.NeedsPurges() && !carriesOrigin}, cancel: cancel}
	defer func() {
		if err != nil {
			p.stop()
		}
	}()
	// The bus closes after the outbox publisher's last flush.
	flushed := make(chan struct{})
	p.goRun(func() { <-ctx.Done(); <-flushed; bus.Close() })
	if store != nil {
		p.outbox = purge.NewOutboxPublisher(bus, store, purge.OutboxConfig{Logger: log})
		p.goRun(func() {
			defer close(flushed)
			if err := p.outbox.Run(ctx); err != nil {
				log.Error("purge publisher stopped", zap.Error(err))
			}
		})
	} else {
		close(flushed)
	}
	self := purge.NewPublisher(bus, nil)
	p.goRun(func() { self.Heartbeats(ctx, purge.DefaultHeartbeat) })
	delays := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "edge_purge_propagation_seconds", Help: "From a purge's publishing (its publisher's clock) to this edge applying it, by who sent it: origin (a write) or edge (the purge API).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18), // 0.1 ms to 13 s
	}, []string{"from"})
	fromOrigin, fromEdge := delays.WithLabelValues("origin"), delays.WithLabelValues("edge")
	p.admin.Collectors = append(p.admin.Collectors, delays)
	sub := purge.NewSubscriber(purge.SubscriberConfig{
		OnApplied: func(d time.Duration, origin bool) {
			if origin {
				fromOrigin.Observe(d.Seconds())
			} else {
				fromEdge.Observe(d.Seconds())
			}
		},
		Bus: bus, Target: ed, Self: self, Silence: cfg.BusSilence, Logger: log,
		RequireOrigin: ed.NeedsPurges() && !cfg.AllowUnboundedStaleness,
	})
	p.goRun(func() { sub.Run(ctx) })
	p.admin.Bus = sub

	tokens, err := purgeTokens(cfg, stdout)
	if err != nil {
		return nil, err
	}
	api, err := purge.NewAPI(purge.APIConfig{
		Tokens: tokens, Serves: ed.ServesHost, Target: ed, Publisher: self, Subscriber: sub,
		Rate: cfg.Purge.Rate, Burst: cfg.Purge.Burst, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	p.admin.Purge = api
	log.Info("purge bus", zap.Bool("redis", redis != nil), zap.String("publisher", self.ID()))
	return p, nil
}

// purgeTokens are the config's tokens, else EDGE_PURGE_TOKEN (every
// host), else the data directory's token, generated and printed once.
func purgeTokens(cfg config, stdout io.Writer) ([]purge.Token, error) {
	if len(cfg.Purge.Tokens) > 0 {
		return cfg.Purge.Tokens, nil
	}
	if t := purgetoken.FromEnv(); t != "" {
		return []purge.Token{{Token: t}}, nil
	}
	t, created, err := purge.LoadOrCreateToken(cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("purge token: %w", err)
	}
	if created {
		fmt.Fprintf(stdout, "Generated a purge API token (saved in %s, shown once):\n  %s\n", filepath.Join(cfg.Data, purge.TokenFile), t)
	}
	return []purge.Token{{Token: t}}, nil
}
