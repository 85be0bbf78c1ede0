// cli.test.mjs — black-box tests of the kizuna command line: init, migrate, import, export, demo, version, help.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  assertKeys, describe, expectStatus, listAll, newDatabase, parseCsv, pick, REPO, runCli, startServer,
  tempFile, test, toCp932,
} from './harness.mjs';

const INIT_KEYS = ['admin_created', 'admin_email', 'admin_password', 'api_key'];
const COMMANDS = ['init', 'serve', 'migrate', 'import', 'export', 'demo', 'version'];

function projectVersion() {
  const cmake = readFileSync(path.join(REPO, 'CMakeLists.txt'), 'utf8');
  const m = cmake.match(/project\(\s*kizuna\s+VERSION\s+([0-9][0-9.]*)/i);
  assert.ok(m, 'CMakeLists.txt names the project version');
  return m[1];
}

describe('help and version', () => {
  test('cli_version_prints_the_project_version', async () => {
    const r = await runCli(['version']);
    assert.equal(r.code, 0, r.info);
    assert.ok(r.stdout.includes(projectVersion()), r.info);
  });

  test('cli_help_lists_every_command', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0, r.info);
    for (const cmd of COMMANDS) assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`), `--help should mention ${cmd}\n${r.info}`);
  });

  const FLAGS = {
    init: ['--db'], serve: ['--db', '--listen'], migrate: ['--db'], import: ['--db'],
    export: ['--db', '--format'], demo: ['--db'],
  };
  for (const [cmd, flags] of Object.entries(FLAGS)) {
    test(`cli_${cmd}_help_explains_its_flags`, async () => {
      const r = await runCli([cmd, '--help']);
      assert.equal(r.code, 0, r.info);
      for (const f of flags) assert.ok(r.stdout.includes(f), `${cmd} --help should explain ${f}\n${r.info}`);
    });
  }

  test('cli_unknown_command_fails_and_says_so', async () => {
    const r = await runCli(['frobnicate']);
    assert.notEqual(r.code, 0, r.info);
    assert.match(r.stderr, /frobnicate/, r.info);
  });

  test('cli_unreachable_database_fails_with_a_message', async () => {
    const r = await runCli(['migrate', '--db', 'postgres://postgres@127.0.0.1:1/nowhere']);
    assert.notEqual(r.code, 0, r.info);
    assert.ok(r.stderr.trim().length > 0, r.info);
  });
});

describe('init and migrate', () => {
  test('cli_init_twice_keeps_one_admin_and_issues_a_new_key', async () => {
    const { dbUrl } = await newDatabase();
    const first = await runCli(['init', '--db', dbUrl]);
    assert.equal(first.code, 0, first.info);
    const a = first.json;
    assert.ok(a, `init prints one JSON object: ${first.info}`);
    assertKeys(a, INIT_KEYS, { what: 'init output' });
    assert.equal(a.admin_created, true);
    assert.match(a.admin_email, /^[^@\s]+@[^@\s]+$/);
    assert.equal(typeof a.admin_password, 'string');
    assert.ok(a.admin_password.length >= 12, 'a strong random password');
    assert.match(a.api_key, /^kz_/);

    const second = await runCli(['init', '--db', dbUrl]);
    assert.equal(second.code, 0, second.info);
    const b = second.json;
    assertKeys(b, INIT_KEYS, { what: 'second init output' });
    assert.equal(b.admin_created, false);
    assert.equal(b.admin_password, null);
    assert.equal(b.admin_email, a.admin_email);
    assert.match(b.api_key, /^kz_/);
    assert.notEqual(b.api_key, a.api_key);

    const srv = await startServer({ dbUrl, init: false, apiKey: b.api_key });
    const users = await listAll(srv, '/api/v1/users');
    assert.deepEqual(users.filter((u) => u.role === 'admin').map((u) => u.email), [a.admin_email]);
    expectStatus(await srv.api('GET', '/api/v1/contacts', undefined, { key: a.api_key }), 200);
  });

  test('cli_migrate_is_idempotent_and_init_works_after_it', async () => {
    const { dbUrl } = await newDatabase();
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['migrate', '--db', dbUrl]);
      assert.equal(r.code, 0, r.info);
    }
    const init = await runCli(['init', '--db', dbUrl]);
    assert.equal(init.code, 0, init.info);
    assert.equal(init.json.admin_created, true);
  });
});

describe('import, export, demo', () => {
  test('cli_import_prints_counts_and_the_server_sees_the_rows', async () => {
    const { dbUrl } = await newDatabase();
    assert.equal((await runCli(['init', '--db', dbUrl])).code, 0);
    const good = tempFile('good.csv', toCp932('姓,名,メールアドレス\r\n山田,太郎,cli1@example.com\r\n髙橋,花子,cli2@example.com\r\n'));
    const r = await runCli(['import', '--db', dbUrl, good]);
    assert.equal(r.code, 0, r.info);
    assert.deepEqual(pick(r.json || {}, ['created', 'updated', 'failed']), { created: 2, updated: 0, failed: [] }, r.info);

    const mixed = tempFile('mixed.csv', 'メール,名\ncli1@example.com,Taro\nbroken,X\ncli3@example.com,Three\n');
    const m = await runCli(['import', '--db', dbUrl, mixed]);
    assert.ok(m.json, m.info);
    assert.equal(m.json.created, 1, m.info);
    assert.equal(m.json.updated, 1, m.info);
    assert.deepEqual(m.json.failed.map((f) => [f.row, f.field]), [[3, 'email']], m.info);

    const srv = await startServer({ dbUrl });
    const all = await listAll(srv, '/api/v1/contacts');
    assert.deepEqual(all.map((c) => c.email).sort(), ['cli1@example.com', 'cli2@example.com', 'cli3@example.com']);
    const c2 = all.find((c) => c.email === 'cli2@example.com');
    assert.deepEqual([c2.last_name, c2.first_name], ['髙橋', '花子']);
    assert.equal(all.find((c) => c.email === 'cli1@example.com').first_name, 'Taro');
  });

  test('cli_export_matches_the_api_export', async () => {
    const srv = await startServer();
    for (const b of [
      { email: 'cx1@example.com', first_name: '太郎', last_name: '山田', tags: ['a'] },
      { email: 'cx2@example.com', first_name: 'John', company: { name: 'Acme, Inc.' } },
    ]) {
      expectStatus(await srv.api('POST', '/api/v1/contacts', b), 201);
    }
    const jsonl = await srv.runCli(['export', '--db', srv.dbUrl, '--format', 'jsonl']);
    assert.equal(jsonl.code, 0, jsonl.info);
    const api = (await srv.api('GET', '/api/v1/contacts/export?format=jsonl')).text;
    const parse = (t) => t.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)).sort((a, b) => a.id - b.id);
    assert.deepEqual(parse(jsonl.stdout), parse(api));
    assert.equal(parse(api).length, 2);

    const csv = await srv.runCli(['export', '--db', srv.dbUrl, '--format', 'csv']);
    assert.equal(csv.code, 0, csv.info);
    const apiCsv = (await srv.api('GET', '/api/v1/contacts/export?format=csv')).text;
    const rows = (t) => {
      const [header, ...rest] = parseCsv(t);
      return { header, rest: rest.map((r) => r.join('\u0001')).sort() };
    };
    assert.deepEqual(rows(csv.stdout), rows(apiCsv));
    assert.equal(rows(apiCsv).rest.length, 2);
  });

  test('cli_demo_loads_realistic_contacts_companies_and_tags', async () => {
    const { dbUrl } = await newDatabase();
    assert.equal((await runCli(['init', '--db', dbUrl])).code, 0);
    const r = await runCli(['demo', '--db', dbUrl]);
    assert.equal(r.code, 0, r.info);
    const srv = await startServer({ dbUrl });
    const contacts = await listAll(srv, '/api/v1/contacts');
    assert.ok(contacts.length >= 100 && contacts.length <= 2000, `a few hundred contacts, got ${contacts.length}`);
    const japanese = /[\u3040-\u30ff\u4e00-\u9fff]/;
    assert.ok(contacts.some((c) => japanese.test(`${c.last_name}${c.first_name}`)), 'some Japanese names');
    assert.ok(contacts.some((c) => /^[A-Za-z][A-Za-z' -]*$/.test(c.last_name || '')), 'some English names');
    assert.ok(contacts.some((c) => c.company_id !== null), 'some contacts work at a company');
    assert.ok(contacts.some((c) => c.tags.length > 0), 'some contacts are tagged');
    assert.ok((await listAll(srv, '/api/v1/companies')).length >= 3, 'several companies');
    assert.equal(new Set(contacts.map((c) => c.email)).size, contacts.length);
  });

  test('demo_script_loads_visits_scores_segments_emails_and_forms_through_the_api', async () => {
    const { dbUrl } = await newDatabase();
    assert.equal((await runCli(['init', '--db', dbUrl])).code, 0);
    assert.equal((await runCli(['demo', '--db', dbUrl])).code, 0);
    const srv = await startServer({ dbUrl });
    const r = await new Promise((resolve) => {
      execFile(process.execPath, [path.join(REPO, 'scripts', 'demo.mjs'), srv.url, srv.apiKey],
        { timeout: 60000 }, (err, stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'every part of the demo loads');
    const views = (await srv.api('GET', '/api/v1/events/count?event=page_view')).json;
    assert.ok(views.count > 500, `page views over 30 days, got ${views.count}`);
    const segs = (await srv.api('GET', '/api/v1/segments')).json.data;
    assert.ok(segs.length >= 5, 'segments and a list');
    assert.ok(segs.every((s) => s.count > 0), `every demo segment has members: ${segs.map((s) => `${s.name}=${s.count}`)}`);
    const top = (await listAll(srv, '/api/v1/contacts')).filter((c) => c.score > 0);
    assert.ok(top.length > 50, 'scoring rules gave points');
    assert.ok(top.some((c) => c.stage === 'mql' || c.stage === 'customer'), 'stage rules moved people on');
    assert.equal((await srv.api('GET', '/api/v1/emails')).json.data.length, 3);
    assert.equal((await srv.api('GET', '/api/v1/forms')).json.data.length, 2);
  });
});
