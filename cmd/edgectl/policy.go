package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/edgecdn/edge/policy/rules"
)

const policyHead = `Usage:
  edgectl policy check FILE…
  edgectl policy explain -policy FILE -url URL [-method M] [-status N]
                         [-header 'K: V']… [-response-header 'K: V']…
  edgectl policy test FILE…

A TTL policy file sets how long a site's responses are cached: defaults,
ordered rules (a field a later rule sets overrides an earlier one's) and
test cases. Examples to copy: configs/policy-*.yaml.

  check    load each file: its errors (file:line and what to fix) and
           warnings, or "FILE: ok (N rules, M tests)"
  explain  decide one request and origin response: every rule, matched
           or not, then the decision and the rule that made it
  test     run each file's tests: section; each failure names its line

Examples:
  edgectl policy check configs/policy-*.yaml
  edgectl policy explain -policy configs/policy-static.yaml -url https://cdn.example.com/static/app.css \
      -response-header 'Cache-Control: max-age=600'
  edgectl policy explain -policy configs/policy-api.yaml -url https://shop.example.com/api/v1/products -status 503
  edgectl policy test configs/policy-*.yaml

Explain flags (-flag and --flag are the same):
`

const policyTail = `
Errors, warnings and test failures go to stderr; the rest to stdout.

Exit status:
  0  every file loads (warnings allowed) and, for test, every test passes
  1  a file has errors, has no tests (test) or fails one
  2  bad usage: no or unknown subcommand, bad flag or header
`

// usageError is a command given wrongly. Its exit status, 2, tells a
// script (or CI) a bad invocation apart from a bad policy file (1).
type usageError struct{ error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func policyUsage(w io.Writer) {
	fs := explainFlags(newExplainOptions())
	fs.SetOutput(w)
	fmt.Fprint(w, policyHead)
	fs.PrintDefaults()
	fmt.Fprint(w, policyTail)
}

// runPolicy runs "edgectl policy SUBCOMMAND". The subcommands read files
// only: they never call an edge.
func runPolicy(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		policyUsage(stderr)
		return usagef("policy: name a subcommand: check, explain or test")
	}
	switch args[0] {
	case "check":
		return policyCheck(args[1:], stdout, stderr)
	case "explain":
		return policyExplain(args[1:], stdout, stderr)
	case "test":
		return policyTest(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		policyUsage(stdout)
		return nil
	}
	policyUsage(stderr)
	return usagef("policy: unknown subcommand %q: use check, explain or test", args[0])
}

// errHelpShown ends a subcommand whose -h printed the usage.
var errHelpShown = errors.New("help shown")

// fileArgs reads the arguments of a subcommand that takes only files.
func fileArgs(name string, args []string, stdout io.Writer) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			policyUsage(stdout)
			return nil, errHelpShown
		}
		return nil, usagef("policy %s: %v: it takes only files (edgectl help policy)", name, err)
	}
	if fs.NArg() == 0 {
		return nil, usagef("policy %s: name at least one policy file, e.g. configs/policy-static.yaml", name)
	}
	return fs.Args(), nil
}

// policyCheck loads every file, so one run reports all the broken ones.
func policyCheck(args []string, stdout, stderr io.Writer) error {
	files, err := fileArgs("check", args, stdout)
	if err != nil {
		return helpIsNoError(err)
	}
	bad := 0
	for _, path := range files {
		f := load(path, stderr)
		if f == nil {
			bad++
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (%s, %s)\n", path, plural(len(f.Rules), "rule"), plural(len(f.Tests), "test"))
	}
	if bad > 0 {
		return fmt.Errorf("policy check: errors in %d of %s", bad, plural(len(files), "file"))
	}
	return nil
}

// policyTest runs every file's tests, all files even after a failure.
func policyTest(args []string, stdout, stderr io.Writer) error {
	files, err := fileArgs("test", args, stdout)
	if err != nil {
		return helpIsNoError(err)
	}
	failed := 0
	for _, path := range files {
		if !testFile(path, time.Now(), stdout, stderr) {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("policy test: failures in %d of %s", failed, plural(len(files), "file"))
	}
	return nil
}

// testFile runs one file's tests and reports whether they all passed.
func testFile(path string, now time.Time, stdout, stderr io.Writer) bool {
	f := load(path, stderr)
	if f == nil {
		return false
	}
	if len(f.Tests) == 0 {
		// A file that tests nothing would pass vacuously, in CI too.
		fmt.Fprintf(stderr, "%s has no tests: add a tests: section\n", path)
		return false
	}
	fails := f.RunTests(now)
	for _, x := range fails {
		fmt.Fprintf(stderr, "%s:%d: test %q: %s\n", path, x.Line, x.Case, x.Problem)
	}
	if n := failedCases(fails); n > 0 {
		fmt.Fprintf(stdout, "%s: %d of %s failed\n", path, n, plural(len(f.Tests), "test"))
		return false
	}
	fmt.Fprintf(stdout, "%s: %s passed\n", path, plural(len(f.Tests), "test"))
	return true
}

// failedCases counts the cases behind fails: one case may fail several
// ways.
func failedCases(fails []rules.Failure) int {
	seen := map[rules.Failure]bool{}
	for _, x := range fails {
		seen[rules.Failure{Case: x.Case, Line: x.Line}] = true
	}
	return len(seen)
}

// load reads a policy file, printing its errors or warnings; nil when it
// has errors. The errors already name file:line and what to fix.
func load(path string, stderr io.Writer) *rules.File {
	f, err := rules.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil
	}
	for _, w := range f.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	return f
}

func helpIsNoError(err error) error {
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}
