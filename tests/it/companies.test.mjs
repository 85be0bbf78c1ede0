// companies.test.mjs — black-box tests of /api/v1/companies and how contacts attach to companies.

import assert from 'node:assert/strict';
import {
  assertError, assertKeys, before, countCompanies, expectStatus, ISO_UTC, listAll, startServer, test,
  uniqueEmail,
} from './harness.mjs';

const COMPANY_KEYS = ['created_at', 'domain', 'fields', 'id', 'name', 'updated_at'];

let srv;
before(async () => {
  srv = await startServer();
});

const rand = () => Math.random().toString(36).slice(2, 8);

async function createCompany(s, body) {
  return expectStatus(await s.api('POST', '/api/v1/companies', body), 201);
}

test('company_create_returns_201_with_documented_shape', async () => {
  const domain = `${rand()}.example`;
  const c = await createCompany(srv, { name: '株式会社サンプル', domain });
  assertKeys(c, COMPANY_KEYS, { what: 'company' });
  assert.equal(Number.isInteger(c.id), true);
  assert.equal(c.name, '株式会社サンプル');
  assert.equal(c.domain, domain);
  assert.deepEqual(c.fields, {});
  assert.match(c.created_at, ISO_UTC);
  assert.match(c.updated_at, ISO_UTC);
  assert.deepEqual(expectStatus(await srv.api('GET', `/api/v1/companies/${c.id}`), 200), c);
});

test('company_without_domain_has_null_domain', async () => {
  const c = await createCompany(srv, { name: `No Domain ${rand()}` });
  assert.equal(c.domain, null);
});

test('company_list_contains_created_companies', async () => {
  const a = await createCompany(srv, { name: `List A ${rand()}` });
  const b = await createCompany(srv, { name: `List B ${rand()}` });
  const page = expectStatus(await srv.api('GET', '/api/v1/companies'), 200);
  assert.deepEqual(Object.keys(page).sort(), ['data', 'next_cursor']);
  const all = await listAll(srv, '/api/v1/companies');
  assert.deepEqual(all.find((c) => c.id === a.id), a);
  assert.deepEqual(all.find((c) => c.id === b.id), b);
});

test('company_patch_updates_only_given_attributes', async () => {
  const c = await createCompany(srv, { name: 'Old Name KK', domain: `${rand()}.example` });
  const res = await srv.api('PATCH', `/api/v1/companies/${c.id}`, { name: 'New Name KK' });
  const after = expectStatus(res, 200);
  assert.deepEqual({ ...after, updated_at: null }, { ...c, name: 'New Name KK', updated_at: null });
  assert.deepEqual(expectStatus(await srv.api('GET', `/api/v1/companies/${c.id}`), 200), after);
});

test('company_delete_returns_204_then_404', async () => {
  const c = await createCompany(srv, { name: `Doomed ${rand()}` });
  const del = await srv.api('DELETE', `/api/v1/companies/${c.id}`);
  assert.equal(del.status, 204, del.info);
  assert.equal(del.text, '');
  assertError(await srv.api('GET', `/api/v1/companies/${c.id}`), 404, 'not_found');
  assertError(await srv.api('DELETE', `/api/v1/companies/${c.id}`), 404, 'not_found');
});

test('company_unknown_id_is_404', async () => {
  assertError(await srv.api('GET', '/api/v1/companies/987654321'), 404, 'not_found');
  assertError(await srv.api('PATCH', '/api/v1/companies/987654321', { name: 'x' }), 404, 'not_found');
  assertError(await srv.api('DELETE', '/api/v1/companies/987654321'), 404, 'not_found');
});

test('company_search_q_matches_name_case_insensitively', async () => {
  const s = await startServer();
  const acme = await createCompany(s, { name: 'Acme Holdings', domain: 'acme.example' });
  const sample = await createCompany(s, { name: '株式会社サンプル', domain: 'sample.co.jp' });
  await createCompany(s, { name: 'Globex', domain: 'globex.example' });
  const q = async (text) => (await listAll(s, `/api/v1/companies?q=${encodeURIComponent(text)}`)).map((c) => c.id);
  assert.deepEqual(await q('acme'), [acme.id]);
  assert.deepEqual(await q('HOLDINGS'), [acme.id]);
  assert.deepEqual(await q('サンプル'), [sample.id]);
  assert.deepEqual(await q('initech'), []);
  assert.deepEqual(await q('%'), []);
  assert.deepEqual(await q('_'), []);
});

test('company_name_is_required', async () => {
  const n = await countCompanies(srv);
  assertError(await srv.api('POST', '/api/v1/companies', { domain: 'x.example' }), 422, 'invalid_field', 'name');
  assertError(await srv.api('POST', '/api/v1/companies', { name: 42 }), 422, 'invalid_field', 'name');
  assert.equal(await countCompanies(srv), n);
});

test('contact_company_with_same_domain_reuses_the_company', async () => {
  const domain = `${rand()}.example`;
  const n = await countCompanies(srv);
  const a = expectStatus(await srv.api('POST', '/api/v1/contacts',
    { email: uniqueEmail('d1'), company: { name: 'Foo Inc', domain } }), 201);
  const b = expectStatus(await srv.api('POST', '/api/v1/contacts',
    { email: uniqueEmail('d2'), company: { name: 'Foo Incorporated', domain } }), 201);
  assert.equal(b.company_id, a.company_id);
  assert.equal(await countCompanies(srv), n + 1);
  const other = expectStatus(await srv.api('POST', '/api/v1/contacts',
    { email: uniqueEmail('d3'), company: { name: 'Foo Inc', domain: `other-${domain}` } }), 201);
  assert.notEqual(other.company_id, a.company_id);
});

test('contact_company_without_domain_reuses_the_company_by_name', async () => {
  const name = `Bar KK ${rand()}`;
  const a = expectStatus(await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('n1'), company: { name } }), 201);
  const b = expectStatus(await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('n2'), company: { name } }), 201);
  assert.equal(b.company_id, a.company_id);
  assert.deepEqual(a.company, { id: a.company_id, name, domain: null });
});

test('contact_company_id_attaches_an_existing_company', async () => {
  const co = await createCompany(srv, { name: `Attach ${rand()}`, domain: `${rand()}.example` });
  const c = expectStatus(await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('cid'), company_id: co.id }), 201);
  assert.equal(c.company_id, co.id);
  assert.deepEqual(c.company, { id: co.id, name: co.name, domain: co.domain });
  const listed = await listAll(srv, `/api/v1/contacts?company_id=${co.id}`);
  assert.deepEqual(listed.map((x) => x.id), [c.id]);
});

test('contact_unknown_company_id_is_422', async () => {
  const res = await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('nocid'), company_id: 987654321 });
  assertError(res, 422, 'invalid_field', 'company_id');
});

test('company_rename_shows_in_its_contacts', async () => {
  const co = await createCompany(srv, { name: `Before ${rand()}` });
  const c = expectStatus(await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('ren'), company_id: co.id }), 201);
  expectStatus(await srv.api('PATCH', `/api/v1/companies/${co.id}`, { name: 'After Rename KK' }), 200);
  const got = expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}`), 200);
  assert.equal(got.company.name, 'After Rename KK');
});
