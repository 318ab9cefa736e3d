// Runs the cache-tests suite (https://github.com/http-tests/cache-tests)
// through a cache: its test server and its client, in this one process.
//
//   node harness.mjs SUITE_DIR WORK_DIR [TEST_ID]
//
// 1. Starts the suite's test server on 127.0.0.1, a free port, and writes
//    the port to WORK_DIR/origin-port.
// 2. Waits for WORK_DIR/base-url (the cache's base URL, written by run.sh
//    once the cache is up), at most 60 s.
// 3. Runs every test the suite runs for a proxy cache (what its
//    test-engine/cli.mjs runs), writes WORK_DIR/results.json (the suite's
//    results format, as in its results/ directory) and
//    WORK_DIR/harness.json (what the Req-Num restoration below did).
//    With TEST_ID, runs that test alone and prints its requests,
//    responses and result, as `npm run cli --id=TEST_ID` does.
//
// Req-Num restoration (REQNUM_RESTORE=1, the default; 0 turns it off).
// The suite's client numbers each request of a test in a Req-Num request
// header, and its server relies on seeing it: it picks the response to
// send by it, and the client's checks that a request reached the server
// ("not_cached") and that the cache did not retry compare it. A cache that
// does not forward Req-Num to the origin (the edge forwards only the
// request headers it keys on) makes nearly every multi-request test fail
// or come out as "retry", whatever the cache did. Within one test the
// client sends its requests one at a time, so a request for
// /test/<uuid> that reaches the server without Req-Num while the client
// has request N of that test in flight is request N, or a request the
// cache made because of it: the harness adds `Req-Num: N` to it before
// the suite's server sees it. A request arriving while none of its test's
// requests is in flight (a background fetch that outlives the client's
// request) is left without Req-Num, as the cache sent it. Nothing else of
// the suite changes.
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [suiteArg, workArg, testId] = process.argv.slice(2)
if (!suiteArg || !workArg) {
  console.error('usage: node harness.mjs SUITE_DIR WORK_DIR [TEST_ID]')
  process.exit(2)
}
const suiteDir = path.resolve(suiteArg)
const workDir = path.resolve(workArg)
const restore = (process.env.REQNUM_RESTORE ?? '1') !== '0'
const suite = rel => import(pathToFileURL(path.join(suiteDir, rel)).href)

// In-flight client requests: test uuid → the Req-Num being sent.
const inFlight = new Map()
const stats = { reqnum_restore: restore, forwarded: 0, restored: 0, unattributed: 0, unattributed_requests: [] }
const testPath = /^\/test\/([0-9a-f-]{36})(?:[/?]|$)/

const clientFetch = globalThis.fetch
globalThis.fetch = function (url, init = {}) {
  const m = testPath.exec(new URL(url).pathname)
  const num = m && (init.headers || []).find(h => h[0].toLowerCase() === 'req-num')
  if (!num) return clientFetch(url, init)
  inFlight.set(m[1], num[1])
  const done = () => { if (inFlight.get(m[1]) === num[1]) inFlight.delete(m[1]) }
  return clientFetch(url, init).then(r => { done(); return r }, e => { done(); throw e })
}

const createServer = http.createServer
http.createServer = function (handler) {
  return createServer.call(http, (req, res) => {
    const m = testPath.exec(req.url)
    if (m) {
      if (req.headers['req-num'] !== undefined) {
        stats.forwarded++
      } else if (restore && inFlight.has(m[1])) {
        req.headers['req-num'] = inFlight.get(m[1])
        stats.restored++
      } else {
        stats.unattributed++
        stats.unattributed_requests.push(`${req.method} ${req.url}`)
      }
    }
    handler(req, res)
  })
}
const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (port, ...rest) {
  // the suite's server binds every interface; bind loopback only
  if ((typeof port === 'string' || typeof port === 'number') && rest.length === 0) {
    return listen.call(this, { port: Number(port), host: '127.0.0.1' }, () => {
      fs.writeFileSync(path.join(workDir, 'origin-port'), String(this.address().port))
    })
  }
  return listen.call(this, port, ...rest)
}

// The suite's server reads these as `npm run server` would set them.
Object.assign(process.env, {
  npm_config_protocol: 'http',
  npm_config_port: '0',
  npm_config_pidfile: path.join(workDir, 'origin.pid')
})
await suite('test-engine/server/server.mjs')

const baseFile = path.join(workDir, 'base-url')
for (let waited = 0; !fs.existsSync(baseFile); waited += 100) {
  if (waited > 60000) {
    console.error(`harness: no ${baseFile} after 60 s`)
    process.exit(1)
  }
  await new Promise(resolve => setTimeout(resolve, 100))
}
const baseUrl = fs.readFileSync(baseFile, 'utf8').trim()

const { runTests, getResults } = await suite('test-engine/client/runner.mjs')
const { determineTestResult } = await suite('test-engine/lib/results.mjs')
const tests = (await suite('tests/index.mjs')).default

let toRun = tests
if (testId) {
  toRun = []
  for (const s of tests) {
    for (const t of s.tests) {
      if (t.id === testId) {
        t.dump = true
        toRun.push({ name: s.name, id: s.id, description: s.description, tests: [t] })
      }
    }
  }
  if (toRun.length === 0) {
    console.error(`harness: no test ${testId}`)
    process.exit(2)
  }
}
await runTests(toRun, false, baseUrl)
const results = getResults()
// name the tests of the requests that reached the server unattributed
const { testUUIDs } = await suite('test-engine/client/test.mjs')
const testOf = new Map(Object.entries(testUUIDs).map(([id, uuid]) => [uuid, id]))
stats.unattributed_requests = stats.unattributed_requests.map(r => {
  const m = testPath.exec(r.split(' ')[1])
  return `${r} (${(m && testOf.get(m[1])) || 'unknown test'})`
})
fs.writeFileSync(path.join(workDir, 'harness.json'), JSON.stringify(stats, null, 2) + '\n')
if (testId) {
  const symbol = determineTestResult(tests, testId, results, false)
  console.log(`==== Result: ${symbol[2]} ${results[testId] === true ? '' : JSON.stringify(results[testId])}`)
  console.log(`==== Req-Num: ${JSON.stringify(stats)}`)
} else {
  fs.writeFileSync(path.join(workDir, 'results.json'), JSON.stringify(results, null, 2) + '\n')
}
process.exit(0)
