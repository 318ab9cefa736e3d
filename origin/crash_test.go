package origin_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/origin"
)

// The crash test runs its own test binary as a child process that writes to
// an Engine under load and prints a line for every write before starting it
// (INTENT) and after it returned (ACK). The parent kills the child with
// SIGKILL at a random moment, reopens the directory and checks that every
// acknowledged write survived, that in-flight writes are all-or-nothing, and
// that nothing else is visible; then it starts the next child on the same
// directory.
//
// Lines the child prints (keys contain no spaces):
//
//	READY                        the engine is open, writes start
//	INTENT put|copy <key> <sha256 of the content>
//	INTENT delete <key> -
//	ACK put|copy <key> <generation> <sha256>
//	ACK delete <key> 0 deleted
//	FAIL <message>               an unexpected error; the child stops
//	DONE                         all writes done; the child waits to be killed

const (
	crashChildEnv = "EDGE_CRASH_CHILD" // the data directory, set for the child only
	crashRunEnv   = "EDGE_CRASH_RUN"   // the child's run number
	crashBucket   = "crash"
	crashProbeKey = "probe" // written by the parent after each run

	crashRuns         = 50
	crashWorkers      = 4
	crashHotKeys      = 3   // keys each worker overwrites, deletes and copies onto, in every run
	crashOpsPerWorker = 400 // a cap; the child is normally killed long before
	crashMaxSize      = 256 << 10
	// crashMetaFiles bounds the regular files that are not object bodies
	// (metadata database, lock files…).
	crashMetaFiles = 8
)

// TestCrashChildProcess is not a test of its own: it is the child process of
// TestCrashSafety, which runs it with EDGE_CRASH_CHILD set and kills it.
func TestCrashChildProcess(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("helper process of TestCrashSafety: runs only when " + crashChildEnv + " names a data directory")
	}
	run, err := strconv.Atoi(os.Getenv(crashRunEnv))
	if err != nil {
		t.Fatalf("%s: %v", crashRunEnv, err)
	}
	var outMu sync.Mutex
	emit := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...) + "\n"
		outMu.Lock()
		defer outMu.Unlock()
		os.Stdout.WriteString(line) // one write: a kill never leaves half a line but the last
	}
	fail := func(format string, args ...any) {
		emit("FAIL "+format, args...)
		t.Errorf(format, args...)
	}

	e, err := origin.Open(dir, nil)
	if err != nil {
		fail("Open: %v", err)
		return
	}
	defer e.Close()
	emit("READY")

	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(run), uint64(w)))
			content := rand.NewChaCha8([32]byte{byte(run), byte(run >> 8), byte(w)})
			present := make(map[string]string) // keys this worker wrote in this run → sha256
			var presentKeys []string           // the same keys, in a stable order for rng
			setPresent := func(key, sum string) {
				if _, ok := present[key]; !ok {
					presentKeys = append(presentKeys, key)
				}
				present[key] = sum
			}
			setAbsent := func(key string) {
				if _, ok := present[key]; ok {
					delete(present, key)
					presentKeys = slices.DeleteFunc(presentKeys, func(k string) bool { return k == key })
				}
			}
			hot := func() string { return fmt.Sprintf("hot/w%d/%d", w, rng.IntN(crashHotKeys)) }
			n := 0
			unique := func(prefix string) string {
				n++
				return fmt.Sprintf("%s/r%03d/w%d/%04d", prefix, run, w, n)
			}

			for range crashOpsPerWorker {
				switch p := rng.IntN(100); {
				case p < 75: // a new key or an overwrite of a hot key
					key := hot()
					if p < 50 {
						key = unique("new")
					}
					data := make([]byte, crashSize(rng))
					content.Read(data)
					sum := sha256Hex(data)
					emit("INTENT put %s %s", key, sum)
					info, err := e.PutObject(ctx, crashBucket, key, bytes.NewReader(data), origin.PutOptions{Size: int64(len(data))})
					if err != nil {
						fail("PutObject(%s, %d bytes): %v", key, len(data), err)
						return
					}
					emit("ACK put %s %d %s", key, info.Generation, sum)
					setPresent(key, sum)
				case p < 85: // delete a hot key or a key written in this run
					key := hot()
					if len(presentKeys) > 0 && rng.IntN(2) == 0 {
						key = presentKeys[rng.IntN(len(presentKeys))]
					}
					emit("INTENT delete %s -", key)
					if _, err := e.DeleteObject(ctx, crashBucket, key, origin.DeleteOptions{}); err != nil {
						fail("DeleteObject(%s): %v", key, err)
						return
					}
					emit("ACK delete %s 0 deleted", key)
					setAbsent(key)
				default: // copy a key written in this run to a new key or a hot key
					if len(presentKeys) == 0 {
						continue
					}
					src := presentKeys[rng.IntN(len(presentKeys))]
					dst := hot()
					if dst == src || rng.IntN(2) == 0 {
						dst = unique("copy")
					}
					sum := present[src]
					emit("INTENT copy %s %s", dst, sum)
					info, err := e.CopyObject(ctx, crashBucket, src, crashBucket, dst, origin.CopyOptions{})
					if err != nil {
						fail("CopyObject(%s → %s): %v", src, dst, err)
						return
					}
					emit("ACK copy %s %d %s", dst, info.Generation, sum)
					setPresent(dst, sum)
				}
			}
		})
	}
	wg.Wait()
	emit("DONE")
	// Wait to be killed: the parent decides when the crash happens.
	time.Sleep(time.Minute)
}

// crashSize picks a body size from 0 to 256 KiB, mostly small, so that the
// store stays small enough to verify in full after every crash.
func crashSize(rng *rand.Rand) int {
	switch rng.IntN(10) {
	case 0:
		return rng.IntN(crashMaxSize + 1)
	case 1:
		return 0
	default:
		return rng.IntN(4 << 10)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// crashVersion is the state of a key: absent, or a version with its content.
type crashVersion struct {
	present bool
	gen     int64
	sha     string
}

func (v crashVersion) String() string {
	if !v.present {
		return "absent"
	}
	return fmt.Sprintf("generation %d, sha256 %.12s…", v.gen, v.sha)
}

// crashKey is what the parent knows of a key: its last acknowledged (or,
// after a crash, observed) version, and the write the child had begun on it
// without seeing it return, if any.
type crashKey struct {
	want     crashVersion
	inflight *crashIntent
}

type crashIntent struct {
	op  string // put, copy, delete
	sha string // the content a put or copy writes
}

// crashHistory is the parent's model of the store across all runs.
type crashHistory struct {
	keys map[string]*crashKey
	// gens maps every generation seen to the version it named.
	gens   map[int64]string
	maxGen int64

	acks, inflightAtKill, inflightCommitted int
}

// noteGen records that gen names the given version of key; a generation
// naming two different versions is a failure.
func (h *crashHistory) noteGen(t *testing.T, key string, gen int64, sha, where string) {
	t.Helper()
	v := key + " with sha256 " + sha
	if prev, ok := h.gens[gen]; ok && prev != v {
		t.Errorf("%s: generation %d names %s, but it already named %s", where, gen, v, prev)
	}
	h.gens[gen] = v
	h.maxGen = max(h.maxGen, gen)
}

func (h *crashHistory) key(k string) *crashKey {
	if h.keys[k] == nil {
		h.keys[k] = &crashKey{}
	}
	return h.keys[k]
}

// applyLines feeds the child's output of run into the model: every ACK of a
// write must carry a generation above every generation seen before the run.
func (h *crashHistory) applyLines(t *testing.T, run int, lines []string, genBefore int64) {
	t.Helper()
	for _, line := range lines {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "FAIL":
			t.Fatalf("run %d: the child failed: %s", run, strings.TrimPrefix(line, "FAIL "))
		case f[0] == "INTENT" && len(f) == 4:
			h.key(f[2]).inflight = &crashIntent{op: f[1], sha: f[3]}
		case f[0] == "ACK" && len(f) == 5:
			h.acks++
			k := h.key(f[2])
			k.inflight = nil
			if f[1] == "delete" {
				k.want = crashVersion{}
				continue
			}
			gen, err := strconv.ParseInt(f[3], 10, 64)
			if err != nil {
				t.Fatalf("run %d: bad line %q", run, line)
			}
			if gen <= genBefore {
				t.Errorf("run %d: %s of %s acknowledged with generation %d, but generation %d was already used before this run: generations must grow across restarts",
					run, f[1], f[2], gen, genBefore)
			}
			h.noteGen(t, f[2], gen, f[4], fmt.Sprintf("run %d: acknowledged %s", run, f[1]))
			k.want = crashVersion{present: true, gen: gen, sha: f[4]}
		case f[0] == "READY" || f[0] == "DONE":
		default:
			// Output of the testing package, not ours.
		}
	}
}

// TestCrashSafety kills a writing child process at random moments and checks
// after each crash that the store holds exactly the acknowledged writes,
// in-flight writes entirely or not at all, and no leftovers.
func TestCrashSafety(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("running as the child of TestCrashSafety")
	}
	dir := t.TempDir()
	e, err := origin.Open(dir, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := e.CreateBucket(t.Context(), crashBucket); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	h := &crashHistory{keys: make(map[string]*crashKey), gens: make(map[int64]string)}
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill timing seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	begin := time.Now()
	var childTime, verifyTime time.Duration
	for run := range crashRuns {
		genBefore := h.maxGen
		t0 := time.Now()
		lines := runCrashChild(t, dir, run, rng)
		t1 := time.Now()
		h.applyLines(t, run, lines, genBefore)
		for _, k := range h.keys {
			if k.inflight != nil {
				h.inflightAtKill++
			}
		}
		verifyAfterCrash(t, dir, run, h, genBefore)
		childTime += t1.Sub(t0)
		verifyTime += time.Since(t1)
		if t.Failed() {
			t.Fatalf("run %d: stopping after the first failed check (data directory %s)", run, dir)
		}
	}
	t.Logf("%d crashes in %v (children %v, verification %v): %d acknowledged writes, %d writes in flight at a kill, %d of them found committed; %d keys, highest generation %d",
		crashRuns, time.Since(begin).Round(time.Millisecond), childTime.Round(time.Millisecond), verifyTime.Round(time.Millisecond),
		h.acks, h.inflightAtKill, h.inflightCommitted, len(h.keys), h.maxGen)
	if h.acks < crashRuns {
		t.Errorf("only %d writes were acknowledged in %d runs: the children hardly wrote before being killed, the test proves little", h.acks, crashRuns)
	}
}

// runCrashChild runs one child on dir, kills it with SIGKILL after a random
// delay or a random number of acknowledged writes, and returns the complete
// lines it printed.
func runCrashChild(t *testing.T, dir string, run int, rng *rand.Rand) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChildProcess$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("StdoutPipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the child: %v", err)
	}
	lineCh := make(chan string, 64)
	go func() {
		defer close(lineCh)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // a line cut by the kill has no newline: it was never printed whole
			}
			lineCh <- strings.TrimSuffix(line, "\n")
		}
	}()

	// Kill after 20–150 ms of writing, or after 1–60 acknowledged writes.
	killDelay := time.Duration(20+rng.IntN(131)) * time.Millisecond
	killAcks := -1
	if rng.IntN(3) == 0 {
		killDelay, killAcks = 0, 1+rng.IntN(60)
	}
	deadline := time.NewTimer(30 * time.Second) // the child must start writing by then
	defer deadline.Stop()
	var killTimer <-chan time.Time
	var lines []string
	acks, killed := 0, false
	kill := func() {
		if !killed {
			killed = true
			cmd.Process.Kill() // SIGKILL
		}
	}
	for lineCh != nil {
		select {
		case line, ok := <-lineCh:
			if !ok {
				lineCh = nil
				break
			}
			lines = append(lines, line)
			switch {
			case line == "READY" && killDelay > 0:
				killTimer = time.After(killDelay)
			case strings.HasPrefix(line, "ACK "):
				acks++
				if acks == killAcks {
					kill()
				}
			case strings.HasPrefix(line, "FAIL "), line == "DONE":
				kill()
			}
		case <-killTimer:
			kill()
		case <-deadline.C:
			kill()
			t.Errorf("run %d: the child did not get to write within 30s", run)
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("run %d: the child exited by itself (%v) before it was killed; stderr:\n%s", run, err, stderr.String())
	}
	if s := stderr.String(); strings.Contains(s, "DATA RACE") || strings.Contains(s, "panic:") {
		t.Errorf("run %d: the child reported a problem on stderr:\n%s", run, s)
	}
	return lines
}

// verifyAfterCrash opens the engine on dir, checks the store against h and
// updates h with what it found, then closes the engine.
func verifyAfterCrash(t *testing.T, dir string, run int, h *crashHistory, genBefore int64) {
	t.Helper()
	ctx := t.Context()
	e, err := origin.Open(dir, nil)
	if err != nil {
		t.Fatalf("run %d: Open after the crash: %v", run, err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Errorf("run %d: Close: %v", run, err)
		}
	}()

	// Every listed object reads back whole: as many bytes as its Size,
	// with the MD5 its ETag names.
	found := make(map[string]crashVersion)
	token := ""
	for {
		page, err := e.ListObjects(ctx, crashBucket, origin.ListOptions{ContinuationToken: token})
		if err != nil {
			t.Fatalf("run %d: ListObjects: %v", run, err)
		}
		for _, info := range page.Objects {
			v, err := readWhole(ctx, e, info)
			if err != nil {
				t.Errorf("run %d: %v", run, err)
				continue
			}
			found[info.Key] = v
		}
		if !page.IsTruncated {
			break
		}
		token = page.NextContinuationToken
	}

	// No leftovers: besides one body per object, only a few metadata files.
	files, perDir := countFiles(t, dir)
	if files > len(found)+crashMetaFiles {
		t.Errorf("run %d: after Open, %s holds %d regular files for %d objects (at most %d expected): leftovers of interrupted writes? files per directory: %v",
			run, dir, files, len(found), len(found)+crashMetaFiles, perDir)
	}

	// Each key is in the state of its last acknowledged write, or in the one
	// its interrupted write would have left.
	names := make([]string, 0, len(h.keys))
	for k := range h.keys {
		names = append(names, k)
	}
	for k := range found {
		if h.keys[k] == nil {
			t.Errorf("run %d: listed object %q (%v) was never written", run, k, found[k])
		}
	}
	slices.Sort(names)
	for _, name := range names {
		k := h.keys[name]
		got := found[name]
		switch {
		case got == k.want:
		case k.inflight == nil:
			t.Errorf("run %d: %s is %v, want %v (its last acknowledged write; nothing was in flight)", run, name, got, k.want)
		case k.inflight.op == "delete":
			if got.present {
				t.Errorf("run %d: %s is %v, want %v (its last acknowledged write) or absent (the delete in flight)", run, name, got, k.want)
			}
		default:
			switch {
			case !got.present || got.sha != k.inflight.sha:
				t.Errorf("run %d: %s is %v, want %v (its last acknowledged write) or the content %.12s… of the %s in flight",
					run, name, got, k.want, k.inflight.sha, k.inflight.op)
			case got.gen <= genBefore || (k.want.present && got.gen <= k.want.gen):
				t.Errorf("run %d: %s holds the content of the %s in flight with generation %d, not above the acknowledged %v nor the generations %d used before the run",
					run, name, k.inflight.op, got.gen, k.want, genBefore)
			}
		}
		if got != k.want {
			h.inflightCommitted++
		}
		if got.present {
			h.noteGen(t, name, got.gen, got.sha, fmt.Sprintf("run %d: found %s", run, name))
		}
		k.want, k.inflight = got, nil
	}

	// A new write after the restart gets a generation above every one seen.
	probe := fmt.Sprintf("written by the parent after run %d", run)
	info, err := e.PutObject(ctx, crashBucket, crashProbeKey, strings.NewReader(probe), origin.PutOptions{Size: int64(len(probe))})
	if err != nil {
		t.Fatalf("run %d: PutObject(%s) after Open: %v", run, crashProbeKey, err)
	}
	if info.Generation <= h.maxGen {
		t.Errorf("run %d: a put after the restart got generation %d, but generation %d was seen before: generations went back", run, info.Generation, h.maxGen)
	}
	sum := sha256Hex([]byte(probe))
	h.noteGen(t, crashProbeKey, info.Generation, sum, fmt.Sprintf("run %d: probe put", run))
	h.key(crashProbeKey).want = crashVersion{present: true, gen: info.Generation, sha: sum}
}

// readWhole reads the object info names and checks it against info.
func readWhole(ctx context.Context, s origin.Store, info origin.ObjectInfo) (crashVersion, error) {
	obj, err := s.GetObject(ctx, crashBucket, info.Key, origin.GetOptions{})
	if err != nil {
		return crashVersion{}, fmt.Errorf("listed object %s: GetObject: %w", info.Key, err)
	}
	defer obj.Body.Close()
	m, sh := md5.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(m, sh), obj.Body)
	if err != nil {
		return crashVersion{}, fmt.Errorf("listed object %s: reading its body after %d bytes: %w", info.Key, n, err)
	}
	if md5sum := hex.EncodeToString(m.Sum(nil)); n != info.Size || n != obj.Info.Size || md5sum != info.ETag || md5sum != obj.Info.ETag {
		return crashVersion{}, fmt.Errorf("listed object %s (Size %d, ETag %s; GetObject says Size %d, ETag %s) reads back %d bytes with MD5 %s: torn object",
			info.Key, info.Size, info.ETag, obj.Info.Size, obj.Info.ETag, n, md5sum)
	}
	if obj.Info.Generation != info.Generation {
		return crashVersion{}, fmt.Errorf("listed object %s has generation %d, GetObject says %d", info.Key, info.Generation, obj.Info.Generation)
	}
	return crashVersion{present: true, gen: info.Generation, sha: hex.EncodeToString(sh.Sum(nil))}, nil
}

// countFiles counts the regular files under dir, in total and per
// top-level directory.
func countFiles(t *testing.T, dir string) (int, map[string]int) {
	t.Helper()
	total := 0
	perDir := make(map[string]int)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		total++
		rel, _ := filepath.Rel(dir, path)
		top, _, ok := strings.Cut(rel, string(filepath.Separator))
		if !ok {
			top = "."
		}
		perDir[top]++
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return total, perDir
}
