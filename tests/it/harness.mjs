// harness.mjs — runs the real kizuna binary for black-box tests: fresh DB, `init`, `serve` on a random port.
//
// startServer() gives each caller its own database (a SQLite file in a new temp
// dir, or a new database on the run's shared PostgreSQL) and a running server.
// Servers started inside a test are stopped when that test ends; servers started
// in before() hooks or at top level are stopped when the file ends; any left at
// process exit are killed. Use this file's `test` (a thin wrapper over node:test)
// so a failing test prints the server's stderr from the time the test ran.

import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as nodeTest from 'node:test';
import { fileURLToPath } from 'node:url';
import { pgClient, startPostgres } from './pg.mjs';

export { after, afterEach, before, beforeEach, describe } from 'node:test';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.KIZUNA_BIN || path.join(REPO, 'build', 'kizuna');
export const BACKEND = process.env.KZ_TEST_BACKEND || 'sqlite';

const LISTEN_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;
const CLI_TIMEOUT_MS = 120_000;
const LOG_DUMP_LINES = 200;

const currentTest = new AsyncLocalStorage();
const liveServers = new Set(); // servers whose process is (or may be) running
const fileScoped = new Set(); // disposables to release when the file ends
const testScoped = new WeakMap(); // test context → disposables to release when it ends
const tempDirs = new Set();
let ownPg = null; // a PostgreSQL this process started (no KZ_TEST_PG_PORT given)
let dbCounter = 0;

if (!['sqlite', 'postgres'].includes(BACKEND)) {
  throw new Error(`KZ_TEST_BACKEND must be sqlite or postgres, not ${BACKEND}`);
}

// ---------------------------------------------------------------- cleanup

function killAllSync() {
  for (const s of liveServers) s._killSync();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAllSync();
    if (ownPg) ownPg.stopSync();
    process.exit(128 + (os.constants.signals[sig] || 1));
  });
}

// Runs after every test of the importing file, failed or not.
nodeTest.after(async () => {
  const pending = [...fileScoped];
  fileScoped.clear();
  for (const d of pending.reverse()) {
    try {
      await d.dispose();
    } catch (e) {
      process.stderr.write(`harness: cleanup failed: ${e.stack || e}\n`);
    }
  }
  if (ownPg) {
    await ownPg.stop();
    ownPg = null;
  }
});

/** Release `d` when the current test ends, or when the file ends outside a test. */
function scoped(d) {
  const t = currentTest.getStore();
  if (!t) {
    fileScoped.add(d);
    return d;
  }
  // One after() per test, releasing in reverse order: servers before their databases.
  let stack = testScoped.get(t);
  if (!stack) {
    stack = [];
    testScoped.set(t, stack);
    t.after(async () => {
      for (const x of stack.reverse()) await x.dispose();
    });
  }
  stack.push(d);
  return d;
}

// ---------------------------------------------------------------- test wrapper

/**
 * node:test's test(name, [options], fn), plus: on failure, prints the stderr of
 * every kizuna server that was running, from the moment the test started.
 */
export function test(name, ...rest) {
  const fn = rest.pop();
  const options = rest[0] || {};
  return nodeTest.test(name, options, (t) => {
    const marks = new Map([...liveServers].map((s) => [s, s.logLines.length]));
    return currentTest.run(t, async () => {
      try {
        return await fn(t);
      } catch (e) {
        dumpLogs(name, marks);
        throw e;
      }
    });
  });
}
export const it = test;

function dumpLogs(name, marks) {
  const servers = new Set([...marks.keys(), ...liveServers]);
  for (const s of servers) {
    const lines = s.logLines.slice(marks.get(s) ?? 0);
    const shown = lines.slice(-LOG_DUMP_LINES);
    const head = `----- kizuna stderr for failed test "${name}" (${BACKEND}, db ${s.dbUrl}` +
                 `${shown.length < lines.length ? `, last ${shown.length} of ${lines.length} lines` : ''}) -----`;
    process.stderr.write(`${head}\n${shown.join('\n')}\n----- end of kizuna stderr -----\n`);
  }
}

// ---------------------------------------------------------------- processes

function checkBinary() {
  if (!existsSync(BIN)) {
    throw new Error(`kizuna binary not found at ${BIN}: build it with \`make\` or set KIZUNA_BIN`);
  }
}

/**
 * Run `kizuna ...args`; resolves to {code, signal, stdout, stderr, stdoutBuf, json}
 * (json: stdout parsed as JSON, or undefined). Never rejects on a non-zero exit.
 */
export function runCli(args, { input, env, timeout = CLI_TIMEOUT_MS } = {}) {
  checkBinary();
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBuf = Buffer.concat(out);
      const stdout = stdoutBuf.toString('utf8');
      let json;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        code, signal, stdout, stderr, stdoutBuf, json,
        info: `kizuna ${args.join(' ')} → exit ${code}${signal ? ` (${signal})` : ''}\n` +
              `stdout: ${stdout.slice(0, 2000)}\nstderr: ${stderr.slice(0, 2000)}`,
      });
    });
    child.stdin.on('error', () => {}); // the program may exit without reading stdin
    child.stdin.end(input ?? '');
  });
}

// ---------------------------------------------------------------- databases

/** A temp directory removed at the end of the file (or process). */
export function tempDir(prefix = 'kz-it-') {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  scoped({ dispose: () => { rmSync(dir, { recursive: true, force: true }); tempDirs.delete(dir); } });
  return dir;
}

/** Write `data` to a new temp file named `name`; returns its path. */
export function tempFile(name, data) {
  const file = path.join(tempDir(), name);
  writeFileSync(file, data);
  return file;
}

async function sharedPg() {
  if (process.env.KZ_TEST_PG_PORT) {
    return pgClient(Number(process.env.KZ_TEST_PG_PORT));
  }
  if (!ownPg) ownPg = await startPostgres();
  return ownPg;
}

/**
 * A fresh, empty database for this backend: {dbUrl, dispose()}. Dropped/removed
 * when the current test (or file) ends.
 */
export async function newDatabase() {
  dbCounter += 1;
  const suffix = Math.random().toString(36).slice(2, 8);
  if (BACKEND === 'sqlite') {
    const dir = tempDir('kz-db-');
    return { dbUrl: path.join(dir, 'kizuna.db'), dispose() {} };
  }
  const pg = await sharedPg();
  const name = `kz_${process.pid}_${dbCounter}_${suffix}`;
  const dbUrl = pg.createDatabase(name);
  return scoped({
    dbUrl,
    dispose() {
      try {
        pg.dropDatabase(name);
      } catch {
        /* a server that was SIGKILLed may linger for a moment; the cluster is thrown away anyway */
      }
    },
  });
}

// ---------------------------------------------------------------- servers

/**
 * Start `kizuna serve` on a fresh database (or opts.dbUrl) after `kizuna init`.
 * opts: {env, dbUrl, init = true, apiKey, viaEnv = false, args = []}.
 * Resolves to the server object described in the file header.
 */
export async function startServer(opts = {}) {
  checkBinary();
  const env = { ...(opts.env || {}) };
  const dbUrl = opts.dbUrl || (await newDatabase()).dbUrl;
  // Each server keeps its own event log (SQLite: beside the file; PostgreSQL: a directory
  // per server, as two servers on one machine must have); restarts of one server reuse it.
  if (!env.KIZUNA_EVENT_LOG && !String(dbUrl).startsWith('/') && !env.KIZUNA_DB?.startsWith('/')) {
    env.KIZUNA_EVENT_LOG = path.join(tempDir('kz-log-'), 'events');
    // and its own install key for sealed settings (SQLite keeps it beside the file)
    if (!env.KIZUNA_SECRET_KEY_FILE) env.KIZUNA_SECRET_KEY_FILE = path.join(path.dirname(env.KIZUNA_EVENT_LOG), 'kizuna.key');
  }
  const srv = new Server({ dbUrl, env, viaEnv: !!opts.viaEnv, args: opts.args || [] });

  if (opts.init !== false) {
    const r = await runCli(['init', '--db', dbUrl], { env });
    if (r.code !== 0 || !r.json) throw new Error(`kizuna init failed: ${r.info}`);
    srv.init = r.json;
    srv.apiKey = r.json.api_key;
    srv.admin = { email: r.json.admin_email, password: r.json.admin_password };
  } else {
    srv.apiKey = opts.apiKey ?? null;
  }
  scoped(srv);
  await srv.start();
  return srv;
}

class Server {
  constructor({ dbUrl, env, viaEnv, args }) {
    this.dbUrl = dbUrl;
    this.env = env;
    this.viaEnv = viaEnv;
    this.extraArgs = args;
    this.url = null;
    this.port = null;
    this.apiKey = null;
    this.admin = null;
    this.init = null;
    this.logLines = [];
    this.child = null;
    this.exit = null; // {code, signal} of the last process once it exited
    this._partial = '';
  }

  /** All stderr (and stdout) the server processes wrote so far. */
  get stderr() {
    return this.logLines.join('\n') + (this._partial ? `\n${this._partial}` : '');
  }

  _log(chunk, tag = '') {
    const text = this._partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this._partial = lines.pop();
    for (const l of lines) this.logLines.push(tag + l);
    this._waiters?.forEach((w) => w());
  }

  async start() {
    if (this.child && this.exit === null) throw new Error('server already running');
    const args = ['serve', ...this.extraArgs];
    const env = { ...process.env, ...this.env };
    if (this.viaEnv) {
      env.KIZUNA_DB = this.dbUrl;
      env.KIZUNA_LISTEN = '127.0.0.1:0';
    } else {
      args.push('--db', this.dbUrl, '--listen', '127.0.0.1:0');
    }
    const firstLine = this.logLines.length;
    this.exit = null;
    this._partial = '';
    this._waiters = new Set();
    const child = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    liveServers.add(this);
    child.stderr.on('data', (d) => this._log(d));
    child.stdout.on('data', (d) => this._log(d, '[stdout] '));
    this._exited = new Promise((resolve) => {
      child.on('error', (e) => {
        this.logLines.push(`[harness] spawn failed: ${e.message}`);
        this.exit = { code: null, signal: null, error: e };
        liveServers.delete(this);
        resolve(this.exit);
      });
      child.on('close', (code, signal) => {
        if (this._partial) this.logLines.push(this._partial);
        this._partial = '';
        this.exit = { code, signal };
        liveServers.delete(this);
        this._waiters.forEach((w) => w());
        resolve(this.exit);
      });
    });

    const re = /listening on http:\/\/127\.0\.0\.1:(\d+)/;
    try {
      const m = await this.waitForLog(re, LISTEN_TIMEOUT_MS, firstLine);
      this.port = Number(m[1]);
      this.url = `http://127.0.0.1:${this.port}`;
    } catch (e) {
      this._killSync();
      await this._exited;
      throw new Error(`kizuna serve did not print "listening on http://127.0.0.1:PORT": ${e.message}\n` +
                      `--- kizuna stderr ---\n${this.logLines.slice(firstLine).join('\n')}`);
    }
  }

  /**
   * Resolve with the regex match of the first log line (from line `from`) that
   * matches `re`; reject after `timeout` ms or when the process has exited.
   */
  waitForLog(re, timeout = 10_000, from = 0) {
    return new Promise((resolve, reject) => {
      let done = false;
      const check = () => {
        if (done) return;
        for (let i = from; i < this.logLines.length; i++) {
          const m = this.logLines[i].match(re);
          if (m) return finish(null, m);
        }
        const m = this._partial.match(re);
        if (m) return finish(null, m);
        if (this.exit) finish(new Error(`server exited (${JSON.stringify(this.exit)}) before logging ${re}`));
      };
      const finish = (err, m) => {
        done = true;
        clearTimeout(timer);
        this._waiters.delete(check);
        if (err) reject(err);
        else resolve(m);
      };
      const timer = setTimeout(() => finish(new Error(`no log line matching ${re} within ${timeout} ms`)), timeout);
      this._waiters.add(check);
      check();
    });
  }

  /**
   * HTTP request to the server. body: JSON-encoded unless opts.raw (string or
   * Buffer) is given. opts.key: API key (default the admin key; null = none).
   * Resolves to {status, headers, text, json, body, info}.
   */
  async api(method, p, body, opts = {}) {
    if (!this.url) throw new Error('server is not running');
    const headers = {};
    for (const [k, v] of Object.entries(opts.headers || {})) headers[k.toLowerCase()] = v;
    const key = 'key' in opts ? opts.key : this.apiKey;
    if (key && !('authorization' in headers)) headers.authorization = `Bearer ${key}`;
    let payload;
    if (opts.raw !== undefined) {
      payload = opts.raw;
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      if (!('content-type' in headers)) headers['content-type'] = 'application/json';
    }
    const res = await fetch(this.url + p, {
      method, headers, body: payload, signal: AbortSignal.timeout(opts.timeout ?? 60_000),
    });
    const buf = Buffer.from(await res.arrayBuffer());
    const text = buf.toString('utf8');
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const shownBody = opts.raw !== undefined ? `<${Buffer.byteLength(opts.raw)} raw bytes>` : payload ?? '';
    return {
      status: res.status, headers: res.headers, text, json, body: buf,
      info: `${method} ${p} ${String(shownBody).slice(0, 500)}\n→ ${res.status} ${text.slice(0, 1500)}`,
    };
  }

  /** `kizuna ...args` with this server's env. */
  runCli(args, opts = {}) {
    return runCli(args, { ...opts, env: { ...this.env, ...(opts.env || {}) } });
  }

  /** SIGTERM and wait; resolves to {code, signal}. SIGKILLs and throws after 15 s. */
  async stop() {
    if (!this.child || this.exit) return this.exit;
    this.child.kill('SIGTERM');
    let timer;
    const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS); });
    const r = await Promise.race([this._exited, timedOut]);
    clearTimeout(timer);
    this.url = null;
    if (r === 'timeout') {
      this.child.kill('SIGKILL');
      await this._exited;
      throw new Error(`kizuna serve did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
    }
    return r;
  }

  /** SIGKILL and wait; resolves to {code, signal}. */
  async kill9() {
    if (!this.child || this.exit) return this.exit;
    this.child.kill('SIGKILL');
    this.url = null;
    return this._exited;
  }

  /** Stop (if running) and start again on the same database; the port changes. */
  async restart() {
    await this.stop();
    this.logLines.push('[harness] ----- restart -----');
    await this.start();
  }

  _killSync() {
    if (this.child && !this.exit) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  async dispose() {
    if (this.child && !this.exit) {
      try {
        await this.stop();
      } catch {
        /* stop() already SIGKILLed it */
      }
    }
  }
}

// ---------------------------------------------------------------- helpers for tests

/** A unique lowercase email address. */
export function uniqueEmail(tag = 'u') {
  const r = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return `${tag}-${r}@example.com`;
}

/** Every item of a cursor-paged list endpoint (path may have a query). */
export async function listAll(srv, p, { limit = 500, key } = {}) {
  const items = [];
  const seenCursors = new Set();
  let cursor = null;
  for (let page = 0; page < 10_000; page++) {
    const sep = p.includes('?') ? '&' : '?';
    const q = `${p}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await srv.api('GET', q, undefined, key === undefined ? {} : { key });
    assert.equal(res.status, 200, res.info);
    assert.ok(Array.isArray(res.json?.data), res.info);
    items.push(...res.json.data);
    cursor = res.json.next_cursor;
    if (cursor === null || cursor === undefined) return items;
    assert.ok(!seenCursors.has(cursor), `cursor repeated: ${cursor}`);
    seenCursors.add(cursor);
  }
  throw new Error(`listAll ${p}: too many pages`);
}

/** Number of contacts in the database, counted through the API. */
export async function countContacts(srv) {
  return (await listAll(srv, '/api/v1/contacts')).length;
}

/** Number of companies, counted through the API. */
export async function countCompanies(srv) {
  return (await listAll(srv, '/api/v1/companies')).length;
}

/** Assert `res` is an error of the documented shape with this status, code and (if given) field. */
export function assertError(res, status, code, field) {
  assert.equal(res.status, status, res.info);
  assert.ok(res.json && typeof res.json.error === 'object' && res.json.error !== null,
            `error body must be {"error":{...}}: ${res.info}`);
  const e = res.json.error;
  assert.equal(e.code, code, res.info);
  assert.equal(typeof e.message, 'string', res.info);
  assert.ok(e.message.length > 0, res.info);
  assert.ok('field' in e, `error must have a "field" key: ${res.info}`);
  if (field !== undefined) assert.equal(e.field, field, res.info);
  return e;
}

/** Assert the status, returning the parsed JSON body. */
export function expectStatus(res, status) {
  assert.equal(res.status, status, res.info);
  return res.json;
}

/**
 * One HTTP/1.1 request through node:http, for cases fetch handles badly (a
 * server that answers before reading a large body). Resolves on the response;
 * errors writing the rest of the body after that are ignored.
 */
export function rawRequest(url, { method = 'GET', path: p = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${p}`, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json,
                  info: `${method} ${p} <${body ? Buffer.byteLength(body) : 0} bytes>\n→ ${res.statusCode} ${text.slice(0, 1500)}` });
      });
      res.on('error', reject);
    });
    let answered = false;
    req.on('response', () => { answered = true; });
    req.on('error', (e) => { if (!answered) reject(e); });
    req.end(body);
  });
}

/** ASCII → full-width forms (U+FF01..U+FF5E), e.g. "a@b.jp" → "ａ＠ｂ．ｊｐ". */
export function toFullWidth(s) {
  return [...s].map((c) => {
    const n = c.codePointAt(0);
    return n >= 0x21 && n <= 0x7e ? String.fromCodePoint(n + 0xfee0) : c;
  }).join('');
}

/** Parse RFC 4180 CSV (quotes, "" escapes, CRLF or LF, optional BOM) into rows of strings. */
export function parseCsv(text) {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Encode a string as CP932 (Windows Shift_JIS) with glibc's iconv. */
export function toCp932(s) {
  return execFileSync('iconv', ['-f', 'UTF-8', '-t', 'CP932'], { input: Buffer.from(s, 'utf8') });
}

/** Sorted copy of an array (for comparing tag sets). */
export const sorted = (a) => [...a].sort();

/** ISO 8601 UTC timestamp like 2026-11-24T17:11:58Z (fractional seconds allowed). */
export const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** Poll `fn` until it returns a truthy value; throws after `timeout` ms. */
export async function waitFor(fn, { timeout = 5000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Assert `obj` has every documented key in `keys` and none of `forbidden`
 * (extra, undocumented keys are allowed: later features may add some).
 */
export function assertKeys(obj, keys, { forbidden = [], what = 'object' } = {}) {
  assert.ok(obj && typeof obj === 'object', `${what} must be an object: ${JSON.stringify(obj)}`);
  const missing = keys.filter((k) => !(k in obj));
  assert.deepEqual(missing, [], `${what} lacks documented keys ${missing.join(', ')}: ${JSON.stringify(obj)}`);
  const bad = forbidden.filter((k) => k in obj);
  assert.deepEqual(bad, [], `${what} must not contain ${bad.join(', ')}: ${JSON.stringify(obj)}`);
}

/** The subset of `obj` with only `keys`. */
export function pick(obj, keys) {
  return Object.fromEntries(keys.filter((k) => k in obj).map((k) => [k, obj[k]]));
}
