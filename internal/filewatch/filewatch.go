// Package filewatch calls back when files change: configuration the
// programs reload without a restart (policy files, certificates).
package filewatch

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Settle is how long a change waits for more before the callback runs:
// an editor writes a file in several steps (truncate, write, rename).
const Settle = 100 * time.Millisecond

// Watch calls changed once the files settle after a change, until ctx
// ends, and failed with the watcher's errors. It watches the files'
// directories, since editors and config managers replace a file by
// renaming another over it; and on any change in those directories it
// compares what each file (followed through symlinks) is, since
// Kubernetes updates a mounted Secret by swapping a directory symlink,
// an event that names none of the files. With no files it returns at
// once.
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
	states := map[string]state{}
	for f := range watched {
		states[f] = stateOf(f)
	}
	// moved: some watched file is not what it was.
	moved := func() bool {
		changedAny := false
		for f, was := range states {
			if now := stateOf(f); now != was {
				states[f] = now
				changedAny = true
			}
		}
		return changedAny
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
			if abs, err := filepath.Abs(ev.Name); err == nil && watched[abs] || moved() {
				settle.Reset(Settle)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			failed(err)
		case <-settle.C:
			moved() // what is now is what the callback sees
			changed()
		}
	}
}

// state is what a file is, through symlinks: a file replaced by another
// (a new inode) or rewritten (size, time) is a different state.
type state struct {
	ino, size int64
	mod       time.Time
}

func stateOf(path string) state {
	fi, err := os.Stat(path)
	if err != nil {
		return state{}
	}
	st := state{size: fi.Size(), mod: fi.ModTime()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = int64(sys.Ino)
	}
	return st
}
