// journeys.mjs — the journey benchmark of issue 8: N contacts enrolled in list trigger → wait
// 1 day → condition → send_email (to smtp-sink) / update_contact, the manual clock moved a day,
// against the same state writes done as plain prepared INSERT/UPDATEs on the same backend.
//
// usage: node bench/journeys.mjs     (or bench/run.sh journeys, make bench BENCH=journeys)
//
// Reported (printed and appended to build/bench/results.jsonl as {name,value,unit,baseline,
// baseline_value,ratio}):
//   journeys_enrol_<backend>     enrolments/s: activating the journey enrols every member of
//                                the list with its first step scheduled (one INSERT ... SELECT),
//                                vs the same rows written by a prepared INSERT per row
//                                ("prepared_insert"), both in one transaction.
//   journeys_steps_<backend>     step executions/s after the clock moves (wait → condition →
//                                send or update: 3 per contact, each with its idempotency row),
//                                vs the same writes as prepared statements — per execution one
//                                INSERT into journey_steps and one UPDATE of the enrolment,
//                                500 per transaction ("prepared_writes").
//   journeys_rss_<backend>       the server's peak resident memory (MiB), informational.
// The baseline runs on a copy of the database in the same process tree (python3's sqlite3
// module: a prepared statement stepped per row; PostgreSQL: psql with PREPARE/EXECUTE).
//
// Environment: KIZUNA_BIN, KZ_BENCH_RESULTS, KZ_BENCH_JOURNEY_CONTACTS (default 100000; the
// issue's 1000000 works the same), KZ_BENCH_PG (1: also PostgreSQL), KZ_BENCH_TMPDIR,
// KZ_BENCH_JOURNEY_BACKENDS=postgres (skip SQLite).

import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSink } from '../tests/it/mail.mjs';
import { rssMiB } from './proc.mjs';
import { startPostgres } from '../tests/it/pg.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KIZUNA = process.env.KIZUNA_BIN || path.join(ROOT, 'build', 'kizuna');
const RESULTS = process.env.KZ_BENCH_RESULTS || path.join(ROOT, 'build', 'bench', 'results.jsonl');
const N = Number(process.env.KZ_BENCH_JOURNEY_CONTACTS || 100_000);
const WITH_PG = (process.env.KZ_BENCH_PG ?? '1') !== '0';
const TMP = process.env.KZ_BENCH_TMPDIR || os.tmpdir();
const DAY = 86400;
const log = (s) => process.stdout.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function record(name, value, unit, baseline, baselineValue, note = '') {
  const ratio = baselineValue > 0 ? value / baselineValue : 0;
  log(`${name.padEnd(28)} kizuna ${value.toFixed(1).padStart(11)} ${unit.padEnd(6)} ${baseline.padEnd(16)} ` +
      `${baselineValue.toFixed(1).padStart(11)} ${unit.padEnd(6)} ratio ${ratio.toFixed(3)}${note}`);
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  appendFileSync(RESULTS, `${JSON.stringify({ name, value: +value.toFixed(3), unit, baseline,
    baseline_value: +baselineValue.toFixed(3), ratio: +ratio.toFixed(4) })}\n`);
}

// ---------------------------------------------------------------- the dataset (plain SQL)

function datasetSql(pg) {
  const t = Date.now();
  const series = pg ? `generate_series(1, ${N}) AS g(x)`
    : `(WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ${N}) SELECT x FROM s)`;
  const fields = pg ? `('{"group":"' || CASE WHEN x % 2 = 0 THEN 'a' ELSE 'b' END || '"}')::jsonb`
    : `json_object('group', CASE WHEN x % 2 = 0 THEN 'a' ELSE 'b' END)`;
  // search holds what the server derives for a contact without names (four bars, then the
  // email), so the first save of update_contact does not rewrite it as a correction.
  return `BEGIN;
INSERT INTO contacts (email, fields, search, name_fold, created_at, updated_at)
  SELECT 'b' || x || '@bench.example', ${fields}, '||||b' || x || '@bench.example', '', ${t}, ${t} FROM ${series};
INSERT INTO fields (key, label, type, created_at, updated_at) VALUES ('group', 'group', 'text', ${t}, ${t});
INSERT INTO segments (name, type, created_at, updated_at) VALUES ('bench list', 'static', ${t}, ${t});
INSERT INTO segment_members (contact_id, segment_id, added_at) SELECT id, 1, ${t} FROM contacts;
COMMIT;`;
}

// ---------------------------------------------------------------- the server

async function serve(db, sink, env = {}) {
  const child = spawn(KIZUNA, ['serve', '--db', db, '--listen', '127.0.0.1:0'], {
    env: { ...process.env, KIZUNA_CLOCK: 'manual', KIZUNA_SMTP_URL: sink.url, KIZUNA_SMTP_TLS: 'none',
      KIZUNA_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const grab = (d) => { out += d.toString(); };
  child.stdout.on('data', grab);
  child.stderr.on('data', grab);
  for (let i = 0; i < 600 && !/listening on http:\/\/[^:]+:(\d+)/.test(out); i++) await sleep(100);
  const m = /listening on (http:\/\/[^ ]+) /.exec(out);
  if (!m) throw new Error(`kizuna serve did not start: ${out}`);
  return { child, url: m[1], log: () => out };
}

async function api(srv, key, method, p, body) {
  const r = await fetch(srv.url + p, {
    method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function runKizuna(backend, db, initEnv = {}) {
  const init = JSON.parse(execFileSync(KIZUNA, ['init', '--db', db], { env: { ...process.env, ...initEnv } }).toString());
  const key = init.api_key;
  return key;
}

async function measure(backend, db, loadDataset, baseline) {
  log(`\n== ${backend}: ${N} contacts`);
  const key = await runKizuna(backend, db);
  const t0 = Date.now();
  loadDataset();
  log(`dataset loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const sink = await startSink();
  const srv = await serve(db, sink);
  try {
    await api(srv, key, 'PATCH', '/api/v1/settings', { company_name: '株式会社絆', company_address: '東京都千代田区丸の内1-1-1',
      company_contact: 'support@kizuna.example', sender_email: 'news@kizuna.example' });
    const email = await api(srv, key, 'POST', '/api/v1/emails', { name: 'bench', subject: 'ご案内', html: '<p>{{ contact.email }} さん</p>' });
    const j = await api(srv, key, 'POST', '/api/v1/journeys', {
      name: 'bench',
      definition: {
        triggers: [{ type: 'list_added', list_id: 1, include_existing: true }], start: 'w',
        steps: {
          w: { type: 'wait', seconds: DAY, next: 'c' },
          c: { type: 'condition', filter: { field: 'fields.group', op: 'eq', value: 'a' }, yes: 's', no: 'u' },
          s: { type: 'send_email', email_id: email.id },
          u: { type: 'update_contact', actions: [{ op: 'add_tag', tag: 'bench' }] },
        },
      },
    });
    if (!j.valid) throw new Error(`bench journey invalid: ${JSON.stringify(j.problems)}`);
    const a0 = Date.now();
    const act = await api(srv, key, 'POST', `/api/v1/journeys/${j.id}/activate`);
    const enrolS = (Date.now() - a0) / 1000;
    if (act.enrolled !== N) throw new Error(`enrolled ${act.enrolled}, not ${N}`);
    log(`enrolled ${N} (first step scheduled) in ${enrolS.toFixed(2)} s`);
    const s0 = Date.now();
    await api(srv, key, 'POST', '/api/v1/clock', { advance_seconds: DAY + 1 });
    const executions = 3 * N;
    // The server's own step counter (/metrics, cheap) every 100 ms until it reaches 3N, then
    // the journey's stats (they read the whole run, so not polled often) until they agree:
    // the time is to the verified end, not rounded up to a slow poll.
    let st;
    for (;;) {
      const m = /^kizuna_journey_steps_total (\d+)/m.exec(await (await fetch(`${srv.url}/metrics`)).text());
      if (m && Number(m[1]) >= executions) {
        st = await api(srv, key, 'GET', `/api/v1/journeys/${j.id}/stats`);
        if (st.completed === N) break;
      }
      await sleep(100);
    }
    const stepS = (Date.now() - s0) / 1000;
    log(`${executions} step executions in ${stepS.toFixed(2)} s (branches ${JSON.stringify(st.steps.c.branches)})`);
    const rss = rssMiB(srv.child.pid);
    const delivered = sink.files().length;
    log(`delivered to smtp-sink meanwhile: ${delivered} of ${N / 2} (the outbox goes on at its own rate)`);
    srv.child.kill('SIGTERM');
    await new Promise((r) => srv.child.once('exit', r));
    srv.child = null;
    const base = baseline(executions);
    record(`journeys_enrol_${backend}`, N / enrolS, 'rows/s', 'prepared_insert', N / base.enrolS,
      ` (${enrolS.toFixed(2)} s for ${N}; target ≤ 10 s for 1M on SQLite)`);
    record(`journeys_steps_${backend}`, executions / stepS, 'exec/s', 'prepared_writes', executions / base.stepS,
      ' (target ratio ≥ 0.5 on SQLite)');
    record(`journeys_rss_${backend}`, rss, 'MiB', 'none', 0);
  } finally {
    if (srv.child) {
      srv.child.kill('SIGTERM');
      await new Promise((r) => srv.child.once('exit', r));
    }
    await sink.stop();
  }
}

// ---------------------------------------------------------------- the baselines

function sqliteBaseline(db) {
  return (executions) => {
    const copy = `${db}.baseline`;
    copyFileSync(db, copy);
    const py = `
import sqlite3, time, sys
n, ex = ${N}, ${executions}
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=NORMAL")
c.execute("DELETE FROM journey_steps"); c.execute("DELETE FROM journey_enrolments")
ids = [r[0] for r in c.execute("SELECT id FROM contacts ORDER BY id")]
t = time.time()
c.execute("BEGIN IMMEDIATE")
ins = "INSERT INTO journey_enrolments (contact_id, journey_id, version, state, step, seq, due_at, entered_at, updated_at, entry_key) VALUES (?, 1, 1, 'active', 'w', 0, ?, ?, ?, 'once')"
for i in ids: c.execute(ins, (i, 1, 1, 1))
c.execute("COMMIT")
enrol = time.time() - t
eids = [r[0] for r in c.execute("SELECT id FROM journey_enrolments ORDER BY id")]
t = time.time(); done = 0; seq = 0
step_ins = "INSERT INTO journey_steps (enrolment_id, seq, contact_id, journey_id, version, step, outcome, at) VALUES (?, ?, ?, 1, 1, 'w', 'waited', ?)"
upd = "UPDATE journey_enrolments SET step = ?, seq = seq + 1, state = ?, due_at = ?, wait_event = NULL, reason = NULL, sends = sends, updated_at = ?, finished_at = NULL WHERE id = ? AND seq = ?"
while done < ex:
  for k in range(0, len(eids), 500):
    c.execute("BEGIN IMMEDIATE")
    for e in eids[k:k+500]:
      c.execute(step_ins, (e, seq, e, 2)); c.execute(upd, ('c', 'active', 2, 2, e, seq)); done += 1
    c.execute("COMMIT")
    if done >= ex: break
  seq += 1
print(enrol, time.time() - t)
`;
    const out = execFileSync('python3', ['-c', py, copy]).toString().trim().split(/\s+/).map(Number);
    rmSync(copy, { force: true });
    rmSync(`${copy}-wal`, { force: true });
    rmSync(`${copy}-shm`, { force: true });
    log(`baseline (python3 sqlite3, prepared): ${N} inserts in ${out[0].toFixed(2)} s, ${executions} executions in ${out[1].toFixed(2)} s`);
    return { enrolS: out[0], stepS: out[1] };
  };
}

function psqlBaseline(pg, dbName) {
  return (executions) => {
    const t0 = Date.now();
    const psql = (input) => execFileSync('psql', ['-X', '-q', '-h', '127.0.0.1', '-p', String(pg.port), '-U', pg.user || 'postgres', '-d', dbName, '-v', 'ON_ERROR_STOP=1'],
      { input, maxBuffer: 1 << 30 });
    psql('DELETE FROM journey_steps; DELETE FROM journey_enrolments;');
    let sql = "BEGIN;\nPREPARE ins(bigint) AS INSERT INTO journey_enrolments (contact_id, journey_id, version, state, step, seq, due_at, entered_at, updated_at, entry_key) VALUES ($1, 1, 1, 'active', 'w', 0, 1, 1, 1, 'b');\n";
    for (let i = 1; i <= N; i++) sql += `EXECUTE ins(${i});\n`;
    sql += 'COMMIT;\n';
    const e0 = Date.now();
    psql(sql);
    const enrolS = (Date.now() - e0) / 1000;
    const ids = psql('\\t on\nSELECT min(id) FROM journey_enrolments;').toString().trim().split(/\s+/).filter(Boolean).map(Number);
    const first = ids[ids.length - 1];
    let body = "PREPARE st(bigint, bigint) AS INSERT INTO journey_steps (enrolment_id, seq, contact_id, journey_id, version, step, outcome, at) VALUES ($1, $2, $1, 1, 1, 'w', 'waited', 2);\n" +
      "PREPARE up(bigint, bigint) AS UPDATE journey_enrolments SET step = 'c', seq = seq + 1, state = 'active', due_at = 2, updated_at = 2 WHERE id = $1 AND seq = $2;\n";
    let done = 0;
    for (let seq = 0; done < executions; seq++) {
      for (let k = 0; k < N && done < executions; k += 500) {
        body += 'BEGIN;\n';
        for (let e = k; e < Math.min(k + 500, N) && done < executions; e++, done++) body += `EXECUTE st(${first + e}, ${seq}); EXECUTE up(${first + e}, ${seq});\n`;
        body += 'COMMIT;\n';
      }
    }
    const s0 = Date.now();
    psql(body);
    const stepS = (Date.now() - s0) / 1000;
    log(`baseline (psql, PREPARE/EXECUTE): ${N} inserts in ${enrolS.toFixed(2)} s, ${executions} executions in ${stepS.toFixed(2)} s (set up ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return { enrolS, stepS };
  };
}

// ---------------------------------------------------------------- main

const dir = mkdtempSync(path.join(TMP, 'kz-bench-journeys-'));
try {
  const db = path.join(dir, 'kizuna.db');
  if (process.env.KZ_BENCH_JOURNEY_BACKENDS !== 'postgres') await measure('sqlite', db, () => {
    writeFileSync(path.join(dir, 'gen.sql'), datasetSql(false));
    execFileSync('sqlite3', [db, `.read ${path.join(dir, 'gen.sql')}`]);
  }, sqliteBaseline(db));
  if (WITH_PG) {
    const pg = await startPostgres();
    try {
      const name = 'kz_bench_journeys';
      const url = pg.createDatabase(name);
      await measure('postgres', url, () => {
        execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url], { input: datasetSql(true) });
      }, psqlBaseline(pg, name));
    } finally {
      await pg.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
