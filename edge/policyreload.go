package edge

import (
	"context"
	"errors"

	"github.com/edgecdn/edge/internal/filewatch"
	"go.uber.org/zap"

	"github.com/edgecdn/edge/policy/rules"
)

// ReloadPolicies reads every site's policy file again. A file that loads
// replaces its site's policy whole, so a fill decides by the old file or
// the new one, never a mix; one that does not leaves the old in force,
// and its error is returned, logged, counted in /metrics and shown on
// /readyz until a reload succeeds. The cache is kept either way.
func (e *Edge) ReloadPolicies() error {
	var errs []error
	for _, site := range e.sites.all {
		if site.PolicyFile == "" {
			continue
		}
		f, err := rules.Load(site.PolicyFile)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, w := range f.Warnings {
			e.log.Warn("policy file", zap.String("warning", w))
		}
		site.rules.Store(f)
	}
	e.stats.policyReloads.Add(1)
	err := errors.Join(errs...)
	if err != nil {
		e.stats.policyReloadErrors.Add(1)
		msg := err.Error()
		e.policyErr.Store(&msg)
		e.log.Error("policy reload refused: the previous policy stays in force", zap.Error(err))
		return err
	}
	e.policyErr.Store(nil)
	e.log.Info("policy files reloaded")
	return nil
}

// PolicyError is the error of the last policy reload, "" when it
// succeeded (or none ran).
func (e *Edge) PolicyError() string {
	if p := e.policyErr.Load(); p != nil {
		return *p
	}
	return ""
}

// WatchPolicies reloads the policy files when one of them changes, until
// ctx ends.
func (e *Edge) WatchPolicies(ctx context.Context) error {
	var files []string
	for _, site := range e.sites.all {
		if site.PolicyFile != "" {
			files = append(files, site.PolicyFile)
		}
	}
	return filewatch.Watch(ctx, files, func() { e.ReloadPolicies() }, // its error is logged and shown
		func(err error) { e.log.Warn("watching policy files", zap.Error(err)) })
}
