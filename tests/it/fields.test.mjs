// fields.test.mjs — black-box tests of /api/v1/fields and of contact writes validated against custom field types.

import assert from 'node:assert/strict';
import {
  assertError, assertKeys, before, countContacts, describe, expectStatus, ISO_UTC, startServer, test,
  uniqueEmail,
} from './harness.mjs';

const FIELD_KEYS = ['created_at', 'id', 'key', 'label', 'options', 'type'];

let srv;
before(async () => {
  srv = await startServer();
});

async function define(s, body) {
  return expectStatus(await s.api('POST', '/api/v1/fields', body), 201);
}

describe('field definitions', () => {
  test('field_create_returns_201_with_documented_shape', async () => {
    const f = await define(srv, { key: 'plan', label: 'Plan', type: 'select', options: ['free', 'pro'] });
    assertKeys(f, FIELD_KEYS, { what: 'field' });
    assert.equal(Number.isInteger(f.id), true);
    assert.equal(f.key, 'plan');
    assert.equal(f.label, 'Plan');
    assert.equal(f.type, 'select');
    assert.deepEqual(f.options, ['free', 'pro']);
    assert.match(f.created_at, ISO_UTC);
    assert.deepEqual(expectStatus(await srv.api('GET', '/api/v1/fields/plan'), 200), f);
  });

  test('field_list_returns_every_definition', async () => {
    const f = await define(srv, { key: 'listed', label: 'Listed', type: 'text' });
    const body = expectStatus(await srv.api('GET', '/api/v1/fields'), 200);
    assert.ok(Array.isArray(body.data));
    assert.deepEqual(body.data.find((x) => x.key === 'listed'), f);
    assert.ok(body.data.some((x) => x.key === 'plan'));
  });

  test('field_duplicate_key_is_409_conflict', async () => {
    await define(srv, { key: 'dupkey', label: 'One', type: 'text' });
    const res = await srv.api('POST', '/api/v1/fields', { key: 'dupkey', label: 'Two', type: 'number' });
    assertError(res, 409, 'conflict', 'key');
    const f = expectStatus(await srv.api('GET', '/api/v1/fields/dupkey'), 200);
    assert.equal(f.label, 'One');
    assert.equal(f.type, 'text');
  });

  test('field_key_must_match_pattern', async () => {
    for (const key of ['Plan', '1plan', 'pl-an', '_plan', '', `a${'b'.repeat(63)}`, 'プラン']) {
      const res = await srv.api('POST', '/api/v1/fields', { key, label: 'X', type: 'text' });
      assertError(res, 422, 'invalid_field', 'key');
    }
    const longest = `a${'b'.repeat(62)}`;
    assert.equal((await define(srv, { key: longest, label: 'Long', type: 'text' })).key, longest);
    assertError(await srv.api('GET', '/api/v1/fields/Plan'), 404, 'not_found');
  });

  test('field_type_must_be_known', async () => {
    assertError(await srv.api('POST', '/api/v1/fields', { key: 'colour', label: 'C', type: 'color' }),
                422, 'invalid_field', 'type');
    assertError(await srv.api('GET', '/api/v1/fields/colour'), 404, 'not_found');
  });

  test('field_select_needs_options', async () => {
    assertError(await srv.api('POST', '/api/v1/fields', { key: 'noopts', label: 'N', type: 'select' }),
                422, 'invalid_field', 'options');
    assertError(await srv.api('POST', '/api/v1/fields', { key: 'noopts', label: 'N', type: 'multiselect', options: 'a' }),
                422, 'invalid_field', 'options');
  });

  test('field_patch_changes_label_and_options', async () => {
    await define(srv, { key: 'tier', label: 'Tier', type: 'select', options: ['a', 'b'] });
    const email = uniqueEmail('tier');
    assertError(await srv.api('POST', '/api/v1/contacts', { email, fields: { tier: 'c' } }), 422, 'invalid_field', 'fields.tier');
    const f = expectStatus(await srv.api('PATCH', '/api/v1/fields/tier', { label: 'Level', options: ['a', 'b', 'c'] }), 200);
    assert.equal(f.label, 'Level');
    assert.deepEqual(f.options, ['a', 'b', 'c']);
    assert.equal(f.key, 'tier');
    assert.equal(f.type, 'select');
    const c = expectStatus(await srv.api('POST', '/api/v1/contacts', { email, fields: { tier: 'c' } }), 201);
    assert.deepEqual(c.fields, { tier: 'c' });
  });

  test('field_delete_returns_204_then_404_and_values_become_unknown', async () => {
    await define(srv, { key: 'shortlived', label: 'S', type: 'text' });
    const del = await srv.api('DELETE', '/api/v1/fields/shortlived');
    assert.equal(del.status, 204, del.info);
    assertError(await srv.api('GET', '/api/v1/fields/shortlived'), 404, 'not_found');
    assertError(await srv.api('DELETE', '/api/v1/fields/shortlived'), 404, 'not_found');
    const res = await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('sl'), fields: { shortlived: 'x' } });
    assertError(res, 422, 'unknown_field', 'fields.shortlived');
  });

  test('field_unknown_key_is_404', async () => {
    assertError(await srv.api('GET', '/api/v1/fields/nosuchfield'), 404, 'not_found');
    assertError(await srv.api('PATCH', '/api/v1/fields/nosuchfield', { label: 'x' }), 404, 'not_found');
  });
});

describe('custom field values', () => {
  // type → [definition extras, [valid input, stored value]..., [invalid inputs]]
  const TYPES = {
    text: { def: {}, ok: [['hello', 'hello'], ['日本語テキスト', '日本語テキスト']], bad: [123, true, ['a'], { a: 1 }] },
    number: { def: {}, ok: [[120, 120], [1.5, 1.5], [-3, -3], [0, 0]], bad: ['120', 'abc', true, [1]] },
    date: {
      def: {},
      ok: [['2026-11-24', '2026-11-24'], ['2024-02-29', '2024-02-29']],
      bad: ['2026-13-01', '2026-02-30', '2025-02-29', '2026/11/24', '24-11-2026', '2026-11-24T10:00:00Z', 20261124, 'soon'],
    },
    datetime: {
      def: {},
      ok: [['2026-11-24T17:11:58Z', '2026-11-24T17:11:58Z']],
      bad: ['yesterday', '2026-11-24T25:00:00Z', '2026-13-24T10:00:00Z', 12345, true],
    },
    boolean: { def: {}, ok: [[true, true], [false, false]], bad: ['true', 1, 'yes', 0] },
    select: { def: { options: ['free', 'pro'] }, ok: [['pro', 'pro'], ['free', 'free']], bad: ['gold', 'Pro', ['pro'], 1] },
    multiselect: {
      def: { options: ['a', 'b', 'c'] },
      ok: [[['a', 'c'], ['a', 'c']], [[], []]],
      bad: ['a', ['a', 'z'], [1], { a: true }],
    },
    email: { def: {}, ok: [['info@example.com', 'info@example.com']], bad: ['not-an-email', 'a@@b.example', 5] },
    url: {
      def: {},
      ok: [['https://example.com/path?x=1', 'https://example.com/path?x=1'], ['http://example.jp', 'http://example.jp']],
      bad: ['not a url', 'example', 7],
    },
    phone: {
      def: {},
      ok: [['090-1234-5678', '+819012345678'], ['+81 3-1234-5678', '+81312345678']],
      bad: ['abc', '12', 5],
    },
  };

  let s;
  before(async () => {
    s = await startServer();
    for (const [type, { def }] of Object.entries(TYPES)) {
      await define(s, { key: `f_${type}`, label: type, type, ...def });
    }
  });

  for (const [type, { ok, bad }] of Object.entries(TYPES)) {
    test(`custom_field_${type}_accepts_valid_values`, async () => {
      for (const [input, stored] of ok) {
        const c = expectStatus(await s.api('POST', '/api/v1/contacts',
          { email: uniqueEmail(type), fields: { [`f_${type}`]: input } }), 201);
        assert.deepEqual(c.fields, { [`f_${type}`]: stored }, `input ${JSON.stringify(input)}`);
        const got = expectStatus(await s.api('GET', `/api/v1/contacts/${c.id}`), 200);
        assert.deepEqual(got.fields, { [`f_${type}`]: stored });
      }
    });

    test(`custom_field_${type}_rejects_invalid_values_with_422_naming_the_field`, async () => {
      const n = await countContacts(s);
      for (const input of bad) {
        const res = await s.api('POST', '/api/v1/contacts', { email: uniqueEmail(type), fields: { [`f_${type}`]: input } });
        assertError(res, 422, 'invalid_field', `fields.f_${type}`);
      }
      assert.equal(await countContacts(s), n);
    });
  }

  test('custom_field_invalid_value_in_patch_changes_nothing', async () => {
    const c = expectStatus(await s.api('POST', '/api/v1/contacts',
      { email: uniqueEmail('pv'), first_name: 'Keep', fields: { f_number: 1 } }), 201);
    const res = await s.api('PATCH', `/api/v1/contacts/${c.id}`, { first_name: 'Lost', fields: { f_number: 'two' } });
    assertError(res, 422, 'invalid_field', 'fields.f_number');
    assert.deepEqual(expectStatus(await s.api('GET', `/api/v1/contacts/${c.id}`), 200), c);
  });

  test('custom_field_undefined_key_is_422_unknown_field', async () => {
    const n = await countContacts(s);
    const res = await s.api('POST', '/api/v1/contacts', { email: uniqueEmail('uk'), fields: { nope: 1 } });
    assertError(res, 422, 'unknown_field', 'fields.nope');
    assert.equal(await countContacts(s), n);
  });

  test('custom_fields_must_be_an_object', async () => {
    const res = await s.api('POST', '/api/v1/contacts', { email: uniqueEmail('fo'), fields: ['f_text'] });
    assertError(res, 422, 'invalid_field', 'fields');
  });

  test('contact_upsert_merges_custom_fields_by_key', async () => {
    const email = uniqueEmail('merge');
    const a = expectStatus(await s.api('POST', '/api/v1/contacts',
      { email, fields: { f_select: 'pro', f_number: 120 } }), 201);
    const b = expectStatus(await s.api('POST', '/api/v1/contacts', { email, fields: { f_select: 'free' } }), 200);
    assert.equal(b.id, a.id);
    assert.deepEqual(b.fields, { f_select: 'free', f_number: 120 });
  });

  test('contact_patch_merges_custom_fields_by_key', async () => {
    const c = expectStatus(await s.api('POST', '/api/v1/contacts',
      { email: uniqueEmail('pm'), fields: { f_text: 'keep', f_boolean: false } }), 201);
    const after = expectStatus(await s.api('PATCH', `/api/v1/contacts/${c.id}`, { fields: { f_boolean: true } }), 200);
    assert.deepEqual(after.fields, { f_text: 'keep', f_boolean: true });
  });

  test('custom_field_definitions_listed_once_each', async () => {
    const keys = expectStatus(await s.api('GET', '/api/v1/fields'), 200).data.map((f) => f.key).sort();
    assert.deepEqual(keys, Object.keys(TYPES).map((t) => `f_${t}`).sort());
  });
});
