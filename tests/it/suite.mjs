// suite.mjs — runs a folder's *.test.mjs files with `node --test` once per storage backend
// (SQLite, then a throwaway PostgreSQL) and prints one summary. Shared by tests/it/run.mjs
// and tests/e2e/run.mjs, which only add their own checks and titles.
//
// Arguments (process.argv): [FILTER...] keep test files whose name contains one;
// [--flag...] passed to `node --test`. Env: KZ_BACKENDS (default "sqlite,postgres"),
// KIZUNA_BIN (default build/kizuna), KZ_TEST_CONCURRENCY (default 2), KZ_TEST_TIMEOUT
// (ms per test, default 120000).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from './pg.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Counts from the TAP summary a run wrote (`# pass N`, `# fail N`, ...). */
function tapSummary(file) {
  const out = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0, failures: [] };
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = line.match(/^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/);
    if (m) out[m[1]] = Number(m[2]);
    // The failed tests' names, so the summary (the part of a CI log that is kept) says which.
    const f = line.match(/^\s*not ok \d+ - (.*)$/);
    if (f && !/ # (TODO|SKIP)\b/.test(f[1])) out.failures.push(f[1]);
  }
  return out;
}

/**
 * Run the suite in `dir` and exit the process with its result.
 * opts: name ('run.mjs' in messages), what ('black-box', 'browser'), tmpPrefix,
 * check() (more preconditions; return an error message or null), banner() (extra text for
 * the per-backend heading), onFailure() (printed before the last line when anything failed).
 */
export async function runSuite(dir, opts) {
  const BIN = process.env.KIZUNA_BIN || path.join(REPO, 'build', 'kizuna');
  const die = (message) => {
    console.error(`${opts.name}: ${message}`);
    process.exit(2);
  };
  const argv = process.argv.slice(2);
  const nodeFlags = argv.filter((a) => a.startsWith('--'));
  const filters = argv.filter((a) => !a.startsWith('--'));
  const backends = (process.env.KZ_BACKENDS || 'sqlite,postgres').split(',').map((s) => s.trim()).filter(Boolean);
  for (const b of backends) {
    if (!['sqlite', 'postgres'].includes(b)) die(`unknown backend "${b}" in KZ_BACKENDS (use sqlite, postgres)`);
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.test.mjs'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort()
    .map((f) => path.join(dir, f));
  if (files.length === 0) die(`no test file in ${dir} matches ${filters.join(', ')}`);
  if (!existsSync(BIN)) die(`kizuna binary not found at ${BIN}: build it with \`make\` or set KIZUNA_BIN`);
  const problem = opts.check ? opts.check() : null;
  if (problem) die(problem);

  let child = null;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    // Registered before pg.mjs's own handlers, so the tests stop before PostgreSQL does.
    process.on(sig, () => {
      if (child && child.exitCode === null) child.kill(sig);
    });
  }
  const runNodeTest = (env, tapFile) => {
    const args = [
      '--test',
      `--test-concurrency=${process.env.KZ_TEST_CONCURRENCY || 2}`,
      `--test-timeout=${process.env.KZ_TEST_TIMEOUT || 120000}`,
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
      ...nodeFlags,
      ...files,
    ];
    return new Promise((resolve) => {
      child = spawn(process.execPath, args, { cwd: REPO, env, stdio: 'inherit' });
      child.on('close', (code, signal) => resolve(code ?? 128 + (os.constants.signals[signal] || 1)));
    });
  };

  const tmp = mkdtempSync(path.join(os.tmpdir(), opts.tmpPrefix));
  const results = [];
  let failed = false;
  try {
    for (const backend of backends) {
      console.log(`\n===== ${opts.what} tests on ${backend} (${files.length} files, binary ${BIN}` +
                  `${opts.banner ? opts.banner() : ''}) =====`);
      const env = { ...process.env, KZ_TEST_BACKEND: backend, KIZUNA_BIN: BIN };
      delete env.KZ_TEST_PG_PORT;
      let pg = null;
      if (backend === 'postgres') {
        try {
          pg = await startPostgres();
        } catch (e) {
          console.error(`${opts.name}: could not start PostgreSQL: ${e.message}`);
          results.push({ backend, code: 1, sum: tapSummary('') });
          failed = true;
          continue;
        }
        console.log(`PostgreSQL 15 on 127.0.0.1:${pg.port}`);
        env.KZ_TEST_PG_PORT = String(pg.port);
      }
      const tapFile = path.join(tmp, `${backend}.tap`);
      let code;
      try {
        code = await runNodeTest(env, tapFile);
      } finally {
        if (pg) await pg.stop();
      }
      const sum = tapSummary(tapFile);
      results.push({ backend, code, sum });
      if (code !== 0) failed = true;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  console.log(`\n===== ${opts.what} ${opts.what === 'browser' ? 'test ' : ''}summary =====`);
  let pass = 0;
  let fail = 0;
  let skipped = 0;
  for (const { backend, code, sum } of results) {
    console.log(`${backend}: ${sum.pass} passed, ${sum.fail} failed, ${sum.cancelled} cancelled, ` +
                `${sum.skipped} skipped (exit ${code})`);
    for (const name of sum.failures) console.log(`  failed on ${backend}: ${name}`);
    pass += sum.pass;
    fail += sum.fail + sum.cancelled;
    skipped += sum.skipped;
  }
  if ((fail > 0 || failed) && opts.onFailure) opts.onFailure();
  console.log(`${pass} passed, ${fail} failed, ${skipped} skipped`);
  process.exit(failed || fail > 0 ? 1 : 0);
}
