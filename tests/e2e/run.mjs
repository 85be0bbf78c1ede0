// run.mjs — runs every browser test file on each storage backend (SQLite, then a throwaway PostgreSQL).
//
// Usage: node tests/e2e/run.mjs [FILTER...] [--NODE-TEST-FLAG...]
//   FILTER        keep only test files whose name contains it (e.g. `contacts`)
//   --flag        passed to `node --test` (e.g. --test-name-pattern=viewer)
// Env: KZ_BACKENDS (default "sqlite,postgres"), KIZUNA_BIN (default build/kizuna),
//      KIZUNA_WEB_DIR (serve the UI from this folder instead of the binary's copy),
//      KZ_CHROMIUM (default /usr/bin/chromium), KZ_TEST_CONCURRENCY (files at once, default 2),
//      KZ_TEST_TIMEOUT (ms per test, default 120000).
// Failed tests leave a screenshot in build/e2e-failures/.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO, runSuite } from '../it/suite.mjs';

const CHROMIUM = process.env.KZ_CHROMIUM || '/usr/bin/chromium';

await runSuite(path.dirname(fileURLToPath(import.meta.url)), {
  name: 'e2e run.mjs',
  what: 'browser',
  tmpPrefix: 'kz-e2e-',
  check() {
    if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}: run \`make deps\` (Debian package chromium) or set KZ_CHROMIUM`;
    try {
      createRequire(path.join(REPO, 'package.json')).resolve('playwright-core');
    } catch {
      return 'playwright-core is not installed: run `npm ci` in the repository';
    }
    return null;
  },
  banner: () => (process.env.KIZUNA_WEB_DIR ? `, UI from ${process.env.KIZUNA_WEB_DIR}` : ''),
  onFailure: () => console.log(`screenshots of failed tests: ${path.join('build', 'e2e-failures')}/`),
});
