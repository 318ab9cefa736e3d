// Package redistest starts a real redis-server for one test: on a free
// loopback port, without a config file or persistence, its data directory
// and log in the test's temporary directory, and killed when the test ends
// (pass or fail, even on a panic). A killed, restarted or paused server lets
// a test exercise the faults the purge bus must survive.
//
// It is used only by tests. redis-server must be on PATH: `make test`
// installs it (as root, from Debian's packages); a missing binary fails the
// test, it is never skipped.
package redistest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgecdn/edge/certs/certstest"
	"github.com/edgecdn/edge/internal/proclog"

	"github.com/redis/go-redis/v9"
)

// How long Start and Restart wait for a PING answer, and how long a SIGTERM
// may take before SIGKILL.
const (
	readyTimeout = 10 * time.Second
	termTimeout  = 2 * time.Second
	bindAttempts = 5
)

// Options changes how the server starts. The zero value is a plain server:
// no password, no TLS.
type Options struct {
	// Password, if not empty, is the default user's password
	// (--requirepass). Client and ClientWith use it.
	Password string
	// Users are ACL users (redis ≥ 6.2), each allowed every key, channel
	// and command: --user NAME on >PASSWORD ~* &* +@all.
	Users []User
	// TLS adds a TLS port (TLSAddr) beside the plain one, with a
	// certificate for 127.0.0.1 signed by a CA made for this server
	// (TLSConfig trusts it). Clients are not asked for certificates.
	TLS bool
	// Args are more redis-server arguments, e.g. "--maxmemory", "10mb".
	Args []string
}

// User is an ACL user of Options.Users.
type User struct {
	Name, Password string
}

// Server is one redis-server process. Its methods are meant for the test's
// own goroutine (they call t.Fatal).
type Server struct {
	t    testing.TB
	opts Options
	bin  string
	dir  string
	log  string // stdout and stderr of every run, appended

	port, tlsPort int
	tlsConfig     *tls.Config // nil without Options.TLS

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil when not running
	exited chan struct{} // closed when cmd has been waited for
}

// Start starts a plain redis-server for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a redis-server with opts for t and stops it when t ends.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not on PATH: install it with `apt-get install -y redis-server` (or run `make test`, which installs it as root)")
	}
	s := &Server{t: t, opts: opts, bin: bin, dir: t.TempDir()}
	s.log = filepath.Join(s.dir, "redis.log")
	if opts.TLS {
		// ca.crt, and server.crt and server.key for 127.0.0.1.
		ca := certstest.New(t)
		ca.Issue(t, s.dir, "server", "127.0.0.1", "localhost")
		if err := os.WriteFile(filepath.Join(s.dir, "ca.crt"), ca.PEM(), 0o600); err != nil {
			t.Fatalf("redistest: TLS certificates: %v", err)
		}
		s.tlsConfig = &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	}
	t.Cleanup(s.stop)

	var last error
	for range bindAttempts {
		if s.port, err = proclog.FreePort(); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		if opts.TLS {
			if s.tlsPort, err = proclog.FreePort(); err != nil {
				t.Fatalf("redistest: %v", err)
			}
		}
		if last = s.start(); last == nil {
			return s
		}
		if !errors.Is(last, errPortTaken) {
			break
		}
	}
	t.Fatalf("redistest: %v\n%s", last, s.logFile().Tail(20))
	return nil
}

// Addr is the plain port's address, "127.0.0.1:N".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is "redis://127.0.0.1:N/0" (without credentials).
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Port is the plain port.
func (s *Server) Port() int { return s.port }

// TLSAddr is the TLS port's address; empty without Options.TLS.
func (s *Server) TLSAddr() string {
	if s.tlsPort == 0 {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.tlsPort))
}

// TLSURL is "rediss://127.0.0.1:M/0"; empty without Options.TLS.
func (s *Server) TLSURL() string {
	if s.tlsPort == 0 {
		return ""
	}
	return "rediss://" + s.TLSAddr() + "/0"
}

// TLSConfig is a client configuration that trusts the server's CA (a new
// copy each call); nil without Options.TLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.tlsConfig == nil {
		return nil
	}
	return s.tlsConfig.Clone()
}

// CAPool holds the CA that signed the server's certificate; nil without
// Options.TLS.
func (s *Server) CAPool() *x509.CertPool {
	if s.tlsConfig == nil {
		return nil
	}
	return s.tlsConfig.RootCAs
}

// Dir is the server's data directory (the test's temporary directory),
// which also holds its log, redis.log.
func (s *Server) Dir() string { return s.dir }

// Pid is the running server's process id, 0 when it is not running.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Client is a new client of the plain port, as the default user (with
// Options.Password), closed when the test ends. Each call makes a new one.
// Its commands end at their context's deadline (ContextTimeoutEnabled),
// so a test can bound a command sent to a paused server.
func (s *Server) Client() *redis.Client {
	return s.ClientWith(nil)
}

// ClientWith is Client with its options changed by edit first (Username,
// Password, timeouts; Addr and TLSConfig for the TLS port), closed when
// the test ends.
func (s *Server) ClientWith(edit func(*redis.Options)) *redis.Client {
	o := &redis.Options{Addr: s.Addr(), Password: s.opts.Password, ContextTimeoutEnabled: true}
	if edit != nil {
		edit(o)
	}
	c := redis.NewClient(o)
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// Kill stops the server with SIGKILL and waits for it to exit: connections
// break at once. Its data is lost (there is no persistence). Killing a
// stopped server does nothing.
func (s *Server) Kill() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

// Restart starts the server again on the same port(s), killing it first if
// it runs, and waits until it answers PING. It starts empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	s.killLocked()
	s.mu.Unlock()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart on %s: %v\n%s", s.Addr(), err, s.logFile().Tail(20))
	}
}

// Pause stops the process with SIGSTOP: a silent fault. Connections stay
// open and new ones are still accepted by the kernel, but nothing answers
// until Resume.
func (s *Server) Pause() {
	s.t.Helper()
	s.signal(syscall.SIGSTOP)
}

// Resume continues a paused server (SIGCONT); what was sent meanwhile is
// answered then.
func (s *Server) Resume() {
	s.t.Helper()
	s.signal(syscall.SIGCONT)
}

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("redistest: %v: the server is not running", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: %v: %v", sig, err)
	}
}

var errPortTaken = errors.New("port taken")

// start runs redis-server on s.port (and s.tlsPort) and waits until it
// says it is ready and answers PING.
func (s *Server) start() error {
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--protected-mode", "no",
		"--daemonize", "no",
		"--dir", s.dir,
		"--logfile", "", // stdout, which goes to s.log
	}
	if s.opts.Password != "" {
		args = append(args, "--requirepass", s.opts.Password)
	}
	for _, u := range s.opts.Users {
		args = append(args, "--user", u.Name, "on", ">"+u.Password, "~*", "&*", "+@all")
	}
	if s.opts.TLS {
		args = append(args,
			"--tls-port", strconv.Itoa(s.tlsPort),
			"--tls-cert-file", filepath.Join(s.dir, "server.crt"),
			"--tls-key-file", filepath.Join(s.dir, "server.key"),
			"--tls-ca-cert-file", filepath.Join(s.dir, "ca.crt"),
			"--tls-auth-clients", "no",
		)
	}
	args = append(args, s.opts.Args...)

	logf, logStart, err := s.logFile().Append() // logStart: where this run's part begins
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy

	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the test binary die without its cleanups (a -timeout panic,
	// SIGKILL), the kernel kills the server too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-exited:
			s.mu.Lock()
			s.cmd, s.exited = nil, nil
			s.mu.Unlock()
			if strings.Contains(s.logFile().Since(logStart), "Address already in use") {
				return fmt.Errorf("%w: %s", errPortTaken, cmd.ProcessState)
			}
			return fmt.Errorf("redis-server %s", cmd.ProcessState)
		default:
		}
		// Our process logged that it listens (so the port is ours, not a
		// stranger's) and it answers.
		if strings.Contains(s.logFile().Since(logStart), "Ready to accept connections") && ping(s.Addr()) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.mu.Lock()
			s.killLocked()
			s.mu.Unlock()
			return fmt.Errorf("redis-server did not answer PING on %s within %v", s.Addr(), readyTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killLocked sends SIGKILL and waits for the exit. s.mu is held.
func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
}

// stop is the cleanup: SIGTERM (after SIGCONT, should it be paused), then
// SIGKILL if it has not exited within termTimeout.
func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		s.cmd, s.exited = nil, nil
	case <-time.After(termTimeout):
		s.killLocked()
	}
}

// ping sends an inline PING and reads one reply line. Any reply but
// -LOADING means the server serves (-NOAUTH included).
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line == "" || (line[0] != '+' && line[0] != '-') || strings.HasPrefix(line, "-LOADING") {
		return fmt.Errorf("PING: %q", line)
	}
	return nil
}

func (s *Server) logFile() proclog.Log { return proclog.Log{Path: s.log, Name: "redis-server"} }
