// run.mjs — runs every black-box test file on each storage backend (SQLite, then a throwaway PostgreSQL).
//
// Usage: node tests/it/run.mjs [FILTER...] [--NODE-TEST-FLAG...]
//   FILTER        keep only test files whose name contains it (e.g. `contacts`)
//   --flag        passed to `node --test` (e.g. --test-name-pattern=merge)
// Env: KZ_BACKENDS (default "sqlite,postgres"), KIZUNA_BIN (default build/kizuna),
//      KZ_TEST_CONCURRENCY (default 2), KZ_TEST_TIMEOUT (ms per test, default 120000).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSuite } from './suite.mjs';

await runSuite(path.dirname(fileURLToPath(import.meta.url)), {
  name: 'run.mjs',
  what: 'black-box',
  tmpPrefix: 'kz-run-',
});
