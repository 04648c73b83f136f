#!/usr/bin/env node
// node-postgres (pg) against a server that serves the pgproto test catalog
// (tests/clients/README.md). One line per check: `ok NAME` or `FAIL NAME: reason`; exit status 1
// when any check failed. Needs NODE_PATH pointing at the node_modules that scripts/clients.sh
// filled (${PGPROTO_CLIENTS_DIR:-/opt/pgproto-clients}/node/node_modules).
//
//   node node_pg_check.js --host 127.0.0.1 --port 54318 --user pgproto_scram --password scram-secret
//   node node_pg_check.js ... --only simple,params --sslmode require --sslnegotiation direct
'use strict'

const pg = require('pg')

const ITEMS = [
  [1, 'one'],
  [2, 'two'],
  [3, 'three'],
]
const CHANNEL = `pgproto_node_${process.pid}` // runs at the same time do not mix

function parseArgs(argv) {
  const args = { host: '127.0.0.1', port: null, user: null, password: '', dbname: 'postgres', only: '', skip: '', timeout: 60 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--list') {
      args.list = true
      continue
    }
    const m = /^--([a-z-]+)$/.exec(a)
    if (!m || i + 1 >= argv.length) usage(`bad argument ${a}`)
    args[m[1]] = argv[++i]
  }
  if (!args.list && (!args.port || !args.user)) usage('--port and --user are required')
  args.port = Number(args.port)
  args.timeout = Number(args.timeout)
  return args
}

function usage(msg) {
  console.error(`${msg}\nusage: node_pg_check.js --host H --port P --user U [--password PW] [--dbname D]
  [--only a,b] [--skip c] [--list] [--timeout S] [--sslmode disable|prefer|require] [--sslnegotiation postgres|direct]`)
  process.exit(2)
}

const ARGS = parseArgs(process.argv.slice(2))

class CheckFailed extends Error {}

function expect(cond, what) {
  if (!cond) throw new CheckFailed(what)
}

function expectEq(got, want, what) {
  const g = JSON.stringify(got)
  const w = JSON.stringify(want)
  if (g !== w) throw new CheckFailed(`${what}: got ${g}, want ${w}`)
}

function config(extra = {}) {
  const cfg = {
    host: ARGS.host,
    port: ARGS.port,
    user: ARGS.user,
    database: ARGS.dbname,
    connectionTimeoutMillis: 10000,
    application_name: 'pgproto-node-pg-check',
  }
  // An empty password: none is sent (and PGPASSWORD or ~/.pgpass are not consulted either).
  cfg.password = ARGS.password || undefined
  if (ARGS.sslmode === 'require' || ARGS.sslmode === 'prefer' || ARGS.sslnegotiation === 'direct') {
    // The test servers' certificates are self-signed: require encryption, not verification.
    cfg.ssl = { rejectUnauthorized: false }
  }
  if (ARGS.sslnegotiation) cfg.sslnegotiation = ARGS.sslnegotiation
  return Object.assign(cfg, extra)
}

async function withClient(f, extra) {
  const client = new pg.Client(config(extra))
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

function expectItems(rows, what) {
  expect(rows.length >= 3, `${what}: ${rows.length} rows, want at least 3`)
  expectEq(rows.slice(0, 3), ITEMS, what)
  const ids = rows.map((r) => r[0])
  expect(
    ids.every((v, i) => i === 0 || ids[i - 1] <= v),
    `${what}: ids not in order: ${ids}`
  )
}

async function expectError(codes, promise, what) {
  try {
    await promise
  } catch (err) {
    if (err instanceof CheckFailed) throw err
    expect(codes.includes(err.code), `${what}: code ${err.code} (${err.message}), want ${codes}`)
    return err
  }
  throw new CheckFailed(`${what}: no error, want ${codes}`)
}

// --- checks ------------------------------------------------------------------------------------

async function checkConnect() {
  return withClient(async (c) => {
    expect(c.processID, 'no backend pid (BackendKeyData)')
    const tls = Boolean(c.connection.stream.encrypted)
    if (ARGS.sslmode === 'require' || ARGS.sslnegotiation === 'direct') expect(tls, 'TLS was asked for but is not in use')
    if (ARGS.sslmode === 'disable' || !ARGS.sslmode) expect(!tls, 'TLS is in use but was not asked for')
    return `tls ${tls}`
  })
}

async function checkSimple() {
  return withClient(async (c) => {
    for (const q of ['SELECT 1', 'SELECT 1;']) {
      const r = await c.query(q)
      expectEq(r.command, 'SELECT', `${q} command`)
      expectEq(r.rowCount, 1, `${q} row count`)
      expectEq(
        r.fields.map((f) => [f.name, f.dataTypeID, f.format]),
        [['?column?', 23, 'text']],
        `${q} fields`
      )
      expectEq(r.rows, [{ '?column?': 1 }], q)
    }
    const items = await c.query({ text: 'SELECT id, name FROM items ORDER BY id', rowMode: 'array' })
    expectEq(
      items.fields.map((f) => [f.name, f.dataTypeID]),
      [
        ['id', 23],
        ['name', 25],
      ],
      'items fields'
    )
    expectItems(items.rows, 'items')
    const n = await c.query('SELECT count(*) FROM items')
    expectEq(n.fields[0].dataTypeID, 20, 'count(*) type')
    // node-postgres returns int8 as a string.
    expect(Number(n.rows[0].count) >= 3, `count(*) = ${n.rows[0].count}`)
  })
}

async function checkParams() {
  return withClient(async (c) => {
    for (const v of [41, -7, '100000']) {
      const r = await c.query('SELECT $1::int + 1', [v])
      expectEq(r.fields[0].dataTypeID, 23, 'result type')
      expectEq(r.rows[0]['?column?'], Number(v) + 1, `SELECT ${v}::int + 1`)
    }
    // Extended protocol without parameters (Parse/Bind/Describe/Execute/Sync, unnamed).
    const r = await c.query({ text: 'SELECT 1', queryMode: 'extended' })
    expectEq(r.rows, [{ '?column?': 1 }], 'extended SELECT 1')
    const items = await c.query({ text: 'SELECT id, name FROM items ORDER BY id', values: [], queryMode: 'extended', rowMode: 'array' })
    expectItems(items.rows, 'extended items')
  })
}

async function checkPrepared() {
  return withClient(async (c) => {
    // A named statement: Parse once, then Bind/Execute for each use.
    for (const v of [1, 2, 3]) {
      const r = await c.query({ name: 's1', text: 'SELECT $1::int + 1', values: [v] })
      expectEq(r.rows, [{ '?column?': v + 1 }], `s1(${v})`)
    }
    const r = await c.query({ name: 'items', text: 'SELECT id, name FROM items ORDER BY id', rowMode: 'array' })
    expectItems(r.rows, 'named items')
    const again = await c.query({ name: 'items', text: 'SELECT id, name FROM items ORDER BY id', rowMode: 'array' })
    expectItems(again.rows, 'named items again')
  })
}

async function checkPipeline() {
  // pipeline: true (node-postgres 8.22+) writes every query at once without waiting for the
  // previous answer; each query ends with its own Sync (or is a simple Query), so an error fails
  // that query only.
  return withClient(
    async (c) => {
      const results = await Promise.allSettled([
        c.query('SELECT 1'),
        c.query('SELECT $1::int + 1', [41]),
        c.query('SELECT 1/0'),
        c.query({ name: 'p1', text: 'SELECT $1::int + 1', values: [1] }),
        c.query({ name: 'p1', text: 'SELECT $1::int + 1', values: [2] }),
        c.query({ text: 'SELECT id, name FROM items ORDER BY id', rowMode: 'array' }),
        c.query({ text: 'SELECT 1/0', values: [] , queryMode: 'extended' }),
        c.query('SELECT count(*) FROM items'),
      ])
      const status = results.map((r) => r.status)
      expectEq(
        status,
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
        'pipelined query outcomes'
      )
      expectEq(results[0].value.rows, [{ '?column?': 1 }], 'SELECT 1')
      expectEq(results[1].value.rows, [{ '?column?': 42 }], 'SELECT 41::int + 1')
      expectEq(results[2].reason.code, '22012', 'simple SELECT 1/0')
      expectEq(results[3].value.rows, [{ '?column?': 2 }], 'p1(1)')
      expectEq(results[4].value.rows, [{ '?column?': 3 }], 'p1(2)')
      expectItems(results[5].value.rows, 'pipelined items')
      expectEq(results[6].reason.code, '22012', 'extended SELECT 1/0')
      expect(Number(results[7].value.rows[0].count) >= 3, 'count(*)')
      expectEq(c.getTransactionStatus(), 'I', 'transaction status')
    },
    { pipeline: true }
  )
}

async function checkErrors() {
  return withClient(async (c) => {
    const e = await expectError(['22012'], c.query('SELECT 1/0'), 'simple SELECT 1/0')
    expectEq(e.severity, 'ERROR', 'severity')
    await expectError(['22012'], c.query({ text: 'SELECT 1/0', queryMode: 'extended' }), 'extended SELECT 1/0')
    await expectError(['42601', '0A000'], c.query('THIS IS NOT IN THE CATALOG'), 'unknown statement')
    await expectError(['42601', '0A000'], c.query('THIS IS NOT IN THE CATALOG $1', [1]), 'unknown extended statement')
    await expectError(['42601', '0A000'], c.query({ name: 'bad', text: 'THIS IS NOT IN THE CATALOG', values: [] }), 'unknown named statement')
    const r = await c.query('SELECT $1::int + 1', [1])
    expectEq(r.rows[0]['?column?'], 2, 'query after the errors')
  })
}

async function checkTransaction() {
  return withClient(async (c) => {
    expectEq((await c.query('BEGIN')).command, 'BEGIN', 'BEGIN tag')
    await c.query('SELECT 1')
    expectEq((await c.query('COMMIT')).command, 'COMMIT', 'COMMIT tag')
    await c.query('BEGIN')
    expectEq(c.getTransactionStatus(), 'T', 'status after BEGIN')
    await expectError(['22012'], c.query('SELECT 1/0'), 'SELECT 1/0 in a transaction')
    await expectError(['25P02'], c.query('SELECT 1'), 'SELECT 1 in the failed transaction')
    await expectError(['25P02'], c.query('SELECT $1::int + 1', [1]), 'extended query in the failed transaction')
    expectEq((await c.query('ROLLBACK')).command, 'ROLLBACK', 'ROLLBACK tag')
    expectEq((await c.query('SELECT 1')).rows, [{ '?column?': 1 }], 'SELECT 1 after ROLLBACK')
    expectEq(c.getTransactionStatus(), 'I', 'status after ROLLBACK')
  })
}

async function checkNotify() {
  const listener = new pg.Client(config())
  const notifier = new pg.Client(config())
  await listener.connect()
  await notifier.connect()
  try {
    const payload = `hello from node-postgres ${process.pid}`
    const got = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new CheckFailed('no notification within 5 s')), 5000)
      listener.on('notification', (n) => {
        clearTimeout(timer)
        resolve(n)
      })
    })
    await listener.query(`LISTEN ${CHANNEL}`)
    await notifier.query(`NOTIFY ${CHANNEL}, '${payload}'`)
    const n = await got
    expectEq([n.channel, n.payload], [CHANNEL, payload], 'notification')
    expectEq(n.processId, notifier.processID, 'notifying backend pid')
    await listener.query(`UNLISTEN ${CHANNEL}`)
  } finally {
    await listener.end()
    await notifier.end()
  }
}

async function checkCancel() {
  return withClient(async (c) => {
    const query = new pg.Query('SELECT pg_sleep(10)')
    const done = new Promise((resolve, reject) => {
      query.on('end', resolve)
      query.on('error', reject)
    })
    c.query(query)
    await new Promise((r) => setTimeout(r, 300))
    const t0 = Date.now()
    // node-postgres cancels through another, unconnected Client: it opens a connection and sends
    // CancelRequest with the first one's process id and secret key. It does so without TLS even
    // when TLS is configured (it would write the request before the handshake), so this client
    // has none.
    // (Client.cancel reads the deprecated client.activeQuery itself: keep its warning quiet.)
    process.noDeprecation = true
    new pg.Client(config({ ssl: false, sslnegotiation: 'postgres' })).cancel(c, query)
    await expectError(['57014'], done, 'cancelled pg_sleep(10)')
    const waited = (Date.now() - t0) / 1000
    expect(waited < 2, `the query ended ${waited} s after the cancel`)
    expectEq((await c.query('SELECT 1')).rows, [{ '?column?': 1 }], 'SELECT 1 after the cancel')
    expectEq(c.getTransactionStatus(), 'I', 'transaction status')
    return `${waited.toFixed(2)}s`
  })
}

async function checkAuthFail() {
  for (const [what, extra] of [
    ['wrong password', { password: (ARGS.password || 'x') + '-wrong' }],
    ['unknown user', { user: 'pgproto_nobody', password: 'x' }],
  ]) {
    const c = new pg.Client(config(extra))
    try {
      await c.connect()
    } catch (err) {
      expectEq(err.code, '28P01', `${what}: code (${err.message})`)
      continue
    }
    await c.end()
    throw new CheckFailed(`${what}: the connection was accepted`)
  }
}

const CHECKS = [
  ['connect', checkConnect],
  ['simple', checkSimple],
  ['params', checkParams],
  ['prepared', checkPrepared],
  ['pipeline', checkPipeline],
  ['errors', checkErrors],
  ['transaction', checkTransaction],
  ['notify', checkNotify],
  ['cancel', checkCancel],
  ['auth_fail', checkAuthFail],
]
const DEFAULT_OFF = ['auth_fail']

async function main() {
  const names = CHECKS.map(([n]) => n)
  if (ARGS.list) {
    for (const n of names) console.log(n + (DEFAULT_OFF.includes(n) ? ' (only when asked)' : ''))
    return 0
  }
  const only = ARGS.only.split(',').filter(Boolean)
  const skip = ARGS.skip.split(',').filter(Boolean)
  for (const n of only.concat(skip)) if (!names.includes(n)) usage(`unknown check ${n}; the checks are: ${names}`)
  const todo = CHECKS.filter(([n]) => (only.length ? only.includes(n) : !skip.includes(n) && !DEFAULT_OFF.includes(n)))
  const watchdog = setTimeout(() => {
    console.log(`FAIL timeout: still running after ${ARGS.timeout} s`)
    process.exit(1)
  }, ARGS.timeout * 1000)
  watchdog.unref()
  console.log(`node-postgres ${require('pg/package.json').version}, node ${process.version}`)
  let failed = 0
  for (const [name, f] of todo) {
    const t0 = Date.now()
    try {
      const note = await f()
      const dt = ((Date.now() - t0) / 1000).toFixed(2)
      console.log(`ok ${name}${note ? ` (${note})` : ''} [${dt}s]`)
    } catch (err) {
      failed++
      if (err instanceof CheckFailed) {
        console.log(`FAIL ${name}: ${err.message}`)
      } else {
        const code = err.code ? ` [SQLSTATE ${err.code}]` : ''
        console.log(`FAIL ${name}: ${err.name}${code}: ${err.message}`)
        console.error(err.stack)
      }
    }
  }
  console.log(`done: ${todo.length - failed} ok, ${failed} FAIL`)
  return failed ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.log(`FAIL main: ${err.stack}`)
    process.exit(1)
  }
)
