// auth.test.mjs — black-box tests of API keys, users and roles: 401 without a valid key, 403 for a role that may not.

import assert from 'node:assert/strict';
import {
  assertError, assertKeys, before, countCompanies, countContacts, describe, expectStatus, ISO_UTC, pick,
  startServer, test, uniqueEmail, waitFor,
} from './harness.mjs';

const USER_KEYS = ['active', 'created_at', 'email', 'id', 'name', 'role'];
const SECRET_KEYS = ['password_hash', 'hash', 'key_hash', 'secret'];
const KEY_KEYS = ['created_at', 'id', 'key', 'last_used_at', 'name', 'prefix', 'revoked_at', 'role'];

let srv;
before(async () => {
  srv = await startServer();
});

async function newKey(s, role, name = `${role}-key`) {
  return expectStatus(await s.api('POST', '/api/v1/api-keys', { name, role }), 201);
}

describe('authentication', () => {
  test('api_without_key_is_401_unauthorized', async () => {
    for (const p of ['/api/v1/contacts', '/api/v1/companies', '/api/v1/fields', '/api/v1/users', '/api/v1/api-keys']) {
      assertError(await srv.api('GET', p, undefined, { key: null }), 401, 'unauthorized');
    }
    assertError(await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail() }, { key: null }), 401, 'unauthorized');
  });

  test('api_with_unknown_or_malformed_key_is_401', async () => {
    const k = srv.apiKey;
    const flipped = k.slice(0, -1) + (k.endsWith('a') ? 'b' : 'a');
    for (const authorization of [`Bearer ${flipped}`, 'Bearer kz_nope', 'Bearer ', `Basic ${k}`, k, `Bearer  ${k}x`]) {
      const res = await srv.api('GET', '/api/v1/contacts', undefined, { key: null, headers: { authorization } });
      assertError(res, 401, 'unauthorized');
    }
  });

  test('api_with_admin_key_from_init_is_200', async () => {
    expectStatus(await srv.api('GET', '/api/v1/contacts'), 200);
  });

  test('failed_auth_changes_nothing', async () => {
    const n = await countContacts(srv);
    assertError(await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('x') }, { key: 'kz_wrong' }), 401, 'unauthorized');
    assert.equal(await countContacts(srv), n);
  });
});

describe('users', () => {
  test('user_create_with_password_returns_user_without_secrets', async () => {
    const email = uniqueEmail('mk');
    const res = await srv.api('POST', '/api/v1/users',
      { email, name: 'Mika Marketer', role: 'marketer', password: 'correct horse battery staple' });
    const u = expectStatus(res, 201);
    assertKeys(u, USER_KEYS, { forbidden: ['password', ...SECRET_KEYS], what: 'user' });
    assert.equal(Number.isInteger(u.id), true);
    assert.equal(u.email, email);
    assert.equal(u.name, 'Mika Marketer');
    assert.equal(u.role, 'marketer');
    assert.equal(u.active, true);
    assert.match(u.created_at, ISO_UTC);
    assert.ok(!/correct horse|argon2/.test(res.text), res.text);
    assert.deepEqual(expectStatus(await srv.api('GET', `/api/v1/users/${u.id}`), 200), u);
  });

  test('user_create_without_password_shows_generated_password_once', async () => {
    const res = await srv.api('POST', '/api/v1/users', { email: uniqueEmail('gen'), name: 'Gen', role: 'sales' });
    const u = expectStatus(res, 201);
    assertKeys(u, [...USER_KEYS, 'password'], { forbidden: SECRET_KEYS, what: 'new user' });
    assert.equal(typeof u.password, 'string');
    assert.ok(u.password.length >= 12, `generated password too short: ${u.password}`);
    const got = expectStatus(await srv.api('GET', `/api/v1/users/${u.id}`), 200);
    assertKeys(got, USER_KEYS, { forbidden: ['password', ...SECRET_KEYS], what: 'user' });
    const list = await srv.api('GET', '/api/v1/users');
    assert.ok(!list.text.includes(u.password), 'password must not be listed');
  });

  test('user_list_has_admin_and_no_hashes', async () => {
    const body = expectStatus(await srv.api('GET', '/api/v1/users'), 200);
    assert.ok(Array.isArray(body.data));
    const admin = body.data.find((u) => u.email === srv.admin.email);
    assert.ok(admin, `admin missing from ${JSON.stringify(body)}`);
    assert.equal(admin.role, 'admin');
    assert.equal(admin.active, true);
    for (const u of body.data) assertKeys(u, USER_KEYS, { forbidden: ['password', ...SECRET_KEYS], what: 'user' });
    assert.ok(!/argon2|password/i.test(JSON.stringify(body.data)));
  });

  test('user_patch_changes_name_role_active_and_password', async () => {
    const u = expectStatus(await srv.api('POST', '/api/v1/users',
      { email: uniqueEmail('p'), name: 'Before', role: 'viewer', password: 'initial password 1' }), 201);
    const res = await srv.api('PATCH', `/api/v1/users/${u.id}`,
      { name: 'After', role: 'sales', active: false, password: 'another password 2' });
    const after = expectStatus(res, 200);
    assert.deepEqual(pick(after, USER_KEYS), { ...pick(u, USER_KEYS), name: 'After', role: 'sales', active: false });
    assert.ok(!res.text.includes('another password'), res.text);
  });

  test('user_delete_returns_204_then_404', async () => {
    const u = expectStatus(await srv.api('POST', '/api/v1/users',
      { email: uniqueEmail('d'), name: 'Del', role: 'viewer', password: 'some password 123' }), 201);
    const del = await srv.api('DELETE', `/api/v1/users/${u.id}`);
    assert.equal(del.status, 204, del.info);
    assertError(await srv.api('GET', `/api/v1/users/${u.id}`), 404, 'not_found');
  });

  test('user_duplicate_email_is_409', async () => {
    const email = uniqueEmail('dup');
    expectStatus(await srv.api('POST', '/api/v1/users', { email, name: 'A', role: 'viewer', password: 'pw pw pw pw 1' }), 201);
    assertError(await srv.api('POST', '/api/v1/users', { email, name: 'B', role: 'sales', password: 'pw pw pw pw 2' }),
                409, 'conflict', 'email');
  });

  test('user_invalid_role_or_email_is_422', async () => {
    assertError(await srv.api('POST', '/api/v1/users', { email: uniqueEmail('r'), name: 'R', role: 'owner' }),
                422, 'invalid_field', 'role');
    assertError(await srv.api('POST', '/api/v1/users', { email: 'not-an-email', name: 'E', role: 'viewer' }),
                422, 'invalid_field', 'email');
  });
});

describe('api keys', () => {
  test('api_key_create_returns_key_once', async () => {
    const k = await newKey(srv, 'viewer', 'ci reader');
    assertKeys(k, KEY_KEYS, { forbidden: SECRET_KEYS, what: 'api key' });
    assert.equal(k.name, 'ci reader');
    assert.equal(k.role, 'viewer');
    assert.match(k.key, /^kz_[A-Za-z0-9_-]{16,}$/);
    assert.equal(typeof k.prefix, 'string');
    assert.ok(k.prefix.length >= 4 && k.prefix.length < k.key.length, `prefix ${k.prefix}`);
    assert.ok(k.key.startsWith(k.prefix), `prefix ${k.prefix} must start key ${k.key}`);
    assert.match(k.created_at, ISO_UTC);
    assert.equal(k.last_used_at, null);
    assert.equal(k.revoked_at, null);
    const list = await srv.api('GET', '/api/v1/api-keys');
    const body = expectStatus(list, 200);
    const listed = body.data.find((x) => x.id === k.id);
    assert.ok(listed, list.info);
    assertKeys(listed, KEY_KEYS.filter((x) => x !== 'key'), { forbidden: ['key', ...SECRET_KEYS], what: 'listed api key' });
    assert.ok(!list.text.includes(k.key), 'full key must never be listed');
    const { key, ...rest } = k;
    assert.deepEqual(listed, rest);
  });

  test('api_key_works_and_records_last_use', async () => {
    const k = await newKey(srv, 'viewer');
    expectStatus(await srv.api('GET', '/api/v1/contacts', undefined, { key: k.key }), 200);
    await waitFor(async () => {
      const body = expectStatus(await srv.api('GET', '/api/v1/api-keys'), 200);
      const listed = body.data.find((x) => x.id === k.id);
      return listed.last_used_at !== null && ISO_UTC.test(listed.last_used_at);
    }, { what: 'last_used_at to be set' });
  });

  test('api_key_revoked_is_401', async () => {
    const k = await newKey(srv, 'admin', 'soon revoked');
    expectStatus(await srv.api('GET', '/api/v1/contacts', undefined, { key: k.key }), 200);
    const del = await srv.api('DELETE', `/api/v1/api-keys/${k.id}`);
    assert.equal(del.status, 204, del.info);
    assertError(await srv.api('GET', '/api/v1/contacts', undefined, { key: k.key }), 401, 'unauthorized');
    const body = expectStatus(await srv.api('GET', '/api/v1/api-keys'), 200);
    assert.match(body.data.find((x) => x.id === k.id).revoked_at, ISO_UTC);
  });

  test('api_key_invalid_role_is_422', async () => {
    assertError(await srv.api('POST', '/api/v1/api-keys', { name: 'x', role: 'root' }), 422, 'invalid_field', 'role');
  });

  test('api_key_unknown_id_delete_is_404', async () => {
    assertError(await srv.api('DELETE', '/api/v1/api-keys/987654321'), 404, 'not_found');
  });
});

describe('roles', () => {
  let keys;
  let victim;
  before(async () => {
    keys = {};
    for (const role of ['viewer', 'sales', 'marketer']) keys[role] = (await newKey(srv, role)).key;
    victim = expectStatus(await srv.api('POST', '/api/v1/contacts',
      { email: uniqueEmail('victim'), first_name: 'Victim', tags: ['t'] }), 201);
  });

  test('viewer_key_can_read', async () => {
    const key = keys.viewer;
    for (const p of ['/api/v1/contacts', `/api/v1/contacts/${victim.id}`, '/api/v1/companies', '/api/v1/fields',
                     `/api/v1/contacts/${victim.id}/export`, '/api/v1/contacts/duplicates']) {
      expectStatus(await srv.api('GET', p, undefined, { key }), 200);
    }
  });

  test('viewer_key_writing_is_403_and_changes_nothing', async () => {
    const key = keys.viewer;
    const n = await countContacts(srv);
    const nc = await countCompanies(srv);
    const writes = [
      ['POST', '/api/v1/contacts', { email: uniqueEmail('v') }],
      ['PATCH', `/api/v1/contacts/${victim.id}`, { first_name: 'Changed' }],
      ['DELETE', `/api/v1/contacts/${victim.id}`],
      ['POST', '/api/v1/contacts/merge', { into: victim.id, from: victim.id }],
      ['POST', '/api/v1/companies', { name: 'Viewer KK' }],
      ['POST', '/api/v1/fields', { key: 'viewerfield', label: 'V', type: 'text' }],
      ['POST', '/api/v1/users', { email: uniqueEmail('vu'), name: 'V', role: 'admin' }],
      ['POST', '/api/v1/api-keys', { name: 'v', role: 'admin' }],
    ];
    for (const [method, p, body] of writes) {
      assertError(await srv.api(method, p, body, { key }), 403, 'forbidden');
    }
    const imp = await srv.api('POST', '/api/v1/contacts/import', undefined,
      { key, raw: 'メール\nviewer-import@example.com\n', headers: { 'content-type': 'text/csv' } });
    assertError(imp, 403, 'forbidden');
    assert.equal(await countContacts(srv), n);
    assert.equal(await countCompanies(srv), nc);
    assert.deepEqual(expectStatus(await srv.api('GET', `/api/v1/contacts/${victim.id}`), 200), victim);
    assertError(await srv.api('GET', '/api/v1/fields/viewerfield'), 404, 'not_found');
  });

  test('sales_key_writes_contacts_and_companies_only', async () => {
    const key = keys.sales;
    const c = expectStatus(await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('s') }, { key }), 201);
    expectStatus(await srv.api('PATCH', `/api/v1/contacts/${c.id}`, { first_name: 'Sold' }, { key }), 200);
    expectStatus(await srv.api('POST', '/api/v1/companies', { name: 'Sales KK' }, { key }), 201);
    assertError(await srv.api('POST', '/api/v1/fields', { key: 'salesfield', label: 'S', type: 'text' }, { key }),
                403, 'forbidden');
    assertError(await srv.api('POST', '/api/v1/users', { email: uniqueEmail('su'), name: 'S', role: 'admin' }, { key }),
                403, 'forbidden');
    assertError(await srv.api('GET', '/api/v1/api-keys', undefined, { key }), 403, 'forbidden');
    assertError(await srv.api('POST', '/api/v1/api-keys', { name: 's', role: 'admin' }, { key }), 403, 'forbidden');
  });

  test('marketer_key_writes_contacts_companies_fields_and_reads_users', async () => {
    const key = keys.marketer;
    expectStatus(await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('m') }, { key }), 201);
    expectStatus(await srv.api('POST', '/api/v1/companies', { name: 'Marketing KK' }, { key }), 201);
    expectStatus(await srv.api('POST', '/api/v1/fields', { key: 'campaign', label: 'Campaign', type: 'text' }, { key }), 201);
    expectStatus(await srv.api('GET', '/api/v1/users', undefined, { key }), 200);
    assertError(await srv.api('POST', '/api/v1/users', { email: uniqueEmail('mu'), name: 'M', role: 'admin' }, { key }),
                403, 'forbidden');
    assertError(await srv.api('GET', '/api/v1/api-keys', undefined, { key }), 403, 'forbidden');
    assertError(await srv.api('POST', '/api/v1/api-keys', { name: 'm', role: 'admin' }, { key }), 403, 'forbidden');
  });

  test('admin_key_created_through_api_manages_users', async () => {
    const key = (await newKey(srv, 'admin')).key;
    expectStatus(await srv.api('POST', '/api/v1/users',
      { email: uniqueEmail('au'), name: 'A', role: 'viewer', password: 'long enough pw 1' }, { key }), 201);
    expectStatus(await srv.api('GET', '/api/v1/api-keys', undefined, { key }), 200);
  });
});
