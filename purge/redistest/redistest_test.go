package redistest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/edgecdn/edge/purge/redistest"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestStartSetGet(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(s.Addr()) {
		t.Fatalf("Addr = %q", s.Addr())
	}
	if want := "redis://" + s.Addr() + "/0"; s.URL() != want {
		t.Fatalf("URL = %q, want %q", s.URL(), want)
	}
	ctx := ctxT(t, 5*time.Second)
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// A second client, made from the URL, sees the same server.
	o, err := redis.ParseURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c2 := redis.NewClient(o)
	defer c2.Close()
	if got, err := c2.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET k = %q, %v", got, err)
	}
	// No persistence, no config file.
	cfg, err := c.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"save": "", "appendonly": "no", "bind": "127.0.0.1", "dir": s.Dir()} {
		if cfg[k] != want {
			t.Errorf("CONFIG %s = %q, want %q", k, cfg[k], want)
		}
	}
	if info := c.Info(ctx, "server").Val(); !strings.Contains(info, "config_file:\r\n") {
		t.Errorf("the server read a config file:\n%s", info)
	}
}

func TestPubSubRoundTrip(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	ctx := ctxT(t, 5*time.Second)
	sub := s.Client().Subscribe(ctx, "purge")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	if n, err := s.Client().Publish(ctx, "purge", "key:/a").Result(); err != nil || n != 1 {
		t.Fatalf("PUBLISH = %d, %v; want 1 receiver", n, err)
	}
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Channel != "purge" || msg.Payload != "key:/a" {
		t.Fatalf("got %+v", msg)
	}
}

func TestKillThenRestartOnTheSamePort(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	addr, pid := s.Addr(), s.Pid()
	c := s.ClientWith(func(o *redis.Options) { o.MaxRetries = -1 })
	if err := c.Set(ctxT(t, 5*time.Second), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	s.Kill()
	if s.Pid() != 0 || processAlive(pid) {
		t.Fatalf("pid %d still there after Kill", pid)
	}
	if err := c.Ping(ctxT(t, 2*time.Second)).Err(); err == nil {
		t.Fatal("PING answered by a killed server")
	}
	s.Kill() // twice is harmless

	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("restarted on %s, was %s", s.Addr(), addr)
	}
	ctx := ctxT(t, 5*time.Second)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("the same client after Restart: %v", err)
	}
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET k after Restart: %v, want redis.Nil (no persistence)", err)
	}

	s.Restart() // while running: kills, then starts
	if err := c.Ping(ctxT(t, 5*time.Second)).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestPauseIsSilentUntilResume(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := s.Client()
	if err := c.Ping(ctxT(t, 5*time.Second)).Err(); err != nil {
		t.Fatal(err)
	}

	s.Pause()
	start := time.Now()
	err := c.Ping(ctxT(t, 200*time.Millisecond)).Err()
	if err == nil {
		t.Fatal("PING answered by a paused server")
	}
	var ne interface{ Timeout() bool }
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("PING on a paused server: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the timeout took %v", d)
	}

	// A client without a context deadline times out on its ReadTimeout.
	short := s.ClientWith(func(o *redis.Options) {
		o.ContextTimeoutEnabled, o.ReadTimeout, o.MaxRetries = false, 200*time.Millisecond, -1
	})
	start = time.Now()
	if err := short.Ping(t.Context()).Err(); !(errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("PING with ReadTimeout on a paused server: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the ReadTimeout took %v", d)
	}

	s.Resume()
	if err := c.Ping(ctxT(t, 5*time.Second)).Err(); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}
	if err := short.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}
}

func TestPasswordAndACLUser(t *testing.T) {
	t.Parallel()
	s := redistest.StartWith(t, redistest.Options{
		Password: "default-secret",
		Users:    []redistest.User{{Name: "purger", Password: "purger-secret"}},
	})
	ctx := ctxT(t, 5*time.Second)

	if err := s.Client().Ping(ctx).Err(); err != nil {
		t.Fatalf("default user with Options.Password: %v", err)
	}
	purger := s.ClientWith(func(o *redis.Options) { o.Username, o.Password = "purger", "purger-secret" })
	if who, err := purger.Do(ctx, "ACL", "WHOAMI").Text(); err != nil || who != "purger" {
		t.Fatalf("ACL WHOAMI = %q, %v", who, err)
	}
	if err := purger.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := purger.Publish(ctx, "purge", "x").Err(); err != nil {
		t.Fatalf("PUBLISH as purger: %v", err)
	}

	wrong := s.ClientWith(func(o *redis.Options) { o.Username, o.Password = "purger", "wrong" })
	if err := wrong.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v, want WRONGPASS", err)
	}
	anon := s.ClientWith(func(o *redis.Options) { o.Password = "" })
	if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("no password: %v, want NOAUTH", err)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	s := redistest.StartWith(t, redistest.Options{TLS: true})
	if s.TLSAddr() == "" || s.TLSAddr() == s.Addr() || s.CAPool() == nil {
		t.Fatalf("TLSAddr %q, Addr %q", s.TLSAddr(), s.Addr())
	}
	ctx := ctxT(t, 5*time.Second)
	c := s.ClientWith(func(o *redis.Options) { o.Addr, o.TLSConfig = s.TLSAddr(), s.TLSConfig() })
	if err := c.Set(ctx, "k", "over tls", 0).Err(); err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	if got := s.Client().Get(ctx, "k").Val(); got != "over tls" {
		t.Fatalf("plain port sees %q", got)
	}
	o, err := redis.ParseURL(s.TLSURL())
	if err != nil {
		t.Fatal(err)
	}
	o.TLSConfig = s.TLSConfig()
	c2 := redis.NewClient(o)
	defer c2.Close()
	if err := c2.Ping(ctx).Err(); err != nil {
		t.Fatalf("from TLSURL: %v", err)
	}
	// A client that does not trust the CA is refused.
	untrusting := s.ClientWith(func(o *redis.Options) {
		o.Addr, o.MaxRetries = s.TLSAddr(), -1
		o.TLSConfig = s.TLSConfig()
		o.TLSConfig.RootCAs = nil
	})
	if err := untrusting.Ping(ctx).Err(); err == nil {
		t.Fatal("a client that does not trust the CA got an answer")
	}
}

// The server is gone when its test ends, even paused.
func TestCleanupKillsTheServer(t *testing.T) {
	var pids []int
	t.Run("running", func(t *testing.T) {
		pids = append(pids, redistest.Start(t).Pid())
	})
	t.Run("paused", func(t *testing.T) {
		s := redistest.Start(t)
		s.Pause()
		pids = append(pids, s.Pid())
	})
	for _, pid := range pids {
		if pid == 0 || processAlive(pid) {
			t.Errorf("redis-server pid %d outlived its test", pid)
		}
	}
}

// The server is gone when its test fails, panics, or the test binary is
// ended by -timeout (no cleanups run then: the kernel kills the server).
// Each case runs TestHelperProcess in a child test binary.
func TestServerDiesWithAFailedTest(t *testing.T) {
	for _, mode := range []string{"fatal", "panic", "timeout"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.timeout=2s")
			// The child's temporary directories go under this test's, which
			// is removed when it ends: a child that panics or times out
			// runs no cleanups of its own.
			cmd.Env = append(os.Environ(), "REDISTEST_HELPER="+mode, "TMPDIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the helper test passed:\n%s", out)
			}
			m := regexp.MustCompile(`(?m)^REDIS_PID=(\d+)$`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("no REDIS_PID in the helper's output:\n%s", out)
			}
			pid, _ := strconv.Atoi(string(m[1]))
			for deadline := time.Now().Add(3 * time.Second); processAlive(pid); {
				if time.Now().After(deadline) {
					t.Fatalf("redis-server pid %d outlived its %s test", pid, mode)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("REDISTEST_HELPER")
	if mode == "" {
		return // not a child of TestServerDiesWithAFailedTest
	}
	s := redistest.Start(t)
	fmt.Printf("REDIS_PID=%d\n", s.Pid())
	switch mode {
	case "fatal":
		t.Fatal("failing on purpose")
	case "panic":
		panic("panicking on purpose")
	case "timeout":
		time.Sleep(time.Minute) // -test.timeout ends the binary first
	}
}

func TestMissingBinaryFailsWithOneLine(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	ft := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.Start(ft)
		t.Error("Start returned without redis-server on PATH")
	}()
	<-done
	if !strings.Contains(ft.msg, "apt-get install -y redis-server") || !strings.Contains(ft.msg, "make test") || strings.Contains(ft.msg, "\n") {
		t.Fatalf("message: %q", ft.msg)
	}
}

// fatalTB records Fatal's message and ends the goroutine, as Fatal does,
// without failing the real test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatal(args ...any) { f.msg = fmt.Sprint(args...); runtime.Goexit() }
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// processAlive: pid exists and is not a zombie (an orphan's may linger
// until its new parent reaps it).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) STATE ...
	rest := b[bytes.LastIndexByte(b, ')')+1:]
	return len(rest) < 2 || rest[1] != 'Z'
}
