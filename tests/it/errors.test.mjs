// errors.test.mjs — black-box tests that bad requests get the documented error and leave the database as it was.

import assert from 'node:assert/strict';
import {
  assertError, before, countCompanies, countContacts, describe, expectStatus, listAll, rawRequest, startServer,
  test, uniqueEmail,
} from './harness.mjs';

let srv;
before(async () => {
  srv = await startServer();
});

const post = (body, opts) => srv.api('POST', '/api/v1/contacts', body, opts);
const postRaw = (raw) => srv.api('POST', '/api/v1/contacts', undefined,
  { raw, headers: { 'content-type': 'application/json' } });

describe('malformed JSON', () => {
  test('malformed_json_is_400_invalid_json_naming_the_byte_offset', async () => {
    const n = await countContacts(srv);
    const body = `{"email": "${uniqueEmail('bad')}", oops}`;
    // The offset may point at the start or the end of the bad token `oops`.
    const at = Buffer.byteLength(body.slice(0, body.indexOf('oops')));
    const e = assertError(await postRaw(body), 400, 'invalid_json');
    const nums = (e.message.match(/\d+/g) || []).map(Number);
    assert.ok(nums.some((x) => x >= at && x <= at + 'oops'.length + 1),
              `message "${e.message}" should name byte offset ${at}..${at + 4}`);
    assert.equal(await countContacts(srv), n);
  });

  test('byte_offset_counts_bytes_not_characters', async () => {
    const body = `{"first_name": "山田太郎", "email": }`;
    const at = Buffer.byteLength(body.slice(0, body.lastIndexOf('}')));
    const e = assertError(await postRaw(body), 400, 'invalid_json');
    const nums = (e.message.match(/\d+/g) || []).map(Number);
    assert.ok(nums.some((x) => Math.abs(x - at) <= 2), `message "${e.message}" should name byte offset ≈${at}`);
  });

  test('truncated_empty_and_non_utf8_json_are_400', async () => {
    const n = await countContacts(srv);
    assertError(await postRaw(`{"email": "${uniqueEmail('t')}"`), 400, 'invalid_json');
    assertError(await postRaw(''), 400, 'invalid_json');
    assertError(await postRaw('not json at all'), 400, 'invalid_json');
    const bad = Buffer.concat([Buffer.from(`{"email": "${uniqueEmail('u')}", "first_name": "`),
                               Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('"}')]);
    assertError(await postRaw(bad), 400, 'invalid_json');
    assert.equal(await countContacts(srv), n);
  });

  test('malformed_json_on_patch_changes_nothing', async () => {
    const c = expectStatus(await post({ email: uniqueEmail('pj'), first_name: 'Same' }), 201);
    const res = await srv.api('PATCH', `/api/v1/contacts/${c.id}`, undefined,
      { raw: '{"first_name": "Other",', headers: { 'content-type': 'application/json' } });
    assertError(res, 400, 'invalid_json');
    assert.deepEqual(expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}`), 200), c);
  });
});

describe('routing errors', () => {
  test('unknown_route_is_404_not_found', async () => {
    assertError(await srv.api('GET', '/api/v1/no-such-thing'), 404, 'not_found');
    assertError(await srv.api('POST', '/api/v1/no-such-thing', {}), 404, 'not_found');
    assertError(await srv.api('GET', '/no-such-page'), 404, 'not_found');
    assertError(await srv.api('GET', '/api/v1/contacts/1/no-such-sub'), 404, 'not_found');
  });

  test('wrong_method_is_405_with_allow_header', async () => {
    const r1 = await srv.api('DELETE', '/api/v1/contacts');
    assertError(r1, 405, 'method_not_allowed');
    assert.deepEqual(r1.headers.get('allow').split(/\s*,\s*/).sort(), ['GET', 'POST']);
    const c = expectStatus(await post({ email: uniqueEmail('m') }), 201);
    const r2 = await srv.api('PUT', `/api/v1/contacts/${c.id}`, { first_name: 'x' });
    assertError(r2, 405, 'method_not_allowed');
    assert.deepEqual(r2.headers.get('allow').split(/\s*,\s*/).sort(), ['DELETE', 'GET', 'PATCH']);
    const r3 = await srv.api('DELETE', '/api/v1/companies');
    assertError(r3, 405, 'method_not_allowed');
    assert.deepEqual(expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}`), 200), c);
  });
});

describe('body size limit', () => {
  test('body_over_configured_limit_is_413_and_changes_nothing', async () => {
    const s = await startServer({ env: { KIZUNA_MAX_BODY: '4096' } });
    const n = await countContacts(s);
    const email = uniqueEmail('big');
    const big = JSON.stringify({ email }) + ' '.repeat(8192);
    const res = await rawRequest(s.url, {
      method: 'POST', path: '/api/v1/contacts', body: big,
      headers: { authorization: `Bearer ${s.apiKey}`, 'content-type': 'application/json' },
    });
    assertError(res, 413, 'body_too_large');
    assert.equal(await countContacts(s), n);
    // Under the limit, the same request (less padding) goes through.
    const small = JSON.stringify({ email }) + ' '.repeat(3000);
    expectStatus(await s.api('POST', '/api/v1/contacts', undefined,
      { raw: small, headers: { 'content-type': 'application/json' } }), 201);
  });

  test('body_over_default_1mib_limit_is_413', async () => {
    const n = await countContacts(srv);
    const big = JSON.stringify({ email: uniqueEmail('huge') }) + ' '.repeat(1024 * 1024 + 16);
    const res = await rawRequest(srv.url, {
      method: 'POST', path: '/api/v1/contacts', body: big,
      headers: { authorization: `Bearer ${srv.apiKey}`, 'content-type': 'application/json' },
    });
    assertError(res, 413, 'body_too_large');
    assert.equal(await countContacts(srv), n);
    const under = JSON.stringify({ email: uniqueEmail('under') }) + ' '.repeat(1000 * 1000);
    expectStatus(await srv.api('POST', '/api/v1/contacts', undefined,
      { raw: under, headers: { 'content-type': 'application/json' } }), 201);
  });
});

describe('invalid values', () => {
  const CASES = [
    ['email', { email: 'not-an-email' }],
    ['phone', { phone: 'call me maybe' }],
    ['first_name', { first_name: 123 }],
    ['last_name', { last_name: ['山田'] }],
    ['first_name_kana', { first_name_kana: { a: 1 } }],
    ['tags', { tags: 'vip' }],
    ['tags', { tags: [1, 2] }],
    ['company_id', { company_id: 987654321 }],
    ['company_id', { company_id: 'three' }],
    ['owner', { owner: 987654321 }],
    ['fields', { fields: 'plan=pro' }],
    ['email', { email: 42 }],
  ];
  for (const [field, extra] of CASES) {
    test(`contact_${field}_${JSON.stringify(extra[field]).replace(/\W+/g, '_').replace(/^_|_$/g, '')}_is_422_naming_${field}`, async () => {
      const n = await countContacts(srv);
      const res = await post({ email: uniqueEmail('inv'), ...extra });
      assertError(res, 422, 'invalid_field', field);
      assert.equal(await countContacts(srv), n);
    });
  }

  test('body_that_is_not_an_object_is_rejected', async () => {
    const n = await countContacts(srv);
    for (const raw of ['[]', '"x"', '42', 'null']) {
      const res = await postRaw(raw);
      assert.ok([400, 422].includes(res.status), res.info);
      assert.ok(['invalid_json', 'invalid_field'].includes(res.json?.error?.code), res.info);
    }
    assert.equal(await countContacts(srv), n);
  });
});

describe('a failed request changes nothing', () => {
  test('failed_upsert_leaves_existing_contact_unchanged', async () => {
    const email = uniqueEmail('keep');
    const c = expectStatus(await post({ email, first_name: 'Before', tags: ['keep'] }), 201);
    const res = await post({ email, first_name: 'After', tags: ['new'], phone: 'not a phone' });
    assertError(res, 422, 'invalid_field', 'phone');
    assert.deepEqual(expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}`), 200), c);
    assert.deepEqual((await listAll(srv, '/api/v1/contacts?tag=new')).filter((x) => x.id === c.id), []);
  });

  test('failed_create_does_not_leave_a_new_company_behind', async () => {
    const nc = await countCompanies(srv);
    const n = await countContacts(srv);
    const name = `Ghost KK ${Math.random().toString(36).slice(2, 8)}`;
    const res = await post({ email: uniqueEmail('ghost'), company: { name, domain: `${name.slice(-6)}.example` },
                             tags: ['ghost'], phone: 'nope' });
    assertError(res, 422, 'invalid_field', 'phone');
    assert.equal(await countCompanies(srv), nc);
    assert.equal(await countContacts(srv), n);
    assert.deepEqual(await listAll(srv, `/api/v1/companies?q=${encodeURIComponent(name)}`), []);
  });

  test('failed_patch_changes_no_attribute', async () => {
    const c = expectStatus(await post({ email: uniqueEmail('fp'), first_name: 'Same', tags: ['a'] }), 201);
    const res = await srv.api('PATCH', `/api/v1/contacts/${c.id}`,
      { first_name: 'Other', tags: { add: ['b'] }, email: 'broken@@example.com' });
    assertError(res, 422, 'invalid_field', 'email');
    assert.deepEqual(expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}`), 200), c);
  });

  test('failed_company_patch_changes_nothing', async () => {
    const co = expectStatus(await srv.api('POST', '/api/v1/companies', { name: 'Stable KK' }), 201);
    assertError(await srv.api('PATCH', `/api/v1/companies/${co.id}`, { name: 7 }), 422, 'invalid_field', 'name');
    assert.deepEqual(expectStatus(await srv.api('GET', `/api/v1/companies/${co.id}`), 200), co);
  });
});
