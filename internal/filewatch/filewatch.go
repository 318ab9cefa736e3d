// Package filewatch calls back when files change: configuration the
// programs reload without a restart (policy files, certificates).
package filewatch

import (
	"context"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Settle is how long a change waits for more before the callback runs:
// an editor writes a file in several steps (truncate, write, rename).
const Settle = 100 * time.Millisecond

// Watch calls changed once the files settle after a change, until ctx
// ends, and failed with the watcher's errors. It watches the files'
// directories, since editors and config managers replace a file by
// renaming another over it. With no files it returns at once.
func Watch(ctx context.Context, files []string, changed func(), failed func(error)) error {
	watched := map[string]bool{}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		watched[abs] = true
	}
	if len(watched) == 0 {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	for f := range watched {
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
			if abs, err := filepath.Abs(ev.Name); err == nil && watched[abs] {
				settle.Reset(Settle)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			failed(err)
		case <-settle.C:
			changed()
		}
	}
}
