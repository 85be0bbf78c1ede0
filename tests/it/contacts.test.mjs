// contacts.test.mjs — black-box tests of /api/v1/contacts: CRUD, upsert, tags, paging, search, cleansing, merge, export, duplicates.

import assert from 'node:assert/strict';
import {
  assertError, assertKeys, before, countContacts, describe, expectStatus, ISO_UTC, listAll, sorted,
  startServer, test, toFullWidth, uniqueEmail,
} from './harness.mjs';

const CONTACT_KEYS = [
  'company', 'company_id', 'created_at', 'email', 'fields', 'first_name', 'first_name_kana', 'id',
  'last_name', 'last_name_kana', 'locale', 'owner', 'phone', 'tags', 'timezone', 'updated_at',
].sort();

async function create(srv, body, status = 201) {
  const res = await srv.api('POST', '/api/v1/contacts', body);
  return expectStatus(res, status);
}

async function get(srv, id) {
  return expectStatus(await srv.api('GET', `/api/v1/contacts/${id}`), 200);
}

/** Ids of the contacts a list query returns (all pages). */
async function ids(srv, query) {
  return (await listAll(srv, `/api/v1/contacts?${query}`)).map((c) => c.id).sort((a, b) => a - b);
}

let srv; // shared by the tests that use unique emails
before(async () => {
  srv = await startServer();
});

describe('contact create, read, update, delete', () => {
  test('contact_create_returns_201_with_documented_shape', async () => {
    const email = uniqueEmail('taro');
    const c = await create(srv, {
      email, first_name: '太郎', last_name: '山田', first_name_kana: 'タロウ', last_name_kana: 'ヤマダ',
      phone: '090-1234-5678', company: { name: '株式会社サンプル', domain: `${email.split('@')[0]}.co.jp` },
      tags: ['vip', 'seminar-2026'], timezone: 'Asia/Tokyo', locale: 'ja',
    });
    assertKeys(c, CONTACT_KEYS, { what: 'contact' });
    assert.equal(Number.isInteger(c.id), true);
    assert.equal(c.email, email);
    assert.equal(c.first_name, '太郎');
    assert.equal(c.last_name, '山田');
    assert.equal(c.first_name_kana, 'タロウ');
    assert.equal(c.last_name_kana, 'ヤマダ');
    assert.equal(c.phone, '+819012345678');
    assertKeys(c.company, ['domain', 'id', 'name'], { what: 'contact.company' });
    assert.equal(c.company.name, '株式会社サンプル');
    assert.equal(c.company_id, c.company.id);
    assert.deepEqual(sorted(c.tags), ['seminar-2026', 'vip']);
    assert.deepEqual(c.fields, {});
    assert.equal(c.owner, null);
    assert.equal(c.timezone, 'Asia/Tokyo');
    assert.equal(c.locale, 'ja');
    assert.match(c.created_at, ISO_UTC);
    assert.match(c.updated_at, ISO_UTC);
    assert.deepEqual(await get(srv, c.id), c);
  });

  test('contact_unset_values_are_null_empty_tags_and_fields', async () => {
    const email = uniqueEmail('bare');
    const c = await create(srv, { email });
    assert.deepEqual(
      { ...c, id: 0, created_at: '', updated_at: '' },
      {
        id: 0, email, first_name: null, last_name: null, first_name_kana: null, last_name_kana: null,
        phone: null, company: null, company_id: null, tags: [], fields: {}, owner: null,
        timezone: null, locale: null, created_at: '', updated_at: '',
        score: 0, scores: {}, stage: null, // the audience engine's (docs/filters.md)
      },
    );
  });

  test('contact_owner_is_a_user_id', async () => {
    const users = await listAll(srv, '/api/v1/users');
    const admin = users.find((u) => u.email === srv.admin.email);
    assert.ok(admin, `admin ${srv.admin.email} not in ${JSON.stringify(users)}`);
    const c = await create(srv, { email: uniqueEmail('owned'), owner: admin.id });
    assert.equal(c.owner, admin.id);
    assert.equal((await get(srv, c.id)).owner, admin.id);
  });

  test('contact_upsert_existing_email_returns_200_unions_tags_overwrites_given_keeps_others', async () => {
    const email = uniqueEmail('up');
    const first = await create(srv, {
      email, first_name: 'Taro', last_name: 'Yamada', phone: '090-1111-2222', tags: ['a', 'b'],
      locale: 'ja', timezone: 'Asia/Tokyo',
    });
    const second = await create(srv, { email, first_name: 'Tarou', tags: ['b', 'c'], locale: 'en' }, 200);
    assert.equal(second.id, first.id);
    assert.equal(second.first_name, 'Tarou');
    assert.equal(second.locale, 'en');
    assert.equal(second.last_name, 'Yamada');
    assert.equal(second.phone, '+819011112222');
    assert.equal(second.timezone, 'Asia/Tokyo');
    assert.deepEqual(sorted(second.tags), ['a', 'b', 'c']);
    assert.equal(second.created_at, first.created_at);
    assert.deepEqual(await get(srv, first.id), second);
    assert.deepEqual(await ids(srv, `email=${encodeURIComponent(email)}`), [first.id]);
  });

  test('contact_upsert_matches_the_normalized_email', async () => {
    const email = uniqueEmail('norm');
    const first = await create(srv, { email, first_name: 'A' });
    const again = await create(srv, { email: `  ${toFullWidth(email.toUpperCase())} `, last_name: 'B' }, 200);
    assert.equal(again.id, first.id);
    assert.equal(again.email, email);
    assert.equal(again.first_name, 'A');
    assert.equal(again.last_name, 'B');
  });

  test('contact_patch_updates_only_given_attributes', async () => {
    const before = await create(srv, {
      email: uniqueEmail('patch'), first_name: 'Hanako', last_name: 'Sato', phone: '03-1234-5678',
      tags: ['x'], locale: 'ja',
    });
    const res = await srv.api('PATCH', `/api/v1/contacts/${before.id}`, { first_name: 'Hana', timezone: 'Asia/Tokyo' });
    const after = expectStatus(res, 200);
    assert.deepEqual({ ...after, updated_at: null },
                     { ...before, first_name: 'Hana', timezone: 'Asia/Tokyo', updated_at: null });
    assert.deepEqual(await get(srv, before.id), after);
  });

  test('contact_patch_null_clears_an_attribute', async () => {
    const c = await create(srv, { email: uniqueEmail('clear'), phone: '090-1234-5678', locale: 'ja' });
    const after = expectStatus(await srv.api('PATCH', `/api/v1/contacts/${c.id}`, { phone: null }), 200);
    assert.equal(after.phone, null);
    assert.equal(after.locale, 'ja');
  });

  test('contact_patch_email_is_normalized', async () => {
    const c = await create(srv, { email: uniqueEmail('mail') });
    const next = uniqueEmail('mail2');
    const after = expectStatus(await srv.api('PATCH', `/api/v1/contacts/${c.id}`, { email: ` ${next.toUpperCase()} ` }), 200);
    assert.equal(after.email, next);
  });

  test('contact_patch_tags_add_and_remove', async () => {
    const c = await create(srv, { email: uniqueEmail('tags'), tags: ['a', 'b'] });
    const res = await srv.api('PATCH', `/api/v1/contacts/${c.id}`, { tags: { add: ['x', 'y', 'b'], remove: ['a', 'zzz'] } });
    assert.deepEqual(sorted(expectStatus(res, 200).tags), ['b', 'x', 'y']);
    assert.deepEqual(sorted((await get(srv, c.id)).tags), ['b', 'x', 'y']);
  });

  test('contact_patch_tags_array_replaces_all_tags', async () => {
    const c = await create(srv, { email: uniqueEmail('tagr'), tags: ['a', 'b'] });
    const res = await srv.api('PATCH', `/api/v1/contacts/${c.id}`, { tags: ['only'] });
    assert.deepEqual(expectStatus(res, 200).tags, ['only']);
  });

  test('contact_unknown_id_is_404_for_get_patch_delete', async () => {
    assertError(await srv.api('GET', '/api/v1/contacts/987654321'), 404, 'not_found');
    assertError(await srv.api('PATCH', '/api/v1/contacts/987654321', { first_name: 'x' }), 404, 'not_found');
    assertError(await srv.api('DELETE', '/api/v1/contacts/987654321'), 404, 'not_found');
  });

  test('contact_delete_returns_204_then_404', async () => {
    const email = uniqueEmail('del');
    const c = await create(srv, { email, tags: ['gone'] });
    const del = await srv.api('DELETE', `/api/v1/contacts/${c.id}`);
    assert.equal(del.status, 204, del.info);
    assert.equal(del.text, '');
    assertError(await srv.api('GET', `/api/v1/contacts/${c.id}`), 404, 'not_found');
    assertError(await srv.api('DELETE', `/api/v1/contacts/${c.id}`), 404, 'not_found');
    assert.deepEqual(await ids(srv, `email=${encodeURIComponent(email)}`), []);
  });
});

describe('contact list paging', () => {
  let s;
  let created;
  before(async () => {
    s = await startServer();
    created = [];
    for (let i = 0; i < 120; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, (_, j) =>
        create(s, { email: `page${String(i + j).padStart(3, '0')}@example.com`, first_name: `P${i + j}` })));
      created.push(...batch.map((c) => c.id));
    }
    created.sort((a, b) => a - b);
  });

  test('contact_list_keyset_paging_returns_all_120_once', async () => {
    const seen = [];
    let cursor = null;
    let pages = 0;
    do {
      const q = `/api/v1/contacts?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = expectStatus(await s.api('GET', q), 200);
      assert.deepEqual(Object.keys(page).sort(), ['data', 'next_cursor']);
      pages += 1;
      if (pages < 18) {
        assert.equal(page.data.length, 7, `page ${pages}`);
        assert.equal(typeof page.next_cursor, 'string');
      } else {
        assert.equal(page.data.length, 1, 'last page holds 120 - 17*7 = 1 contact');
        assert.equal(page.next_cursor, null);
      }
      seen.push(...page.data.map((c) => c.id));
      cursor = page.next_cursor;
    } while (cursor !== null && pages < 30);
    assert.equal(pages, 18);
    assert.equal(new Set(seen).size, seen.length, 'no contact twice');
    assert.deepEqual([...seen].sort((a, b) => a - b), created);
  });

  test('contact_list_default_limit_is_50', async () => {
    const page = expectStatus(await s.api('GET', '/api/v1/contacts'), 200);
    assert.equal(page.data.length, 50);
    assert.equal(typeof page.next_cursor, 'string');
  });

  test('contact_list_limit_500_returns_everything_without_cursor', async () => {
    const page = expectStatus(await s.api('GET', '/api/v1/contacts?limit=500'), 200);
    assert.equal(page.data.length, 120);
    assert.equal(page.next_cursor, null);
  });

  test('contact_list_bad_limit_is_400_invalid_parameter', async () => {
    assertError(await s.api('GET', '/api/v1/contacts?limit=abc'), 400, 'invalid_parameter', 'limit');
    assertError(await s.api('GET', '/api/v1/contacts?limit=-1'), 400, 'invalid_parameter', 'limit');
  });

  test('contact_list_bad_cursor_is_400_invalid_parameter', async () => {
    assertError(await s.api('GET', '/api/v1/contacts?cursor=%25%25not-a-cursor'), 400, 'invalid_parameter', 'cursor');
  });

  test('contact_list_paging_is_stable_when_rows_are_deleted_meanwhile', async () => {
    const first = expectStatus(await s.api('GET', '/api/v1/contacts?limit=20'), 200);
    const seen = first.data.map((c) => c.id);
    const all = await ids(s, '');
    const unseen = all.filter((id) => !seen.includes(id));
    // Delete one contact already returned and one not returned yet.
    const goneSeen = seen[5];
    const goneUnseen = unseen[10];
    assert.equal((await s.api('DELETE', `/api/v1/contacts/${goneSeen}`)).status, 204);
    assert.equal((await s.api('DELETE', `/api/v1/contacts/${goneUnseen}`)).status, 204);
    let cursor = first.next_cursor;
    while (cursor) {
      const page = expectStatus(await s.api('GET', `/api/v1/contacts?limit=20&cursor=${encodeURIComponent(cursor)}`), 200);
      seen.push(...page.data.map((c) => c.id));
      cursor = page.next_cursor;
    }
    assert.equal(new Set(seen).size, seen.length, 'no contact twice');
    assert.deepEqual([...seen].sort((a, b) => a - b), all.filter((id) => id !== goneUnseen));
  });
});

describe('contact search and filters', () => {
  let s;
  let yamada;
  let smith;
  let sato;
  let acme;
  before(async () => {
    s = await startServer();
    yamada = await create(s, {
      email: 'taro@yamada.example', first_name: '太郎', last_name: '山田', first_name_kana: 'タロウ',
      last_name_kana: 'ヤマダ', company: { name: '株式会社サンプル', domain: 'sample.co.jp' }, tags: ['vip'],
    });
    smith = await create(s, {
      email: 'john.smith@acme.example', first_name: 'John', last_name: 'Smith',
      company: { name: 'Acme Corp', domain: 'acme.example' }, tags: ['vip', 'en'],
    });
    sato = await create(s, {
      email: 'hanako@sato.example', first_name: '花子', last_name: '佐藤', first_name_kana: 'ハナコ',
      last_name_kana: 'サトウ', tags: ['seminar'],
    });
    acme = smith.company_id;
  });

  const q = (text) => `q=${encodeURIComponent(text)}`;

  test('contact_search_matches_name', async () => {
    assert.deepEqual(await ids(s, q('山田')), [yamada.id]);
    assert.deepEqual(await ids(s, q('花子')), [sato.id]);
    assert.deepEqual(await ids(s, q('smith')), [smith.id]);
    assert.deepEqual(await ids(s, q('JOHN')), [smith.id]);
  });

  test('contact_search_matches_kana_ignoring_hiragana_katakana_and_width', async () => {
    assert.deepEqual(await ids(s, q('ヤマダ')), [yamada.id]);
    assert.deepEqual(await ids(s, q('やまだ')), [yamada.id]);
    assert.deepEqual(await ids(s, q('ﾔﾏﾀﾞ')), [yamada.id]);
    assert.deepEqual(await ids(s, q('はなこ')), [sato.id]);
  });

  test('contact_search_matches_email_case_insensitively', async () => {
    assert.deepEqual(await ids(s, q('hanako@SATO.example')), [sato.id]);
    assert.deepEqual(await ids(s, q('acme.example')), [smith.id]);
  });

  test('contact_search_matches_company_name', async () => {
    assert.deepEqual(await ids(s, q('サンプル')), [yamada.id]);
    assert.deepEqual(await ids(s, q('acme corp')), [smith.id]);
  });

  test('contact_search_treats_wildcards_and_quotes_literally', async () => {
    for (const text of ['%', '_', '%%', "' OR '1'='1", '\\', '*']) {
      const res = await s.api('GET', `/api/v1/contacts?${q(text)}`);
      assert.deepEqual(expectStatus(res, 200), { data: [], next_cursor: null }, `q=${text}`);
    }
    assert.deepEqual(await ids(s, q('taro@yamada')), [yamada.id]);
  });

  test('contact_search_without_match_is_empty', async () => {
    const page = expectStatus(await s.api('GET', `/api/v1/contacts?${q('zzz-no-such-person')}`), 200);
    assert.deepEqual(page, { data: [], next_cursor: null });
  });

  test('contact_filter_email_is_exact_after_normalization', async () => {
    assert.deepEqual(await ids(s, `email=${encodeURIComponent('TARO@Yamada.Example')}`), [yamada.id]);
    assert.deepEqual(await ids(s, `email=${encodeURIComponent(toFullWidth('taro@yamada.example'))}`), [yamada.id]);
    assert.deepEqual(await ids(s, `email=${encodeURIComponent('taro@yamada.exampl')}`), []);
  });

  test('contact_filter_by_tag', async () => {
    assert.deepEqual(await ids(s, 'tag=vip'), [yamada.id, smith.id].sort((a, b) => a - b));
    assert.deepEqual(await ids(s, 'tag=seminar'), [sato.id]);
    assert.deepEqual(await ids(s, 'tag=nobody'), []);
  });

  test('contact_filter_by_company_id', async () => {
    assert.deepEqual(await ids(s, `company_id=${acme}`), [smith.id]);
    assert.deepEqual(await ids(s, `company_id=${yamada.company_id}`), [yamada.id]);
  });

  test('contact_list_items_equal_single_get', async () => {
    const list = await listAll(s, '/api/v1/contacts');
    for (const c of list) assert.deepEqual(c, await get(s, c.id));
  });
});

describe('contact cleansing', () => {
  test('contact_full_width_email_is_nfkc_trimmed_and_lowercased', async () => {
    const email = uniqueEmail('fw');
    const c = await create(srv, { email: `\u3000 ${toFullWidth(email.toUpperCase())}\t` });
    assert.equal(c.email, email);
  });

  test('contact_jp_phone_numbers_become_e164', async () => {
    const cases = [
      ['090-1234-5678', '+819012345678'],
      ['09012345678', '+819012345678'],
      ['０９０－１２３４－５６７８', '+819012345678'],
      ['+81 90-1234-5678', '+819012345678'],
      ['03-1234-5678', '+81312345678'],
      ['(03) 1234-5678', '+81312345678'],
    ];
    for (const [input, want] of cases) {
      const c = await create(srv, { email: uniqueEmail('tel'), phone: input });
      assert.equal(c.phone, want, `phone ${input}`);
    }
  });

  test('contact_phone_uses_configured_default_country', async () => {
    const us = await startServer({ env: { KIZUNA_DEFAULT_COUNTRY: 'US' } });
    const a = await create(us, { email: uniqueEmail('us'), phone: '(415) 555-2671' });
    assert.equal(a.phone, '+14155552671');
    const b = await create(us, { email: uniqueEmail('jp'), phone: '+81 90 1234 5678' });
    assert.equal(b.phone, '+819012345678');
  });

  test('contact_names_are_trimmed_and_full_width_spaces_folded', async () => {
    const c = await create(srv, {
      email: uniqueEmail('name'), last_name: '\u3000山田\u3000', first_name: ' Mary\u3000Ann ',
      last_name_kana: ' ヤマダ\u3000',
    });
    assert.equal(c.last_name, '山田');
    assert.equal(c.first_name, 'Mary Ann');
    assert.equal(c.last_name_kana, 'ヤマダ');
  });

  test('contact_half_width_katakana_kana_is_stored_full_width', async () => {
    const c = await create(srv, { email: uniqueEmail('kana'), first_name_kana: 'ﾀﾛｳ', last_name_kana: 'ﾔﾏﾀﾞ' });
    assert.equal(c.first_name_kana, 'タロウ');
    assert.equal(c.last_name_kana, 'ヤマダ');
  });

  test('contact_invalid_email_is_422_and_creates_nothing', async () => {
    const n = await countContacts(srv);
    for (const email of ['not-an-email', 'taro@@example.jp', 'taro@', '@example.jp', 'ta ro@example.jp']) {
      assertError(await srv.api('POST', '/api/v1/contacts', { email }), 422, 'invalid_field', 'email');
    }
    assert.equal(await countContacts(srv), n);
  });

  test('contact_invalid_phone_is_422_and_creates_nothing', async () => {
    const n = await countContacts(srv);
    for (const phone of ['abc', '12', '090-1234-5678-9999-0000']) {
      const res = await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('badtel'), phone });
      assertError(res, 422, 'invalid_field', 'phone');
    }
    assert.equal(await countContacts(srv), n);
  });
});

describe('contact merge, export and duplicates', () => {
  let s;
  before(async () => {
    s = await startServer();
    for (const f of [
      { key: 'plan', label: 'Plan', type: 'select', options: ['free', 'pro'] },
      { key: 'employees', label: 'Employees', type: 'number' },
    ]) {
      expectStatus(await s.api('POST', '/api/v1/fields', f), 201);
    }
  });

  test('contact_merge_unions_tags_into_wins_and_from_is_gone', async () => {
    const into = await create(s, {
      email: uniqueEmail('into'), first_name: 'Taro', tags: ['a', 'b'], fields: { plan: 'pro' },
    });
    const from = await create(s, {
      email: uniqueEmail('from'), first_name: 'Tarou', last_name: 'Yamada', phone: '090-2222-3333',
      tags: ['b', 'c'], fields: { plan: 'free', employees: 5 },
    });
    const res = await s.api('POST', '/api/v1/contacts/merge', { into: into.id, from: from.id });
    const m = expectStatus(res, 200);
    assert.equal(m.id, into.id);
    assert.equal(m.email, into.email);
    assert.equal(m.first_name, 'Taro');
    assert.equal(m.last_name, 'Yamada');
    assert.equal(m.phone, '+819022223333');
    assert.deepEqual(sorted(m.tags), ['a', 'b', 'c']);
    assert.deepEqual(m.fields, { plan: 'pro', employees: 5 });
    assert.deepEqual(await get(s, into.id), m);
    assertError(await s.api('GET', `/api/v1/contacts/${from.id}`), 404, 'not_found');
    assert.deepEqual(await ids(s, 'tag=c'), [into.id]);
  });

  test('contact_merge_with_unknown_contact_is_404_and_changes_nothing', async () => {
    const into = await create(s, { email: uniqueEmail('solo'), tags: ['t'] });
    const res = await s.api('POST', '/api/v1/contacts/merge', { into: into.id, from: 987654321 });
    assertError(res, 404, 'not_found');
    assert.deepEqual(await get(s, into.id), into);
    assertError(await s.api('POST', '/api/v1/contacts/merge', { into: 987654321, from: into.id }), 404, 'not_found');
    assert.deepEqual(await get(s, into.id), into);
  });

  test('contact_merge_requires_into_and_from', async () => {
    const c = await create(s, { email: uniqueEmail('half') });
    assertError(await s.api('POST', '/api/v1/contacts/merge', { into: c.id }), 422, 'invalid_field', 'from');
    assertError(await s.api('POST', '/api/v1/contacts/merge', { from: c.id }), 422, 'invalid_field', 'into');
    assertError(await s.api('POST', '/api/v1/contacts/merge', { into: c.id, from: c.id }), 422, 'invalid_field');
    assert.deepEqual(await get(s, c.id), c);
  });

  test('contact_export_returns_contact_and_company', async () => {
    const c = await create(s, {
      email: uniqueEmail('gdpr'), first_name: '一郎', company: { name: 'Export KK', domain: 'export.example' },
      tags: ['t1'], fields: { plan: 'pro' },
    });
    const x = expectStatus(await s.api('GET', `/api/v1/contacts/${c.id}/export`), 200);
    assert.deepEqual(x.contact, c);
    const company = expectStatus(await s.api('GET', `/api/v1/companies/${c.company_id}`), 200);
    assert.deepEqual(x.company, company);
  });

  test('contact_export_without_company_has_null_company', async () => {
    const c = await create(s, { email: uniqueEmail('nocomp') });
    const x = expectStatus(await s.api('GET', `/api/v1/contacts/${c.id}/export`), 200);
    assert.deepEqual(x.contact, c);
    assert.equal(x.company, null);
  });

  test('contact_export_of_unknown_contact_is_404', async () => {
    assertError(await s.api('GET', '/api/v1/contacts/987654321/export'), 404, 'not_found');
  });
});

describe('contact duplicates and delete cascade', () => {
  let s;
  let p1;
  let p2;
  let n1;
  let n2;
  let lone;
  before(async () => {
    s = await startServer();
    p1 = await create(s, { email: 'p1@dup.example', first_name: 'Ichiro', last_name: 'Suzuki', phone: '090-5555-0001' });
    p2 = await create(s, { email: 'p2@dup.example', first_name: 'Jiro', last_name: 'Tanaka', phone: '09055550001' });
    n1 = await create(s, { email: 'n1@dup.example', first_name: '花子', last_name: '佐藤', company: { name: 'Dup KK' } });
    n2 = await create(s, { email: 'n2@dup.example', first_name: '花子', last_name: '佐藤', company: { name: 'Dup KK' } });
    lone = await create(s, { email: 'lone@dup.example', first_name: '花子', last_name: '佐藤', phone: '090-5555-0002' });
  });

  const groups = async () => {
    const body = expectStatus(await s.api('GET', '/api/v1/contacts/duplicates'), 200);
    assert.ok(Array.isArray(body.data), JSON.stringify(body));
    return body.data.map((g) => ({ reason: g.reason, ids: g.contacts.map((c) => c.id).sort((a, b) => a - b) }))
      .sort((a, b) => a.reason.localeCompare(b.reason));
  };

  test('contact_duplicates_lists_same_phone_and_same_name_and_company', async () => {
    const body = expectStatus(await s.api('GET', '/api/v1/contacts/duplicates'), 200);
    for (const g of body.data) for (const c of g.contacts) assert.deepEqual(c, await get(s, c.id));
    assert.deepEqual(await groups(), [
      { reason: 'name_company', ids: [n1.id, n2.id].sort((a, b) => a - b) },
      { reason: 'phone', ids: [p1.id, p2.id].sort((a, b) => a - b) },
    ]);
    assert.ok(!(await groups()).some((g) => g.ids.includes(lone.id)));
  });

  test('contact_delete_erases_tags_fields_and_duplicate_entries', async () => {
    const tagged = await create(s, { email: 'gone@dup.example', tags: ['only-gone'], phone: '090-5555-0001' });
    assert.deepEqual(await ids(s, 'tag=only-gone'), [tagged.id]);
    assert.equal((await s.api('DELETE', `/api/v1/contacts/${tagged.id}`)).status, 204);
    assert.equal((await s.api('DELETE', `/api/v1/contacts/${p2.id}`)).status, 204);
    assert.deepEqual(await ids(s, 'tag=only-gone'), []);
    assertError(await s.api('GET', `/api/v1/contacts/${tagged.id}/export`), 404, 'not_found');
    assert.deepEqual(await groups(), [{ reason: 'name_company', ids: [n1.id, n2.id].sort((a, b) => a - b) }]);
    // The same email now makes a brand-new person with none of the old data.
    const again = await create(s, { email: 'gone@dup.example' });
    assert.notEqual(again.id, tagged.id);
    assert.deepEqual(again.tags, []);
    assert.equal(again.phone, null);
    // The company outlives its contacts.
    expectStatus(await s.api('GET', `/api/v1/companies/${n1.company_id}`), 200);
  });
});
