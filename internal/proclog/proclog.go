// Package proclog holds what the test helpers that run a server process
// (redis-server, the Versity S3 Gateway) share: a free port to start it
// on, and the log file its output goes to, read back to see it start and
// to explain a failure.
package proclog

import (
	"bytes"
	"fmt"
	"net"
	"os"
)

// FreePort is a loopback port that was free a moment ago: the process may
// still lose it to another, so callers retry on "address in use".
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Log is a process's output file; Name says whose it is in messages.
type Log struct {
	Path, Name string
}

// Append opens the log for a new run of the process to write to, and
// says where that run's part begins (for Since).
func (l Log) Append() (f *os.File, start int64, err error) {
	f, err = os.OpenFile(l.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// Since is what the log holds from byte off on ("" when it holds less).
func (l Log) Since(off int64) string {
	b, err := os.ReadFile(l.Path)
	if err != nil || int64(len(b)) < off {
		return ""
	}
	return string(b[off:])
}

// Tail is the log's last n lines, for a failure message.
func (l Log) Tail(n int) string {
	b, err := os.ReadFile(l.Path)
	if err != nil {
		return "(no " + l.Name + " log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return l.Name + " log (" + l.Path + "), last lines:\n" + string(bytes.Join(lines, []byte("\n")))
}
