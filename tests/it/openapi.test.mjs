// openapi.test.mjs — the served OpenAPI document is valid 3.1 and true to the server: routes, auth, roles, response shapes.
//
// The document is docs/openapi.yaml, converted to JSON at build time and served at
// GET /api/v1/openapi.json. These tests fail when:
//   - it is not valid OpenAPI 3.1 (checked with @seriousme/openapi-schema-validator);
//   - the served JSON differs from docs/openapi.yaml (the binary is stale: rebuild);
//   - a route `kizuna routes` prints is missing from `paths`, or `paths` lists one the
//     server does not register (add the new route to docs/openapi.yaml);
//   - an operation's `security` or `x-kizuna-role` disagrees with what the server enforces;
//   - a real response has a status, content type or body the document does not describe.
// Needs the npm devDependencies: run `npm ci` in the repository root.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  REPO, assertError, before, rawRequest, runCli, startServer, test, toCp932, uniqueEmail,
} from './harness.mjs';

async function need(name) {
  try {
    return await import(name);
  } catch (e) {
    throw new Error(`cannot load ${name}: run \`npm ci\` in ${REPO} (${e.message})`);
  }
}
const { Validator } = await need('@seriousme/openapi-schema-validator');
const Ajv2020 = unwrapDefault(await need('ajv/dist/2020.js'));
const addFormats = unwrapDefault(await need('ajv-formats'));
const YAML = await need('yaml');

function unwrapDefault(mod) {
  let m = mod;
  while (m && typeof m !== 'function' && m.default) m = m.default;
  return m;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const ROLES = ['viewer', 'sales', 'marketer', 'admin']; // weakest first, as in src/base/role.h
const SCHEMA_BASE = 'https://kizuna.invalid/openapi.json';

let srv;
let doc;
let registered; // ["GET /healthz", ...] from `kizuna routes`
let ajv;

before(async () => {
  srv = await startServer();
  const res = await srv.api('GET', '/api/v1/openapi.json', undefined, { key: null });
  assert.equal(res.status, 200, res.info);
  doc = res.json;
  assert.ok(doc && typeof doc === 'object', `openapi.json is not JSON: ${res.info}`);
  const r = await runCli(['routes']);
  assert.equal(r.code, 0, r.info);
  assert.ok(Array.isArray(r.json), r.info);
  registered = r.json.map((x) => `${x.method} ${x.path}`);
  ajv = makeAjv(doc);
});

// ---------------------------------------------------------------- helpers

/** Every documented operation: {key: "GET /api/v1/x", method, tpl, op}. */
function operations() {
  const out = [];
  for (const [tpl, item] of Object.entries(doc.paths || {})) {
    for (const m of METHODS) {
      if (item[m]) out.push({ key: `${m.toUpperCase()} ${tpl}`, method: m.toUpperCase(), tpl, op: item[m] });
    }
  }
  return out;
}

/** The object a local "#/..." reference points at. */
function deref(obj) {
  let o = obj;
  for (let i = 0; o && o.$ref && i < 10; i++) {
    assert.ok(o.$ref.startsWith('#/'), `only local $refs are supported: ${o.$ref}`);
    o = o.$ref.slice(2).split('/').reduce((acc, k) => acc?.[k.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
    assert.ok(o, `dangling $ref ${obj.$ref}`);
  }
  return o;
}

/** Ajv over the document's schemas: "#/components/schemas/X" resolves within SCHEMA_BASE. */
function makeAjv(d) {
  const a = new Ajv2020({ allErrors: true, strict: false });
  addFormats(a);
  const defs = JSON.parse(JSON.stringify(d.components?.schemas || {})
    .replaceAll('"#/components/schemas/', `"${SCHEMA_BASE}#/$defs/`));
  a.addSchema({ $id: SCHEMA_BASE, $defs: defs });
  return a;
}

function validateAgainst(schema, value, what) {
  const s = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${SCHEMA_BASE}#/$defs/`));
  const v = ajv.compile(s);
  assert.ok(v(value), `${what} does not match its schema: ${ajv.errorsText(v.errors, { separator: '\n  ' })}\n` +
                      `value: ${JSON.stringify(value).slice(0, 1500)}`);
}

function schemaRef(name) {
  return { $ref: `#/components/schemas/${name}` };
}

function header(res, name) {
  return typeof res.headers.get === 'function' ? res.headers.get(name) : res.headers[name.toLowerCase()];
}

/**
 * Assert the document describes this real response of `method tpl`: its status is listed,
 * its content type is one of that response's, and a JSON body matches the schema.
 */
function conforms(method, tpl, res) {
  const op = doc.paths[tpl]?.[method.toLowerCase()];
  assert.ok(op, `${method} ${tpl} is not in the document`);
  const listed = op.responses[String(res.status)] ?? op.responses.default;
  assert.ok(listed, `${method} ${tpl} answered ${res.status}, which the document does not list ` +
                    `(it lists ${Object.keys(op.responses).join(', ')})\n${res.info}`);
  const r = deref(listed);
  const ctype = (header(res, 'content-type') || '').split(';')[0].trim();
  if (!r.content) {
    assert.equal(res.text, '', `${method} ${tpl} ${res.status} is documented without a body: ${res.info}`);
    return res;
  }
  const media = r.content[ctype];
  assert.ok(media, `${method} ${tpl} ${res.status} sent ${ctype || 'no content type'}; the document lists ` +
                   `${Object.keys(r.content).join(', ')}`);
  if (ctype === 'application/json') validateAgainst(media.schema, res.json, `${method} ${tpl} → ${res.status}`);
  return res;
}

/** srv.api plus conforms(): `tpl` names the documented path, `p` the real one (default tpl). */
async function call(method, tpl, body, opts = {}) {
  const res = await srv.api(method, opts.path ?? tpl, body, opts);
  return conforms(method, tpl, res);
}

/** A concrete path for a template, with ids that exist nowhere (requests change nothing). */
function harmlessPath(tpl) {
  return tpl.replace('{id}', '999999').replace('{key}', 'no_such_field').replace(/\{[^}]+\}/g, 'x');
}

function isPublic(op) {
  return Array.isArray(op.security) && op.security.length === 0;
}

// ---------------------------------------------------------------- the document itself

test('openapi_json_is_valid_openapi_3_1', async () => {
  assert.match(String(doc.openapi), /^3\.1\.\d+$/, 'the document must say openapi: 3.1.x');
  const v = new Validator();
  assert.ok(Validator.supportedVersions.has('3.1'), 'the validator must support OpenAPI 3.1');
  const res = await v.validate(structuredClone(doc));
  if (!res.valid) {
    assert.fail(`docs/openapi.yaml is not valid OpenAPI ${v.version}:\n` +
                `${String(JSON.stringify(res.errors, null, 2)).slice(0, 4000)}`);
  }
  const r = await srv.api('GET', '/api/v1/openapi.json', undefined, { key: null });
  assert.match(header(r, 'content-type') || '', /^application\/json/);
});

test('openapi_json_is_docs_openapi_yaml_as_built', () => {
  // yaml2json turns plain scalars into JSON types the same way the yaml package's core schema does.
  const source = YAML.parse(readFileSync(path.join(REPO, 'docs', 'openapi.yaml'), 'utf8'));
  assert.deepEqual(doc, source, 'the served document differs from docs/openapi.yaml: rebuild kizuna ' +
                                '(or quote a scalar that yaml2json and YAML 1.2 read differently)');
});

test('openapi_refs_all_resolve', () => {
  const walk = (o, where) => {
    if (Array.isArray(o)) return o.forEach((x, i) => walk(x, `${where}/${i}`));
    if (!o || typeof o !== 'object') return;
    if (typeof o.$ref === 'string') deref({ $ref: o.$ref });
    for (const [k, v] of Object.entries(o)) walk(v, `${where}/${k}`);
  };
  walk(doc, '#');
  for (const name of ['Contact', 'Company', 'Field', 'User', 'ApiKey', 'Error', 'ContactPage', 'CompanyPage',
                      'ImportResult', 'PersonExport', 'DuplicateGroup']) {
    assert.ok(doc.components?.schemas?.[name], `components.schemas.${name} is missing`);
  }
});

// ---------------------------------------------------------------- routes

test('openapi_documents_every_registered_route', () => {
  const documented = new Set(operations().map((o) => o.key));
  const missing = registered.filter((r) => !documented.has(r));
  assert.deepEqual(missing, [], `routes the server registers but docs/openapi.yaml does not describe:\n  ` +
                                `${missing.join('\n  ')}\nadd them to docs/openapi.yaml (same path template)`);
});

test('openapi_documents_no_route_the_server_lacks', () => {
  const known = new Set(registered);
  const extra = operations().map((o) => o.key).filter((k) => !known.has(k));
  assert.deepEqual(extra, [], `docs/openapi.yaml describes routes the server does not register:\n  ${extra.join('\n  ')}`);
});

test('openapi_operations_have_ids_examples_and_error_shapes', () => {
  const ids = new Set();
  for (const { key, op } of operations()) {
    assert.ok(op.operationId, `${key} has no operationId`);
    assert.ok(!ids.has(op.operationId), `${key}: operationId ${op.operationId} is used twice`);
    ids.add(op.operationId);
    assert.ok(op.summary, `${key} has no summary`);
    const ok = Object.entries(op.responses).filter(([s]) => /^[23]/.test(s)); // 3xx: redirects (email clicks)
    assert.ok(ok.length > 0, `${key} documents no success response`);
    const hasExample = ok.some(([, r]) => {
      const rr = deref(r);
      return !rr.content || Object.values(rr.content).some((m) => m.example !== undefined || m.examples);
    });
    assert.ok(hasExample, `${key}: give its success response an example`);
    for (const [status, r] of Object.entries(op.responses)) {
      if (!/^[45]/.test(status)) continue;
      const json = deref(r).content?.['application/json'];
      if (!json) continue;
      const s = json.schema?.$ref ? json.schema.$ref : '';
      if (key !== 'GET /healthz') assert.equal(s, '#/components/schemas/Error', `${key} ${status} must use the Error schema`);
    }
  }
});

// ---------------------------------------------------------------- auth and roles

test('openapi_security_matches_what_the_server_enforces', async () => {
  for (const { key, method, tpl, op } of operations()) {
    const res = await srv.api(method, harmlessPath(tpl), undefined, { key: null });
    if (isPublic(op)) {
      assert.equal(header(res, 'www-authenticate'), null,
                   `${key} is documented as public (security: []) but asks for a key: ${res.info}`);
    } else {
      assert.equal(res.status, 401, `${key} needs a key per the document, but answered without one: ${res.info}`);
      assert.equal(header(res, 'www-authenticate'), 'Bearer', res.info);
      conforms(method, tpl, res);
    }
  }
});

test('openapi_roles_match_what_the_server_enforces', async () => {
  const keys = { admin: srv.apiKey };
  for (const role of ['viewer', 'sales', 'marketer']) {
    const r = await srv.api('POST', '/api/v1/api-keys', { name: `openapi test ${role}`, role });
    assert.equal(r.status, 201, r.info);
    keys[role] = r.json.key;
  }
  for (const { key, method, tpl, op } of operations()) {
    if (isPublic(op)) continue;
    const need = op['x-kizuna-role'];
    assert.ok(ROLES.includes(need), `${key}: x-kizuna-role must be one of ${ROLES.join(', ')}, not ${need}`);
    for (const role of ROLES) {
      // No body and ids that exist nowhere: allowed requests fail validation or find nothing.
      const res = await srv.api(method, harmlessPath(tpl), undefined, { key: keys[role] });
      if (ROLES.indexOf(role) < ROLES.indexOf(need)) {
        assert.equal(res.status, 403, `${key} is documented for ${need} and up, but a ${role} key got in: ${res.info}`);
        assertError(res, 403, 'forbidden');
        conforms(method, tpl, res);
      } else {
        assert.ok(res.status !== 401 && res.status !== 403,
                  `${key} is documented for ${need}, but a ${role} key was refused: ${res.info}`);
      }
    }
  }
});

// ---------------------------------------------------------------- real responses

test('openapi_schemas_match_real_responses', async () => {
  // meta
  await call('GET', '/healthz', undefined, { key: null });
  await call('GET', '/metrics', undefined, { key: null });
  await call('GET', '/api/v1/openapi.json', undefined, { key: null });

  // fields
  const plan = (await call('POST', '/api/v1/fields', { key: 'plan', label: 'プラン', type: 'select', options: ['free', 'pro'] })).json;
  assert.equal(plan.key, 'plan');
  await call('POST', '/api/v1/fields', { key: 'employees', label: '従業員数', type: 'number' });
  assertError(await call('POST', '/api/v1/fields', { key: 'plan', label: 'x', type: 'text' }), 409, 'conflict');
  await call('GET', '/api/v1/fields');
  await call('GET', '/api/v1/fields/{key}', undefined, { path: '/api/v1/fields/plan' });
  await call('PATCH', '/api/v1/fields/{key}', { label: '契約プラン' }, { path: '/api/v1/fields/plan' });
  assertError(await call('GET', '/api/v1/fields/{key}', undefined, { path: '/api/v1/fields/nope' }), 404, 'not_found');

  // companies
  const co = (await call('POST', '/api/v1/companies', { name: '株式会社サンプル', domain: 'https://www.sample.co.jp/' })).json;
  await call('GET', '/api/v1/companies', undefined, { path: '/api/v1/companies?limit=1' });
  await call('GET', '/api/v1/companies', undefined, { path: `/api/v1/companies?q=${encodeURIComponent('さんぷる')}` });
  await call('GET', '/api/v1/companies/{id}', undefined, { path: `/api/v1/companies/${co.id}` });
  await call('PATCH', '/api/v1/companies/{id}', { fields: { industry: '製造業' } }, { path: `/api/v1/companies/${co.id}` });
  assertError(await call('POST', '/api/v1/companies', { name: 'X', domain: 'nodot' }), 422, 'invalid_field', 'domain');

  // contacts
  const taroEmail = uniqueEmail('taro');
  const taro = (await call('POST', '/api/v1/contacts', {
    email: `  ${taroEmail.toUpperCase()} `, first_name: '太郎', last_name: '山田', first_name_kana: 'ﾀﾛｳ',
    last_name_kana: 'ヤマダ', phone: '090-1234-5678', company: { name: '株式会社サンプル' },
    tags: ['seminar-2026'], fields: { plan: 'pro', employees: 120 }, timezone: 'Asia/Tokyo', locale: 'ja',
  })).json;
  assert.equal(taro.email, taroEmail);
  assert.equal(taro.phone, '+819012345678');
  const again = await call('POST', '/api/v1/contacts', { email: taroEmail, tags: ['vip'] });
  assert.equal(again.status, 200, again.info);
  const twin = (await call('POST', '/api/v1/contacts', {
    email: uniqueEmail('twin'), first_name: '太郎', last_name: '山田', phone: '09012345678', company_id: co.id,
  })).json;
  await call('POST', '/api/v1/contacts', { email: uniqueEmail('third'), last_name: '佐藤' });
  const page = (await call('GET', '/api/v1/contacts', undefined, { path: '/api/v1/contacts?limit=1' })).json;
  assert.equal(typeof page.next_cursor, 'string');
  await call('GET', '/api/v1/contacts', undefined,
             { path: `/api/v1/contacts?limit=1&sort=-last_name&cursor=${encodeURIComponent(page.next_cursor)}` });
  await call('GET', '/api/v1/contacts', undefined, {
    path: `/api/v1/contacts?q=${encodeURIComponent('やまだ')}&tag=vip&company_id=${co.id}&email=${encodeURIComponent(taroEmail)}`,
  });
  assertError(await call('GET', '/api/v1/contacts', undefined, { path: '/api/v1/contacts?limit=0' }),
              400, 'invalid_parameter', 'limit');
  await call('GET', '/api/v1/contacts/{id}', undefined, { path: `/api/v1/contacts/${taro.id}` });
  await call('PATCH', '/api/v1/contacts/{id}', { tags: { add: ['customer'], remove: ['vip'] }, fields: { plan: 'free' } },
             { path: `/api/v1/contacts/${taro.id}` });
  assertError(await call('PATCH', '/api/v1/contacts/{id}', { email: taroEmail }, { path: `/api/v1/contacts/${twin.id}` }),
              409, 'conflict', 'email');
  assertError(await call('PATCH', '/api/v1/contacts/{id}', { fields: { plan: 'gold' } }, { path: `/api/v1/contacts/${taro.id}` }),
              422, 'invalid_field', 'fields.plan');
  assertError(await call('POST', '/api/v1/contacts', undefined, { raw: '{"email":', headers: { 'content-type': 'application/json' } }),
              400, 'invalid_json');
  const pe = (await call('GET', '/api/v1/contacts/{id}/export', undefined, { path: `/api/v1/contacts/${taro.id}/export` })).json;
  assert.equal(pe.contact.id, taro.id);
  const dups = (await call('GET', '/api/v1/contacts/duplicates')).json;
  assert.ok(dups.data.length > 0, 'taro and twin share a phone: expected a duplicate group');
  await call('GET', '/api/v1/tags');
  await call('POST', '/api/v1/contacts/bulk', { ids: [taro.id, 999999], action: 'add_tags', tags: ['bulk'] });
  await call('POST', '/api/v1/contacts/merge', { into: taro.id, from: twin.id });
  assertError(await call('POST', '/api/v1/contacts/merge', { into: taro.id, from: twin.id }), 404, 'not_found');

  // export and import
  const csv = await call('GET', '/api/v1/contacts/export');
  assert.match(csv.text, /^\uFEFFid,email,/); // a BOM first, for Excel
  const jsonl = await call('GET', '/api/v1/contacts/export', undefined, { path: '/api/v1/contacts/export?format=jsonl' });
  for (const line of jsonl.text.split('\n').filter(Boolean)) validateAgainst(schemaRef('Contact'), JSON.parse(line), 'an export line');
  const sjis = toCp932('氏名,フリガナ,メールアドレス,電話番号,会社名\r\n' +
                       `鈴木 一郎,スズキ イチロウ,${uniqueEmail('ichiro')},03-5555-1234,株式会社サンプル\r\n` +
                       '高橋 次郎,タカハシ ジロウ,not-an-email,,\r\n');
  const imp = (await call('POST', '/api/v1/contacts/import', undefined,
                          { raw: sjis, headers: { 'content-type': 'text/csv; charset=Shift_JIS' } })).json;
  assert.equal(imp.created, 1);
  assert.equal(imp.failed.length, 1);
  assertError(await call('POST', '/api/v1/contacts/import', undefined, { raw: 'a,b', headers: { 'content-type': 'application/json' } }),
              415, 'unsupported_media_type');

  // users, session, settings, keys
  const password = 'correct horse battery';
  const user = (await call('POST', '/api/v1/users', { email: uniqueEmail('yamada'), name: '山田 太郎', role: 'marketer', password })).json;
  await call('POST', '/api/v1/users', { email: uniqueEmail('gen'), role: 'viewer' });
  await call('GET', '/api/v1/users');
  await call('GET', '/api/v1/users/{id}', undefined, { path: `/api/v1/users/${user.id}` });
  await call('PATCH', '/api/v1/users/{id}', { name: '山田 太郎 (営業)' }, { path: `/api/v1/users/${user.id}` });
  const login = await call('POST', '/api/v1/session', { email: user.email, password }, { key: null });
  const cookie = (header(login, 'set-cookie') || '').split(';')[0];
  assert.match(cookie, /^kz_session=./, login.info);
  await call('GET', '/api/v1/session', undefined, { key: null, headers: { cookie } });
  assertError(await call('PATCH', '/api/v1/settings', { sender_name: 'x' }, { key: null, headers: { cookie } }), 403, 'csrf_failed');
  await call('DELETE', '/api/v1/session', undefined, { key: null, headers: { cookie } });
  assertError(await call('GET', '/api/v1/session', undefined, { key: null, headers: { cookie } }), 401, 'unauthorized');
  assertError(await call('POST', '/api/v1/session', { email: user.email, password: 'wrong password' }, { key: null }),
              401, 'invalid_credentials');
  await call('GET', '/api/v1/settings');
  await call('PATCH', '/api/v1/settings', { sender_name: '株式会社サンプル', sender_email: 'News@Sample.co.jp' });
  const k = (await call('POST', '/api/v1/api-keys', { name: '閲覧用', role: 'viewer' })).json;
  await call('GET', '/api/v1/api-keys');
  assertError(await call('GET', '/api/v1/contacts', undefined, { key: 'kz_unknown' }), 401, 'unauthorized');
  assertError(await call('POST', '/api/v1/contacts', { email: uniqueEmail() }, { key: k.key }), 403, 'forbidden');
  await call('DELETE', '/api/v1/api-keys/{id}', undefined, { path: `/api/v1/api-keys/${k.id}` });
  await call('DELETE', '/api/v1/users/{id}', undefined, { path: `/api/v1/users/${user.id}` });

  // deletes
  await call('DELETE', '/api/v1/contacts/{id}', undefined, { path: `/api/v1/contacts/${taro.id}` });
  assertError(await call('GET', '/api/v1/contacts/{id}', undefined, { path: `/api/v1/contacts/${taro.id}` }), 404, 'not_found');
  await call('DELETE', '/api/v1/companies/{id}', undefined, { path: `/api/v1/companies/${co.id}` });
  await call('DELETE', '/api/v1/fields/{key}', undefined, { path: '/api/v1/fields/plan' });

  // errors that belong to no operation: 405 and 413 still use the Error schema
  const m = await srv.api('PUT', '/api/v1/contacts/1', {});
  assertError(m, 405, 'method_not_allowed');
  validateAgainst(schemaRef('Error'), m.json, '405');
  assert.ok(header(m, 'allow'), m.info);
  const big = await rawRequest(srv.url, {
    method: 'POST', path: '/api/v1/contacts',
    headers: { authorization: `Bearer ${srv.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email: uniqueEmail(), last_name: 'x'.repeat(1_100_000) }),
  });
  assertError(big, 413, 'body_too_large');
  conforms('POST', '/api/v1/contacts', big);
});
