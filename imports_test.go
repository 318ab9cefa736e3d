// Package arch_test checks two rules of the project's architecture
// (ARCHITECTURE.md) that the compiler does not: the import arrows point one
// way, cmd → edge → {cache, policy, purge, origin} with purge → origin the
// only arrow among those four, and no package keeps mutable state in
// package-level variables.
package arch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
)

const module = "github.com/edgecdn/edge"

// importRules are the arrows. A rule governs the packages that match from
// and not except; every import of ours of such a package must match may
// (when may is set) and must not match mayNot. Patterns are paths in the
// repository: "x" is that package, "x/..." is x and every package under it,
// "..." is every package.
var importRules = []struct {
	name         string
	rule         string // what a violation cites
	from, except []string
	may, mayNot  []string
}{
	{
		name: "cache",
		rule: "cache is a leaf: it imports nothing of ours outside cache/...",
		from: []string{"cache/..."},
		may:  []string{"cache/..."},
	},
	{
		name: "certs",
		rule: "certs is a leaf: it imports nothing of ours outside certs/...",
		from: []string{"certs/..."},
		may:  []string{"certs/..."},
	},
	{
		name: "pacing",
		rule: "internal/pacing is a leaf: the servers' timeouts, nothing of ours",
		from: []string{"internal/pacing"},
		may:  []string{},
	},
	{
		name: "policy",
		rule: "policy is a leaf: it imports nothing of ours outside policy/...",
		from: []string{"policy/..."},
		may:  []string{"policy/..."},
	},
	{
		name:   "origin",
		rule:   "origin imports nothing of ours outside origin/... (its conformance suite origin/origintest aside) but the leaf internal/pacing",
		from:   []string{"origin/..."},
		except: []string{"origin/origintest/..."},
		may:    []string{"origin/...", "internal/pacing"},
	},
	{
		// The test helpers purge/bustest and purge/redistest are under
		// purge/..., so they may import purge like the rest of it;
		// internal/proclog is what the process-starting test helpers share,
		// and certs/certstest the test CA.
		name: "purge",
		rule: "purge imports nothing of ours but purge/..., the store's contract, origin, internal/proclog and certs/certstest",
		from: []string{"purge/..."},
		may:  []string{"purge/...", "origin", "internal/proclog", "certs/certstest"},
	},
	{
		name: "edge",
		rule: "edge imports nothing of ours but cache, policy, purge, origin, their sub-packages, edge/..., internal/filewatch and internal/pacing; never cmd",
		from: []string{"edge/..."},
		may:  []string{"edge/...", "cache/...", "policy/...", "purge/...", "origin/...", "internal/filewatch", "internal/pacing"},
	},
	{
		name:   "cmd",
		rule:   "only cmd/... imports cmd/...",
		from:   []string{"..."},
		except: []string{"cmd/..."},
		mayNot: []string{"cmd/..."},
	},
}

// TestImportsPointOneWay checks every package of ours, as built without its
// tests, against importRules.
func TestImportsPointOneWay(t *testing.T) {
	pkgs := ourPackages(t)
	for _, r := range importRules {
		t.Run(r.name, func(t *testing.T) {
			governed := 0
			for _, p := range pkgs {
				from := rel(p.ImportPath)
				if !matchesAny(r.from, from) || matchesAny(r.except, from) {
					continue
				}
				governed++
				for _, imp := range p.Imports {
					if !ours(imp) {
						continue
					}
					to := rel(imp)
					if (r.may != nil && !matchesAny(r.may, to)) || matchesAny(r.mayNot, to) {
						t.Errorf("%s imports %s, which breaks the rule %q", from, to, r.rule)
					}
				}
			}
			if governed == 0 {
				t.Errorf("no package matches %v: was one moved or renamed? The rule %q checks nothing", r.from, r.rule)
			}
		})
	}
}

// allowedVars are the package-level variables of non-test files that hold no
// state, keyed by package (its path in the repository) and name, each with
// why. Two kinds need no entry: error sentinels (errX, ErrX, with a value)
// and blank assertions (var _ Interface = (*T)(nil)). Add an entry only for
// a value that is never written after init, or that carries nothing from one
// use to the next; mutable state belongs in a struct the caller owns.
var allowedVars = map[string]string{
	"edge.hopHeaders":           "hop-by-hop header names (RFC 9110 §7.6.1), only read",
	"edge.keyBufs":              "sync.Pool of scratch buffers cache keys are built in, no state between requests",
	"internal/pacing.chunkBufs": "sync.Pool of scratch buffers a streamed body's chunks are copied through, no state between responses",
	"edge.bucketForwarded":      "request fields a bucket's origin may answer by, only read",
	"edge.clientOwned":          "request fields a fill leaves to the cache (conditionals, Range), only read",
	"edge.notForwarded":         "hop-by-hop request fields a proxy never passes on, only read",
	"edge.poisoning":            "request fields withheld as a cache poisoning risk, only read",
	"edge.storedHeaderSkip":     "lookup table of response headers the cache never stores, only read",
	"edge.strAge":               "the header name Age as bytes for fasthttp, only read",
	"edge.strCacheStatus":       "the header name Cache-Status as bytes for fasthttp, only read",
	"edge.strCacheControl":      "header name bytes, only read",

	"cmd/loadtest.scenarios":            "the named workloads' mixes, only read",
	"loadtest/consistency.bucketBounds": "the staleness histogram's bounds, only read",
	"loadtest/report.echartsJS":         "the embedded ECharts script, only read",
	"loadtest/report.scriptTag":         "compiled expression for go-echarts' script tag, only read",
	"loadtest/consistency.Never":        "the Ack of a write never acknowledged, only read",
	"certs/redisstorage.extendIfOurs":   "a Lua script, compiled once, only run",
	"certs/redisstorage.deleteIfOurs":   "a Lua script, compiled once, only run",
	"edge.resultNames":                  "the cache results' label values, only read",
	"edge.requestsDesc":                 "a metric's description, only read",
	"edge.bytesDesc":                    "a metric's description, only read",
	"edge.resultsDesc":                  "a metric's description, only read",
	"loadtest/clustertest.binDir":       "where the commands were built, set once (buildOnce) per test process and only read after",
	"loadtest/clustertest.buildErr":     "why that one build failed, set once (buildOnce) and only read after",
	"loadtest/clustertest.buildOnce":    "guards the one build of the commands per test process",
	"policy/rules.defaultStatusTTL":     "the built-in edge TTL by status, only read",
	"policy/rules.lineRef":              "compiled expression naming a line in decoder errors, only read",
	"policy.dayNames":                   "day names of the HTTP-date grammar, only read",
	"policy.longDayNames":               "day names of the obsolete HTTP-date form, only read",
	"policy.monthNames":                 "month names of the HTTP-date grammar, only read",
	"origin.bktBuckets":                 "name of a bbolt bucket of meta.db, only read",
	"origin.bktObjects":                 "name of a bbolt bucket of meta.db, only read",
	"origin.bktOutbox":                  "name of a bbolt bucket of meta.db, only read",
	"origin.bktParts":                   "name of a bbolt bucket of meta.db, only read",
	"origin.bktUploads":                 "name of a bbolt bucket of meta.db, only read",
	"origin.copyBufs":                   "sync.Pool of body copy buffers, no state between requests",

	"origin/origintest.bigParts":            "two fixed random parts, filled once on first use (bigPartsOnce) and only read after",
	"origin/origintest.bigPartsOnce":        "guards the one fill of bigParts",
	"origin/origintest.bucketTests":         "table of the suite's subtests, only read",
	"origin/origintest.copyTests":           "table of the suite's subtests, only read",
	"origin/origintest.deleteTests":         "table of the suite's subtests, only read",
	"origin/origintest.generationTests":     "table of the suite's subtests, only read",
	"origin/origintest.hexMD5":              "compiled regexp, safe for concurrent use, only read",
	"origin/origintest.listTests":           "table of the suite's subtests, only read",
	"origin/origintest.multipartTests":      "table of the suite's subtests, only read",
	"origin/origintest.objectTests":         "table of the suite's subtests, only read",
	"origin/origintest.rangeCases":          "table of range cases, only read",
	"origin/origintest.rangeTests":          "table of the suite's subtests, only read",
	"origin/origintest.readConditionTests":  "table of the suite's subtests, only read",
	"origin/origintest.resolveOnlyCases":    "table of range cases, only read",
	"origin/origintest.skipReasons":         "why a subtest without a function is skipped, only read",
	"origin/origintest.writeConditionTests": "table of the suite's subtests, only read",

	"origin/s3.errorMap":         "lookup table from the store's sentinel errors to S3 errors, only read",
	"origin/s3.refusedClasses":   "storage classes answered InvalidStorageClass, only read",
	"origin/s3.requestHeaders":   "lookup table of the request headers and how each is treated, only read",
	"origin/s3.storedAsStandard": "storage classes stored as STANDARD, only read",
	"origin/s3.unsupported":      "subresources answered NotImplemented, only read",

	"origin/s3/sigv4.payloadModeNames": "x-amz-content-sha256 value of each payload mode, only read",
}

// TestNoPackageLevelState parses every non-test Go file of our packages and
// fails on each package-level variable that is neither allowed by rule nor
// in allowedVars, and on each entry of allowedVars that names nothing.
func TestNoPackageLevelState(t *testing.T) {
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, p := range ourPackages(t) {
		dir := rel(p.ImportPath)
		for _, file := range slices.Concat(p.GoFiles, p.CgoFiles, p.IgnoredGoFiles) {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, file), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range f.Decls {
				gen, ok := decl.(*ast.GenDecl)
				if !ok || gen.Tok != token.VAR {
					continue
				}
				for _, spec := range gen.Specs {
					vs := spec.(*ast.ValueSpec)
					for _, id := range vs.Names {
						key := dir + "." + id.Name
						switch {
						case id.Name == "_", isErrorSentinel(id.Name) && len(vs.Values) > 0:
						case allowedVars[key] != "":
							seen[key] = true
						default:
							t.Errorf("%s:%d: package-level var %s is state: move it into a value the caller owns, or, if it is never written after init, add %q to allowedVars with the reason",
								filepath.Join(dir, file), fset.Position(id.Pos()).Line, id.Name, key)
						}
					}
				}
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(allowedVars)) {
		if !seen[key] {
			t.Errorf("allowedVars lists %s, which is no package-level var of a non-test file: drop the entry", key)
		}
	}
}

// isErrorSentinel reports whether name is that of an error sentinel: err or
// Err and a capital (errNoSuchKey, ErrClosed), not errorMap.
func isErrorSentinel(name string) bool {
	for _, prefix := range []string{"err", "Err"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok && rest != "" {
			return unicode.IsUpper([]rune(rest)[0])
		}
	}
	return false
}

// pkg is what go list tells of one package.
type pkg struct {
	ImportPath                        string
	Dir                               string
	GoFiles, CgoFiles, IgnoredGoFiles []string
	Imports                           []string
	Module                            *struct{ Path string }
}

// ourPackages lists the module's packages as built without their tests:
// go list -deps walks the import graph of ./..., and a package's Imports
// leave out what only its _test.go files import.
func ourPackages(t *testing.T) []pkg {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Module != nil && p.Module.Path == module {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no package of " + module)
	}
	return pkgs
}

// ours reports whether the import path is of a package of this module.
func ours(path string) bool {
	return path == module || strings.HasPrefix(path, module+"/")
}

// rel is a package's path in the repository, "." for the root.
func rel(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

// matchesAny reports whether the package at path p (in the repository)
// matches one of the patterns (see importRules).
func matchesAny(patterns []string, p string) bool {
	for _, pattern := range patterns {
		tree, isTree := strings.CutSuffix(pattern, "/...")
		switch {
		case pattern == "...",
			isTree && (p == tree || strings.HasPrefix(p, tree+"/")),
			p == pattern:
			return true
		}
	}
	return false
}
