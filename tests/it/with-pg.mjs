// with-pg.mjs — run a command with a throwaway PostgreSQL 15: sets KZ_TEST_PG_URL
// (postgres://postgres@127.0.0.1:PORT/postgres) for it, stops the server afterwards.
// Used by scripts/test.sh so the C unit tests also run their PostgreSQL variants.
import { spawn } from 'node:child_process';
import { startPostgres } from './pg.mjs';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error('usage: node tests/it/with-pg.mjs COMMAND [ARGS...]');
  process.exit(2);
}
const pg = await startPostgres();
const env = { ...process.env, KZ_TEST_PG_URL: `postgres://postgres@127.0.0.1:${pg.port}/postgres` };
const code = await new Promise((resolve) => {
  const child = spawn(cmd, args, { stdio: 'inherit', env });
  child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
});
await pg.stop();
process.exit(code);
