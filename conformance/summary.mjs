// Summarises cache-tests results (https://github.com/http-tests/cache-tests)
// the way cache-tests.fyi shows them: each test's result is judged by the
// suite's own test-engine/lib/results.mjs against the suite's test
// definitions, with dependencies honoured (a test whose prerequisite did
// not pass counts as "dependency failed", not as pass or fail).
//
//   node summary.mjs SUITE_DIR RESULTS_JSON [NAME] [--compare] [--markdown]
//
// Prints the counts by kind (required: the MUST-level conformance tests;
// optimal: reuse a cache may but need not do; check: behaviour surveys),
// the failing tests with their descriptions, and, with --compare, the
// same counts for every cache whose published results the suite stores
// (its results/*.json, browsers excepted).
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const args = process.argv.slice(2).filter(a => !a.startsWith('--'))
const flags = new Set(process.argv.slice(2).filter(a => a.startsWith('--')))
const [suiteArg, resultsFile, name = 'edge'] = args
if (!suiteArg || !resultsFile) {
  console.error('usage: node summary.mjs SUITE_DIR RESULTS_JSON [NAME] [--compare]')
  process.exit(2)
}
const suiteDir = path.resolve(suiteArg)
const suite = rel => import(pathToFileURL(path.join(suiteDir, rel)).href)
const { determineTestResult, resultTypes } = await suite('test-engine/lib/results.mjs')
const testSuites = (await suite('tests/index.mjs')).default

// The tests the suite's client runs against a proxy cache.
const tests = []
for (const s of testSuites) {
  for (const t of s.tests) {
    if (t.browser_only === true) continue
    tests.push({ ...t, kind: t.kind || 'required', suite: s.name })
  }
}
const kinds = ['required', 'optimal', 'check']
const outcomeOf = new Map(Object.entries(resultTypes).map(([k, v]) => [v, k]))

function summarise (results) {
  const byKind = {}
  for (const k of kinds) byKind[k] = { total: 0, outcomes: {}, ids: {} }
  for (const t of tests) {
    const outcome = outcomeOf.get(determineTestResult(testSuites, t.id, results, true))
    const k = byKind[t.kind]
    k.total++
    k.outcomes[outcome] = (k.outcomes[outcome] || 0) + 1
    ;(k.ids[outcome] ||= []).push(t.id)
  }
  return byKind
}

const n = (s, ...outcomes) => outcomes.reduce((a, o) => a + (s.outcomes[o] || 0), 0)
const other = ['setup_fail', 'harness_fail', 'retry', 'untested']
const describe = id => tests.find(t => t.id === id).name.replace(/\s+/g, ' ')

const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'))
const mine = summarise(results)
const out = []
out.push(`cache-tests results for ${name}: ${tests.length} tests run against a proxy cache`)
out.push('(pass / fail / dependency failed / other: setup failed, harness failed, retry, untested)')
for (const k of kinds) {
  const s = mine[k]
  const failName = { required: 'fail', optimal: 'optional_fail', check: 'no' }[k]
  const word = { required: 'fail', optimal: 'not optimal', check: 'no' }[k]
  const passWord = k === 'check' ? 'yes' : 'pass'
  out.push(`  ${k.padEnd(9)} ${String(s.total).padStart(3)} tests: ` +
    `${n(s, 'pass', 'yes')} ${passWord}, ${n(s, failName)} ${word}, ` +
    `${n(s, 'dependency_fail')} dependency failed, ${n(s, ...other)} other` +
    other.filter(o => s.outcomes[o]).map(o => ` (${s.outcomes[o]} ${o})`).join(''))
}
const listing = (title, ids) => {
  if (!ids || ids.length === 0) return
  out.push('')
  out.push(`${title} (${ids.length}):`)
  for (const id of ids) out.push(`  ${id}: ${describe(id)}`)
}
listing('Required tests failed', mine.required.ids.fail)
listing('Required tests not run because a prerequisite failed', mine.required.ids.dependency_fail)
for (const o of other) listing(`Required tests: ${o}`, mine.required.ids[o])
listing('Optimal tests not passed', mine.optimal.ids.optional_fail)
listing('Optimal tests not run because a prerequisite failed', mine.optimal.ids.dependency_fail)
for (const o of other) listing(`Optimal tests: ${o}`, mine.optimal.ids[o])
listing('Check tests answered "no"', mine.check.ids.no)
listing('Check tests not run because a prerequisite failed', mine.check.ids.dependency_fail)
for (const o of other) listing(`Check tests: ${o}`, mine.check.ids[o])

if (flags.has('--compare')) {
  const index = (await suite('results/index.mjs')).default.filter(i => i.type !== 'browser')
  const rows = [{ name, version: 'this run', s: mine }]
  for (const item of index) {
    const stored = JSON.parse(fs.readFileSync(path.join(suiteDir, 'results', item.file), 'utf8'))
    rows.push({ name: item.name, version: item.version, s: summarise(stored) })
  }
  out.push('')
  out.push('Compared with the results the suite publishes (its results/*.json, judged by the same test definitions):')
  out.push('')
  out.push('| cache | version | required pass | required fail | required dep. failed | required other | optimal pass | check yes |')
  out.push('|---|---|---|---|---|---|---|---|')
  for (const r of rows) {
    const q = r.s.required
    out.push(`| ${r.name} | ${r.version} | ${n(q, 'pass')}/${q.total} | ${n(q, 'fail')} | ` +
      `${n(q, 'dependency_fail')} | ${n(q, ...other)} | ` +
      `${n(r.s.optimal, 'pass')}/${r.s.optimal.total} | ${n(r.s.check, 'yes')}/${r.s.check.total} |`)
  }
}
console.log(out.join('\n'))
