// segments.mjs — the audience benchmark of issue 5: five reference segments evaluated by Kizuna's in-memory index vs the same segments as plain SQL on SQLite and PostgreSQL, over one generated dataset.
//
// usage: node bench/segments.mjs     (or bench/run.sh segments)
//
// The dataset is generated straight into the databases with one INSERT ... SELECT per table
// (deterministic arithmetic, so SQLite and PostgreSQL hold the very same rows): contacts with
// custom fields and tags, and events skewed towards a few heavy contacts (contact = N·r³ for
// r uniform: the first 1% of contacts get ~20% of the events), over 180 days, 60% page views
// over 7 paths, the rest email_opened, form_submitted, purchase, email_clicked.
//
// Reported (printed and appended to build/bench/results.jsonl as {name,value,unit,baseline,
// baseline_value,ratio}): each segment's full evaluation (POST /api/v1/segments/preview's
// took_ms: the pass over the whole index, median of 5; the request's wall time is printed; and its
// CPU time, took_cpu_ms, against the sqlite3 CLI's user+sys) against the plain SQL count (sqlite3 CLI `.timer`, psql
// `\timing`, median of 3); the time from an acknowledged event to the changed membership
// (median and max of 20); the first evaluation of a field no filter used before (its column
// read out of every record) against the same filter again; the index's size and build time as
// the server logs them.
// Environment: KIZUNA_BIN, KZ_BENCH_RESULTS, KZ_BENCH_SEG_CONTACTS (1000000),
// KZ_BENCH_SEG_EVENTS (20 × contacts), KZ_BENCH_PG (1: also PostgreSQL), KZ_BENCH_TMPDIR.

import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../tests/it/pg.mjs';
import { rssMiB } from './proc.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KIZUNA = process.env.KIZUNA_BIN || path.join(ROOT, 'build', 'kizuna');
const RESULTS = process.env.KZ_BENCH_RESULTS || path.join(ROOT, 'build', 'bench', 'results.jsonl');
const N = Number(process.env.KZ_BENCH_SEG_CONTACTS || 1_000_000);
const E = Number(process.env.KZ_BENCH_SEG_EVENTS || 20 * N);
const WITH_PG = (process.env.KZ_BENCH_PG ?? '1') !== '0';
const DAY = 86_400_000;
const T0 = Date.now();
const TODAY = Math.floor(T0 / DAY);
const since = (days) => (TODAY - days + 1) * DAY; // the index's windows: whole UTC days, today included
const PSQL = execFileSync('bash', ['-c', 'command -v psql']).toString().trim();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (s) => process.stdout.write(`${s}\n`);

function record(name, value, unit, baseline, baselineValue, note = '') {
  const ratio = baselineValue > 0 ? value / baselineValue : 0;
  log(`${name.padEnd(34)} kizuna ${value.toFixed(3).padStart(11)} ${unit.padEnd(4)} ${baseline.padEnd(12)} ` +
      `${baselineValue.toFixed(3).padStart(11)} ${unit.padEnd(4)} ratio ${ratio.toFixed(4)}${note}`);
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  appendFileSync(RESULTS, `${JSON.stringify({ name, value: +value.toFixed(3), unit, baseline,
    baseline_value: +baselineValue.toFixed(3), ratio: +ratio.toFixed(4) })}\n`);
}

// ---------------------------------------------------------------- the dataset

const PATHS = ['/pricing', '/', '/blog/ma-guide', '/docs', '/about', '/features', '/contact'];
const pathCase = (i) => `CASE (${i} / 10) % 7 ${PATHS.map((p, k) => `WHEN ${k} THEN '${p}'`).join(' ')} END`;
const nameCase = (i) => `CASE WHEN ${i} % 10 < 6 THEN 'page_view' WHEN ${i} % 10 = 6 THEN 'email_opened' ` +
  `WHEN ${i} % 10 = 7 THEN 'form_submitted' WHEN ${i} % 10 = 8 THEN 'purchase' ELSE 'email_clicked' END`;
const occurred = (i) => `${T0} - ((${i} * 7919) % ${180 * DAY})`;
const rnd = (i) => `((${i} * 1103515245 + 12345) % 2147483648)`;

function sqliteGen() {
  return `PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
BEGIN;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${N})
INSERT INTO contacts(id, email, last_name, fields, search, name_fold, created_at, updated_at)
SELECT i, 'c' || i || '@bench.example', 'Name' || (i % 10),
  json_object('employees', (i * 37) % 1000, 'plan', CASE i % 3 WHEN 0 THEN 'free' WHEN 1 THEN 'pro' ELSE 'enterprise' END),
  '', '', ${T0} - (i % 365) * ${DAY}, ${T0} FROM s;
INSERT INTO contact_tags(contact_id, tag) SELECT id, 'vip' FROM contacts WHERE id % 5 = 0;
INSERT INTO contact_tags(contact_id, tag) SELECT id, 'newsletter' FROM contacts WHERE id % 7 = 0;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${E}),
r(i, r) AS (SELECT i, ${rnd('i')} / 2147483648.0 FROM s)
INSERT INTO events(id, contact_id, type, name, properties, context, occurred_at, received_at)
SELECT i, 1 + CAST(${N} * r * r * r AS INTEGER), 'track', ${nameCase('i')}, '{}',
  CASE WHEN i % 10 < 6 THEN '{"path":"' || ${pathCase('i')} || '"}' ELSE '{}' END,
  ${occurred('i')}, ${occurred('i')} FROM r;
COMMIT;
ANALYZE;`;
}

function pgGen() {
  return `SET synchronous_commit = off;
INSERT INTO contacts(id, email, last_name, fields, search, name_fold, created_at, updated_at)
SELECT i, 'c' || i || '@bench.example', 'Name' || (i % 10),
  jsonb_build_object('employees', (i * 37) % 1000, 'plan', CASE i % 3 WHEN 0 THEN 'free' WHEN 1 THEN 'pro' ELSE 'enterprise' END),
  '', '', ${T0}::bigint - (i % 365) * ${DAY}::bigint, ${T0}::bigint FROM generate_series(1, ${N}) i;
INSERT INTO contact_tags(contact_id, tag) SELECT id, 'vip' FROM contacts WHERE id % 5 = 0;
INSERT INTO contact_tags(contact_id, tag) SELECT id, 'newsletter' FROM contacts WHERE id % 7 = 0;
INSERT INTO events(id, contact_id, type, name, properties, context, occurred_at, received_at)
SELECT i, 1 + floor(${N} * r * r * r)::bigint, 'track', ${nameCase('i')}, '{}',
  (CASE WHEN i % 10 < 6 THEN '{"path":"' || ${pathCase('i')} || '"}' ELSE '{}' END)::jsonb,
  ${occurred('i')}, ${occurred('i')}
FROM (SELECT i::bigint AS i, ${rnd('i::bigint')} / 2147483648.0::float8 AS r FROM generate_series(1, ${E}) i) x;
SELECT setval(pg_get_serial_sequence('contacts', 'id'), ${N});
SELECT setval(pg_get_serial_sequence('events', 'id'), ${E});
ANALYZE;`;
}

// ---------------------------------------------------------------- the five segments

function segments(s1) {
  const f = (sq, pg) => ({ sqlite: sq, pg });
  const s1sqlite = "json_extract(c.fields, '$.plan') = 'pro' AND json_extract(c.fields, '$.employees') >= 500";
  const s1pg = "c.fields->>'plan' = 'pro' AND (c.fields->>'employees')::int >= 500";
  const tag = (t) => `EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag = '${t}')`;
  const ev = (name, from) => `EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND e.name = '${name}'${from ? ` AND e.occurred_at >= ${from}` : ''})`;
  return [
    { name: 'field', filter: { all: [{ field: 'fields.plan', op: 'eq', value: 'pro' }, { field: 'fields.employees', op: 'gte', value: 500 }] },
      sql: f(`SELECT count(*) FROM contacts c WHERE ${s1sqlite}`, `SELECT count(*) FROM contacts c WHERE ${s1pg}`) },
    { name: 'pricing_3_in_30d',
      filter: { event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/pricing' }], count: { op: 'gte', value: 3 }, within_days: 30 },
      sql: f(`SELECT count(*) FROM (SELECT contact_id FROM events WHERE name = 'page_view' AND json_extract(context, '$.path') = '/pricing' AND occurred_at >= ${since(30)} GROUP BY contact_id HAVING count(*) >= 3)`,
        `SELECT count(*) FROM (SELECT contact_id FROM events WHERE name = 'page_view' AND context->>'path' = '/pricing' AND occurred_at >= ${since(30)} GROUP BY contact_id HAVING count(*) >= 3) x`) },
    { name: 'nested',
      filter: { all: [{ any: [{ field: 'tags', op: 'contains', value: 'vip' }, { field: 'fields.employees', op: 'gte', value: 900 }] },
        { not: { event: 'purchase', within_days: 90 } }, { event: 'form_submitted' }] },
      sql: f(`SELECT count(*) FROM contacts c WHERE (${tag('vip')} OR json_extract(c.fields, '$.employees') >= 900) AND NOT ${ev('purchase', since(90))} AND ${ev('form_submitted')}`,
        `SELECT count(*) FROM contacts c WHERE (${tag('vip')} OR (c.fields->>'employees')::int >= 900) AND NOT ${ev('purchase', since(90))} AND ${ev('form_submitted')}`) },
    { name: 'never_opened_90d', filter: { event: 'email_opened', count: { op: 'eq', value: 0 }, within_days: 90 },
      sql: f(`SELECT count(*) FROM contacts c WHERE NOT ${ev('email_opened', since(90))}`,
        `SELECT count(*) FROM contacts c WHERE NOT ${ev('email_opened', since(90))}`) },
    { name: 'member_of_segment', filter: { all: [{ segment: s1, member: true }, { not: { field: 'tags', op: 'contains', value: 'newsletter' } }] },
      sql: f(`SELECT count(*) FROM contacts c WHERE ${s1sqlite} AND NOT ${tag('newsletter')}`,
        `SELECT count(*) FROM contacts c WHERE ${s1pg} AND NOT ${tag('newsletter')}`) },
  ];
}

// ---------------------------------------------------------------- running things

function sqliteTimed(db, sql, reps = 3) {
  const out = execFileSync('sqlite3', [db], { input: `.timer on\n${`${sql};\n`.repeat(reps)}`, maxBuffer: 1 << 26 }).toString();
  const runs = [...out.matchAll(/Run Time: real ([\d.]+) user ([\d.]+) sys ([\d.]+)/g)];
  const count = Number(out.split('\n')[0]);
  return { ms: median(runs.map((m) => Number(m[1]) * 1000)), cpuMs: median(runs.map((m) => (Number(m[2]) + Number(m[3])) * 1000)), count };
}

function psqlTimed(url, sql, reps = 3) {
  const out = execFileSync(PSQL, [url, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], {
    input: `\\timing on\n${`${sql};\n`.repeat(reps)}`, maxBuffer: 1 << 26 }).toString();
  const times = [...out.matchAll(/Time: ([\d.]+) ms/g)].map((m) => Number(m[1]));
  return { ms: median(times), count: Number(out.split('\n').find((l) => /^\d+$/.test(l))) };
}

async function serve(db, tmp) {
  const child = spawn(KIZUNA, ['serve', '--db', db, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let logText = '';
  const t0 = Date.now();
  const port = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      logText += d;
      const m = logText.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (c) => reject(new Error(`kizuna serve exited ${c}: ${logText}`)));
  });
  const idx = logText.match(/audience: (\d+) contacts, \d+ segments indexed in (\d+) ms \(([\d.]+) MiB\)/);
  void tmp;
  return { child, port, startMs: Date.now() - t0, indexMs: idx ? Number(idx[2]) : 0, indexMiB: idx ? Number(idx[3]) : 0 };
}

async function main() {
  const tmp = mkdtempSync(path.join(process.env.KZ_BENCH_TMPDIR || os.tmpdir(), 'kz-seg.'));
  const db = path.join(tmp, 'seg.db');
  let pg = null;
  let srv = null;
  try {
    log(`segments: ${N} contacts, ${E} events (KZ_BENCH_SEG_CONTACTS / KZ_BENCH_SEG_EVENTS)`);
    const init = JSON.parse(execFileSync(KIZUNA, ['init', '--db', db]).toString());
    let t = Date.now();
    execFileSync('sqlite3', [db], { input: sqliteGen(), maxBuffer: 1 << 26 });
    log(`generated into SQLite in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    let pgUrl = null;
    if (WITH_PG) {
      pg = await startPostgres();
      await pg.createDatabase('kzseg');
      pgUrl = pg.url('kzseg');
      execFileSync(KIZUNA, ['init', '--db', pgUrl]);
      t = Date.now();
      execFileSync(PSQL, [pgUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1'], { input: pgGen(), maxBuffer: 1 << 26 });
      log(`generated into PostgreSQL in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    srv = await serve(db, tmp);
    log(`kizuna serve up in ${srv.startMs} ms: index built in ${srv.indexMs} ms, ${srv.indexMiB} MiB`);
    const api = async (method, p, body) => {
      const r = await fetch(`http://127.0.0.1:${srv.port}${p}`, { method,
        headers: { authorization: `Bearer ${init.api_key}`, 'content-type': 'application/json' },
        body: body && JSON.stringify(body) });
      const j = await r.json().catch(() => ({}));
      if (r.status >= 300) throw new Error(`${method} ${p} → ${r.status} ${JSON.stringify(j)}`);
      return j;
    };
    const defs = [{ key: 'employees', label: 'Employees', type: 'number' }, { key: 'plan', label: 'Plan', type: 'select', options: ['free', 'pro', 'enterprise'] }];
    for (const d of defs) await api('POST', '/api/v1/fields', d).catch(() => api('POST', '/api/v1/fields', { key: d.key, label: d.label, type: 'text' }));
    const segs = segments(0);
    const s1 = await api('POST', '/api/v1/segments', { name: 'S1 field', filter: segs[0].filter });
    const s2 = await api('POST', '/api/v1/segments', { name: 'S2 pricing', filter: segs[1].filter });
    for (const s of segments(s1.id)) {
      const times = [];
      const cpus = [];
      const walls = [];
      let count = -1;
      for (let k = 0; k < 5; k++) {
        const t1 = performance.now();
        const r = await api('POST', '/api/v1/segments/preview', { filter: s.filter });
        walls.push(performance.now() - t1);
        count = r.count;
        times.push(r.took_ms);
        cpus.push(r.took_cpu_ms);
      }
      const kz = median(times);
      log(`  ${s.name}: evaluation ${kz.toFixed(3)} ms (CPU ${median(cpus).toFixed(3)} ms), request with the first 10 members ${median(walls).toFixed(3)} ms`);
      const lite = sqliteTimed(db, s.sql.sqlite);
      const note = lite.count === count ? '' : `  COUNT MISMATCH kizuna ${count} sqlite ${lite.count}`;
      record(`segment_${s.name}`, kz, 'ms', 'sqlite_sql', lite.ms, `  (${count} members)${note}`);
      // CPU time against CPU time: what a machine shared with other work does not distort
      record(`segment_${s.name}_cpu`, median(cpus), 'ms', 'sqlite_sql_cpu', lite.cpuMs);
      if (pgUrl) {
        const p = psqlTimed(pgUrl, s.sql.pg);
        record(`segment_${s.name}`, kz, 'ms', 'postgres_sql', p.ms, p.count === count ? '' : `  COUNT MISMATCH postgres ${p.count}`);
      }
    }
    // the first filter on a field no filter used before reads it out of every record's text
    {
      const filter = { field: 'last_name', op: 'ends_with', value: '7' };
      const first = (await api('POST', '/api/v1/segments/preview', { filter })).took_ms;
      const again = [];
      for (let k = 0; k < 5; k++) again.push((await api('POST', '/api/v1/segments/preview', { filter })).took_ms);
      record('segment_first_use_of_a_field', first, 'ms', 'same_filter_again', median(again), '  (last_name ends_with 7)');
    }
    // one event's effect on membership: the third /pricing view of a new contact
    const lat = [];
    for (let k = 0; k < 20; k++) {
      const c = await api('POST', '/api/v1/contacts', { email: `lat${k}@bench.example` });
      const view = () => api('POST', '/api/v1/events', { batch: [{ type: 'page', contactId: c.id, properties: { path: '/pricing', url: 'https://example.com/pricing' } }] });
      await view();
      await view();
      const before = (await api('GET', `/api/v1/segments/${s2.id}/count`)).count;
      await view();
      const t1 = performance.now();
      while ((await api('GET', `/api/v1/segments/${s2.id}/count`)).count === before) { /* poll */ }
      lat.push(performance.now() - t1);
    }
    record('segment_event_to_membership_p50', median(lat), 'ms', 'target_50ms', 50);
    record('segment_event_to_membership_max', Math.max(...lat), 'ms', 'target_50ms', 50);
    record('audience_index_memory', srv.indexMiB, 'MiB', 'target_1GiB', 1024, `  (built in ${srv.indexMs} ms)`);
    // the whole server's resident memory after the run (index, caches, pools), informational
    record('audience_server_rss', rssMiB(srv.child.pid, 'VmRSS'), 'MiB', 'none', 0);
  } finally {
    if (srv) srv.child.kill('SIGTERM');
    if (pg) await pg.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(`bench/segments: ${e.stack || e}`); process.exit(1); });
