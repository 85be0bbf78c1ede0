// pg.selftest.mjs — checks that pg.mjs can start PostgreSQL, create a database and stop cleanly.
// Run: node tests/it/pg.selftest.mjs  (not part of the *.test.mjs suite)

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pgBinDir, startPostgres } from './pg.mjs';

const t0 = Date.now();
const pg = await startPostgres();
console.log(`postgres up on 127.0.0.1:${pg.port} in ${Date.now() - t0} ms`);
try {
  const url = pg.createDatabase('kz_selftest');
  assert.equal(url, `postgres://postgres@127.0.0.1:${pg.port}/kz_selftest`);
  const out = execFileSync(path.join(pgBinDir(), 'psql'),
    ['-X', '-At', url, '-c', "SELECT current_database(), current_setting('server_version_num')::int / 10000, " +
                             "pg_encoding_to_char(encoding), lower('ÄÖ') FROM pg_database WHERE datname = current_database()"],
    { encoding: 'utf8' }).trim();
  console.log(`psql: ${out}`);
  const [db, major, enc] = out.split('|');
  assert.equal(db, 'kz_selftest');
  assert.equal(major, '15');
  assert.equal(enc, 'UTF8');
  pg.dropDatabase('kz_selftest');
} finally {
  await pg.stop();
}
const left = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
  .split('\n').filter((l) => /postgres/.test(l) && l.includes(`-p ${pg.port} `));
assert.deepEqual(left, [], `postgres processes left behind:\n${left.join('\n')}`);
assert.equal(existsSync(pg.dataDir), false, 'temp dir removed');
console.log(`stopped; total ${Date.now() - t0} ms`);
console.log('1 passed, 0 failed');
