package edge

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
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

// reloadSettle is how long a change must rest before a reload: an editor
// writes a file in several steps (truncate, write, rename).
const reloadSettle = 100 * time.Millisecond

// WatchPolicies reloads the policy files when one of them changes, until
// ctx ends. It watches their directories, since editors and config
// managers replace a file by renaming another over it.
func (e *Edge) WatchPolicies(ctx context.Context) error {
	files := map[string]bool{}
	for _, site := range e.sites.all {
		if site.PolicyFile != "" {
			abs, err := filepath.Abs(site.PolicyFile)
			if err != nil {
				return err
			}
			files[abs] = true
		}
	}
	if len(files) == 0 {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	for f := range files {
		if err := w.Add(filepath.Dir(f)); err != nil {
			return err
		}
	}
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if abs, err := filepath.Abs(ev.Name); err == nil && files[abs] {
				settle.Reset(reloadSettle)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			e.log.Warn("watching policy files", zap.Error(err))
		case <-settle.C:
			e.ReloadPolicies() // its error is logged and shown
		}
	}
}
