// server.test.mjs — black-box tests of the running binary: health, metrics, logs, OpenAPI, shutdown, restart and crash persistence.

import assert from 'node:assert/strict';
import net from 'node:net';
import {
  assertError, before, describe, expectStatus, listAll, runCli, startServer, test, uniqueEmail,
} from './harness.mjs';

let srv;
before(async () => {
  srv = await startServer();
});

/** Parse Prometheus text into [{name, labels, value}]. */
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels = {};
    for (const l of (m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

describe('operational endpoints', () => {
  test('healthz_is_200_ok_without_a_key', async () => {
    const res = await srv.api('GET', '/healthz', undefined, { key: null });
    assert.equal(res.status, 200, res.info);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(res.json, { status: 'ok' });
  });

  test('openapi_json_is_served_without_a_key', async () => {
    const res = await srv.api('GET', '/api/v1/openapi.json', undefined, { key: null });
    assert.equal(res.status, 200, res.info.slice(0, 300));
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.match(res.json.openapi, /^3\.1\./);
    // Paths are either absolute or relative to a server URL ending in /api/v1.
    const base = (res.json.servers || []).some((x) => /\/api\/v1\/?$/.test(x.url)) ? '' : '/api/v1';
    assert.ok(res.json.paths && res.json.paths[`${base}/contacts`],
              `documents ${base}/contacts; paths: ${Object.keys(res.json.paths || {}).join(', ')}`);
  });

  test('metrics_count_requests_by_route_method_and_status', async () => {
    const s = await startServer();
    const c = expectStatus(await s.api('POST', '/api/v1/contacts', { email: uniqueEmail('m') }), 201);
    for (let i = 0; i < 3; i++) expectStatus(await s.api('GET', `/api/v1/contacts/${c.id}`), 200);
    for (let i = 0; i < 2; i++) assertError(await s.api('GET', '/api/v1/contacts/987654321'), 404, 'not_found');
    const res = await s.api('GET', '/metrics', undefined, { key: null });
    assert.equal(res.status, 200, res.info);
    assert.match(res.headers.get('content-type'), /^text\/plain/);
    const samples = parseMetrics(res.text);
    const count = (route, method, status) => samples.filter((x) => x.name === 'kizuna_http_requests_total' &&
      x.labels.route === route && x.labels.method === method && x.labels.status === status)
      .map((x) => x.value);
    assert.deepEqual(count('/api/v1/contacts/{id}', 'GET', '200'), [3], res.text);
    assert.deepEqual(count('/api/v1/contacts/{id}', 'GET', '404'), [2], res.text);
    assert.deepEqual(count('/api/v1/contacts', 'POST', '201'), [1], res.text);
    const uptime = samples.filter((x) => x.name === 'kizuna_uptime_seconds');
    assert.equal(uptime.length, 1, res.text);
    assert.ok(Number.isFinite(uptime[0].value) && uptime[0].value >= 0);
  });

  test('each_request_is_logged_with_method_route_and_status', async () => {
    const from = srv.logLines.length;
    const c = expectStatus(await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('log') }), 201);
    await srv.waitForLog(/POST.*\/api\/v1\/contacts\b.*\b201\b/, 5000, from);
    expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}`), 200);
    await srv.waitForLog(/GET.*\/api\/v1\/contacts\/(\{id\}|\d+).*\b200\b/, 5000, from);
  });

  test('serve_reads_database_and_listen_address_from_env', async () => {
    const s = await startServer({ viaEnv: true });
    const c = expectStatus(await s.api('POST', '/api/v1/contacts', { email: uniqueEmail('env') }), 201);
    const out = await runCli(['export', '--db', s.dbUrl, '--format', 'jsonl']);
    assert.equal(out.code, 0, out.info);
    assert.ok(out.stdout.includes(`"${c.email}"`), out.info);
  });
});

describe('shutdown and persistence', () => {
  test('sigterm_exits_with_code_0', async () => {
    const s = await startServer();
    expectStatus(await s.api('GET', '/api/v1/contacts'), 200);
    assert.deepEqual(await s.stop(), { code: 0, signal: null });
  });

  test('sigterm_finishes_an_in_flight_request', async () => {
    const s = await startServer();
    const email = uniqueEmail('inflight');
    const body = Buffer.from(JSON.stringify({ email }));
    const sock = net.connect(s.port, '127.0.0.1');
    let data = '';
    let onData = () => {};
    sock.on('data', (d) => { data += d; onData(); });
    sock.on('error', () => {});
    const closed = new Promise((r) => sock.on('close', r));
    await new Promise((r) => sock.once('connect', r));
    // "100 Continue" proves the server has parsed the head and is inside this
    // request, waiting for the body: the request is in flight when SIGTERM lands.
    sock.write(`POST /api/v1/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${s.apiKey}\r\n` +
               `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
               'Expect: 100-continue\r\nConnection: close\r\n\r\n');
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "100 Continue" within 5 s; got: ${data}`)), 5000);
      onData = () => { if (/^HTTP\/1\.1 100 /.test(data)) { clearTimeout(timer); resolve(); } };
      onData();
    });
    const stopping = s.stop();
    sock.write(body);
    await closed;
    assert.match(data.replace(/^HTTP\/1\.1 100 [^\r]*\r\n\r\n/, ''), /^HTTP\/1\.1 201 /,
                 `response to the in-flight request: ${data}`);
    assert.deepEqual(await stopping, { code: 0, signal: null });
    await s.start();
    assert.equal((await listAll(s, `/api/v1/contacts?email=${encodeURIComponent(email)}`)).length, 1);
  });

  test('restart_keeps_contacts_companies_fields_users_and_keys', async () => {
    const s = await startServer();
    expectStatus(await s.api('POST', '/api/v1/fields', { key: 'plan', label: 'Plan', type: 'select', options: ['free', 'pro'] }), 201);
    const contact = expectStatus(await s.api('POST', '/api/v1/contacts', {
      email: uniqueEmail('persist'), first_name: '太郎', last_name: '山田', phone: '090-1234-5678',
      company: { name: '株式会社サンプル', domain: 'sample.co.jp' }, tags: ['vip'], fields: { plan: 'pro' },
    }), 201);
    const user = expectStatus(await s.api('POST', '/api/v1/users',
      { email: uniqueEmail('user'), name: 'U', role: 'sales', password: 'persisted password 1' }), 201);
    const viewer = expectStatus(await s.api('POST', '/api/v1/api-keys', { name: 'v', role: 'viewer' }), 201);
    const revoked = expectStatus(await s.api('POST', '/api/v1/api-keys', { name: 'r', role: 'admin' }), 201);
    assert.equal((await s.api('DELETE', `/api/v1/api-keys/${revoked.id}`)).status, 204);
    const fields = expectStatus(await s.api('GET', '/api/v1/fields'), 200);
    const companies = await listAll(s, '/api/v1/companies');

    const oldUrl = s.url;
    await s.restart();
    assert.notEqual(s.url, oldUrl);

    assert.deepEqual(expectStatus(await s.api('GET', `/api/v1/contacts/${contact.id}`), 200), contact);
    assert.deepEqual(expectStatus(await s.api('GET', '/api/v1/fields'), 200), fields);
    assert.deepEqual(await listAll(s, '/api/v1/companies'), companies);
    const { password, ...userNoPw } = user;
    assert.deepEqual(expectStatus(await s.api('GET', `/api/v1/users/${user.id}`), 200), userNoPw);
    expectStatus(await s.api('GET', '/api/v1/contacts', undefined, { key: viewer.key }), 200);
    assertError(await s.api('POST', '/api/v1/contacts', { email: uniqueEmail() }, { key: viewer.key }), 403, 'forbidden');
    assertError(await s.api('GET', '/api/v1/contacts', undefined, { key: revoked.key }), 401, 'unauthorized');
  });

  test('kill9_right_after_201_keeps_the_contact', async () => {
    const s = await startServer();
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(expectStatus(await s.api('POST', '/api/v1/contacts',
        { email: uniqueEmail(`k${i}`), first_name: `K${i}`, tags: ['durable'] }), 201));
    }
    const exit = await s.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    await s.start();
    for (const c of made) assert.deepEqual(expectStatus(await s.api('GET', `/api/v1/contacts/${c.id}`), 200), c);
  });

  test('kill9_right_after_patch_and_delete_keeps_the_change', async () => {
    const s = await startServer();
    const a = expectStatus(await s.api('POST', '/api/v1/contacts', { email: uniqueEmail('pa'), first_name: 'A' }), 201);
    const b = expectStatus(await s.api('POST', '/api/v1/contacts', { email: uniqueEmail('pb') }), 201);
    const patched = expectStatus(await s.api('PATCH', `/api/v1/contacts/${a.id}`, { first_name: 'Patched' }), 200);
    assert.equal((await s.api('DELETE', `/api/v1/contacts/${b.id}`)).status, 204);
    await s.kill9();
    await s.start();
    assert.deepEqual(expectStatus(await s.api('GET', `/api/v1/contacts/${a.id}`), 200), patched);
    assertError(await s.api('GET', `/api/v1/contacts/${b.id}`), 404, 'not_found');
  });
});
