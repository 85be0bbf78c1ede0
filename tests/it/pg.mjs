// pg.mjs — starts a throwaway PostgreSQL 15 server for the black-box tests (temp dir, random port).
//
// When we run as root, initdb and postgres run as the `postgres` system user:
// PostgreSQL refuses to run as root. The server is stopped on stop(), on process
// exit and on SIGINT/SIGTERM/SIGHUP, so a test run never leaves one behind.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const AS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const PG_USER = 'postgres';
const READY_TIMEOUT_MS = 30_000;

/** Directory holding initdb/postgres/pg_isready/psql for PostgreSQL 15. */
export function pgBinDir() {
  if (process.env.KZ_PG_BINDIR) return process.env.KZ_PG_BINDIR;
  const fixed = '/usr/lib/postgresql/15/bin';
  if (existsSync(path.join(fixed, 'postgres'))) return fixed;
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (dir && existsSync(path.join(dir, 'postgres'))) return dir;
  } catch {
    /* fall through to the error below */
  }
  throw new Error('PostgreSQL 15 server binaries not found in /usr/lib/postgresql/15/bin ' +
                  'nor via `pg_config --bindir`; install postgresql-15 (scripts/deps.sh)');
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function pgIds() {
  const uid = Number(execFileSync('id', ['-u', PG_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', PG_USER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** argv that runs `bin args` as the postgres user when we are root. */
function asPgUser(bin, args) {
  return AS_ROOT ? ['runuser', ['-u', PG_USER, '--', bin, ...args]] : [bin, args];
}

function runInitdb(bin, dataDir) {
  const base = ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8'];
  // C.UTF-8 gives Unicode-aware lower()/upper(); fall back when the locale is missing.
  const tries = [[...base, '--locale=C.UTF-8'], [...base, '--no-locale']];
  let last;
  for (const args of tries) {
    const [cmd, argv] = asPgUser(path.join(bin, 'initdb'), args);
    last = spawnSync(cmd, argv, { encoding: 'utf8', cwd: os.tmpdir() });
    if (last.status === 0) return;
    rmSync(dataDir, { recursive: true, force: true });
    execFileSync('mkdir', ['-p', dataDir]);
    if (AS_ROOT) chownR(dataDir);
  }
  throw new Error(`initdb failed (exit ${last.status}):\n${last.stdout}\n${last.stderr}`);
}

function chownR(dir) {
  const { uid, gid } = pgIds();
  chownSync(dir, uid, gid);
}

function isReady(bin, port) {
  const r = spawnSync(path.join(bin, 'pg_isready'),
                      ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres'],
                      { timeout: 5000 });
  return r.status === 0;
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start PostgreSQL. Resolves to
 * {port, host, url(db), createDatabase(name), dropDatabase(name), stop(), stopSync()}.
 */
export async function startPostgres() {
  const bin = pgBinDir();
  const root = mkdtempSync(path.join(os.tmpdir(), 'kz-pg-'));
  const dataDir = path.join(root, 'data');
  const sockDir = path.join(root, 'sock');
  execFileSync('mkdir', ['-p', dataDir, sockDir]);
  if (AS_ROOT) {
    chownR(root);
    chownR(dataDir);
    chownR(sockDir);
  }
  try {
    runInitdb(bin, dataDir);
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }

  let child = null;
  let log = '';
  let exited = null; // {code, signal} once the server process has exited
  let port = 0;
  let api = null; // set once the server is up

  const killSync = () => {
    if (child && exited === null) {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
  const onExit = () => killSync();
  // On a signal, shut down properly (bounded by stop()'s own 10 s SIGKILL), then exit.
  const onSignal = (sig) => {
    const code = 128 + (os.constants.signals[sig] || 1);
    if (!api) {
      killSync();
      process.exit(code);
    }
    api.stop().finally(() => process.exit(code));
  };
  process.on('exit', onExit);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, onSignal);
  const unhook = () => {
    process.off('exit', onExit);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, onSignal);
  };

  // A port found free can be taken before postgres binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    log = '';
    exited = null;
    const [cmd, argv] = asPgUser(path.join(bin, 'postgres'), [
      '-D', dataDir, '-p', String(port), '-k', sockDir,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off',
      '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'max_connections=300',
    ]);
    // Own process group: kill(-pid) reaches runuser, the postmaster and its backends.
    child = spawn(cmd, argv, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], cwd: os.tmpdir() });
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
    const exitP = new Promise((resolve) => child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    }));
    child.exitPromise = exitP;

    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (exited === null && Date.now() < deadline && !isReady(bin, port)) await delay(100);
    if (exited === null && isReady(bin, port)) break;
    if (exited === null) {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      await exitP;
    }
    if (attempt >= 3 || !/could not (bind|create listen)/i.test(log)) {
      unhook();
      rmSync(root, { recursive: true, force: true });
      throw new Error(`PostgreSQL did not become ready on port ${port}:\n${log}`);
    }
  }

  const client = pgClient(port);

  let stopped = false;
  api = {
    ...client,
    dataDir: root,
    /** Fast shutdown (SIGINT to the postmaster), SIGKILL after 10 s; removes the temp dir. */
    async stop() {
      if (stopped) return;
      stopped = true;
      if (exited === null) {
        let pmPid = 0;
        try { pmPid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]); }
        catch { /* no pid file: signal the group */ }
        try { process.kill(pmPid > 0 ? pmPid : -child.pid, 'SIGINT'); } catch { /* gone */ }
        const timer = setTimeout(() => {
          try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
        }, 10_000);
        await child.exitPromise;
        clearTimeout(timer);
        // Backends left over from a SIGKILL would keep files open.
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* group empty */ }
      }
      unhook();
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    },
    stopSync() {
      stopped = true;
      killSync();
      unhook();
    },
  };
  return api;
}

/**
 * Talk to an already running server on 127.0.0.1:port (user postgres, trust):
 * {host, port, url(db), psql(sql, db), createDatabase(name) → URL, dropDatabase(name)}.
 */
export function pgClient(port) {
  const bin = pgBinDir();
  const psql = (sql, db = 'postgres') => {
    const r = spawnSync(path.join(bin, 'psql'),
                        ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port),
                         '-U', 'postgres', '-d', db, '-c', sql],
                        { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`psql ${JSON.stringify(sql)} failed: ${r.stderr || r.error}`);
    return r.stdout;
  };
  const checkName = (name) => {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
  };
  const url = (db) => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    host: '127.0.0.1',
    port,
    url,
    psql,
    createDatabase(name) {
      checkName(name);
      psql(`CREATE DATABASE "${name}"`);
      return url(name);
    },
    dropDatabase(name) {
      checkName(name);
      psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
