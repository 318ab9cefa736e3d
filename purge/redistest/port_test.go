package redistest

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
)

// A port taken between freePort and redis-server's bind is reported as
// errPortTaken, which StartWith answers with another port.
func TestPortTakenMeanwhile(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := &Server{t: t, bin: bin, dir: t.TempDir(), port: l.Addr().(*net.TCPAddr).Port}
	s.log = filepath.Join(s.dir, "redis.log")
	t.Cleanup(s.stop)
	if err := s.start(); !errors.Is(err, errPortTaken) {
		t.Fatalf("start on a taken port: %v, want errPortTaken\n%s", err, s.logFile().Tail(20))
	}
	if s.Pid() != 0 {
		t.Fatal("a server that failed to bind is still recorded as running")
	}
}
