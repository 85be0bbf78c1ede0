// import_export.test.mjs — black-box tests of CSV import (UTF-8 and Shift_JIS/CP932, header mapping, row errors) and export.

import assert from 'node:assert/strict';
import {
  assertError, assertKeys, before, countContacts, describe, expectStatus, listAll, parseCsv, sorted,
  startServer, test, toCp932,
} from './harness.mjs';

const IMPORT = '/api/v1/contacts/import';

function importCsv(s, body, { contentType = 'text/csv; charset=utf-8', map, key } = {}) {
  const q = map ? `?map=${encodeURIComponent(map)}` : '';
  const opts = { raw: body, headers: { 'content-type': contentType } };
  if (key !== undefined) opts.key = key;
  return s.api('POST', IMPORT + q, undefined, opts);
}

async function byEmail(s, email) {
  const found = await listAll(s, `/api/v1/contacts?email=${encodeURIComponent(email)}`);
  assert.equal(found.length, 1, `exactly one contact with email ${email}: ${JSON.stringify(found)}`);
  return found[0];
}

/** Assert an import result: counts and, for failures, [row, field] pairs (error text must be non-empty). */
function assertImport(res, created, updated, failures = []) {
  const body = expectStatus(res, 200);
  assertKeys(body, ['created', 'failed', 'updated'], { what: 'import result' });
  assert.equal(body.created, created, res.info);
  assert.equal(body.updated, updated, res.info);
  assert.deepEqual(body.failed.map((f) => [f.row, f.field]), failures, res.info);
  for (const f of body.failed) {
    assert.equal(typeof f.error, 'string', res.info);
    assert.ok(f.error.length > 0, res.info);
  }
  return body;
}

// Japanese Excel's "CSV" export: CP932 bytes, CRLF line ends. 髙 (U+9AD9, an IBM extension) exists only in CP932.
const SJIS_CSV = [
  '姓,名,メールアドレス,電話番号,会社名',
  '山田,太郎,taro@sjis.example,090-1234-5678,株式会社サンプル',
  '佐藤,花子,not-an-email,03-1234-5678,株式会社サンプル',
  '髙橋,一郎,ichiro@sjis.example,０９０－２２２２－３３３３,テスト商事',
  '',
].join('\r\n');

describe('CSV import', () => {
  test('cp932_encoder_produces_expected_bytes', () => {
    assert.deepEqual([...toCp932('山髙～')], [0x8e, 0x52, 0xfb, 0xfc, 0x81, 0x60]);
  });

  test('import_shift_jis_csv_creates_good_rows_and_reports_the_bad_row_number', async () => {
    const s = await startServer();
    const res = await importCsv(s, toCp932(SJIS_CSV), { contentType: 'text/csv; charset=shift_jis' });
    assertImport(res, 2, 0, [[3, 'email']]);
    const taro = await byEmail(s, 'taro@sjis.example');
    assert.equal(taro.last_name, '山田');
    assert.equal(taro.first_name, '太郎');
    assert.equal(taro.phone, '+819012345678');
    assert.equal(taro.company.name, '株式会社サンプル');
    const ichiro = await byEmail(s, 'ichiro@sjis.example');
    assert.equal(ichiro.last_name, '髙橋');
    assert.equal(ichiro.first_name, '一郎');
    assert.equal(ichiro.phone, '+819022223333');
    assert.equal(ichiro.company.name, 'テスト商事');
    assert.equal(await countContacts(s), 2);
    assert.deepEqual(await listAll(s, `/api/v1/contacts?q=${encodeURIComponent('花子')}`), []);
  });

  test('import_detects_cp932_without_charset_parameter', async () => {
    const s = await startServer();
    assertImport(await importCsv(s, toCp932(SJIS_CSV), { contentType: 'text/csv' }), 2, 0, [[3, 'email']]);
    assert.equal((await byEmail(s, 'ichiro@sjis.example')).last_name, '髙橋');
  });

  test('import_utf8_with_bom_recognises_the_first_header', async () => {
    const s = await startServer();
    const csv = '\uFEFFメールアドレス,姓,名\nbom1@example.com,山田,太郎\nbom2@example.com,Smith,John\n';
    assertImport(await importCsv(s, Buffer.from(csv, 'utf8'), { contentType: 'text/csv' }), 2, 0);
    const a = await byEmail(s, 'bom1@example.com');
    assert.equal(a.last_name, '山田');
    assert.equal(a.first_name, '太郎');
    assert.equal((await byEmail(s, 'bom2@example.com')).first_name, 'John');
  });

  test('import_recognises_english_headers', async () => {
    const s = await startServer();
    const csv = 'Email,Phone,Company\neng@example.com,090-1234-5678,Acme Corp\n';
    assertImport(await importCsv(s, csv), 1, 0);
    const c = await byEmail(s, 'eng@example.com');
    assert.equal(c.phone, '+819012345678');
    assert.equal(c.company.name, 'Acme Corp');
  });

  test('import_map_parameter_maps_other_headers', async () => {
    const s = await startServer();
    const csv = 'E-mail Address,Family,Given,携帯\nmapped@example.com,鈴木,次郎,080-9999-0000\n';
    const map = 'E-mail Address:email,Family:last_name,Given:first_name,携帯:phone';
    assertImport(await importCsv(s, csv, { map }), 1, 0);
    const c = await byEmail(s, 'mapped@example.com');
    assert.equal(c.last_name, '鈴木');
    assert.equal(c.first_name, '次郎');
    assert.equal(c.phone, '+818099990000');
  });

  test('import_shimei_column_splits_into_last_and_first_name', async () => {
    const s = await startServer();
    const csv = '氏名,メール\n山田 太郎,shimei1@example.com\n佐藤\u3000花子,shimei2@example.com\n';
    assertImport(await importCsv(s, csv), 2, 0);
    const a = await byEmail(s, 'shimei1@example.com');
    assert.deepEqual([a.last_name, a.first_name], ['山田', '太郎']);
    const b = await byEmail(s, 'shimei2@example.com');
    assert.deepEqual([b.last_name, b.first_name], ['佐藤', '花子']);
  });

  test('import_existing_email_counts_as_updated_with_upsert_rules', async () => {
    const s = await startServer();
    const old = expectStatus(await s.api('POST', '/api/v1/contacts',
      { email: 'existing@example.com', first_name: 'Old', last_name: 'Name', tags: ['api'], phone: '090-1111-2222' }), 201);
    const csv = 'メール,名\nEXISTING@example.com,New\nfresh@example.com,Fresh\n';
    assertImport(await importCsv(s, csv), 1, 1);
    const c = await byEmail(s, 'existing@example.com');
    assert.equal(c.id, old.id);
    assert.equal(c.first_name, 'New');
    assert.equal(c.last_name, 'Name');
    assert.equal(c.phone, '+819011112222');
    assert.deepEqual(c.tags, ['api']);
    assertImport(await importCsv(s, csv), 0, 2);
    assert.equal(await countContacts(s), 2);
  });

  test('import_row_numbers_count_spreadsheet_rows_not_lines', async () => {
    const s = await startServer();
    const csv = [
      'メール,電話,会社名',
      'ok1@rows.example,,"Multi',
      'Line KK"',
      'bad-email,,Foo',
      'ok2@rows.example,,"Comma, ""Quoted"" KK"',
      'badphone@rows.example,not a phone,Bar',
      '',
    ].join('\n');
    assertImport(await importCsv(s, csv), 2, 0, [[3, 'email'], [5, 'phone']]);
    // The quoted newline is kept by the CSV reader, then name cleansing folds it to a space.
    assert.equal((await byEmail(s, 'ok1@rows.example')).company.name, 'Multi Line KK');
    assert.equal((await byEmail(s, 'ok2@rows.example')).company.name, 'Comma, "Quoted" KK');
    assert.equal(await countContacts(s), 2);
  });

  test('import_header_only_creates_nothing', async () => {
    const s = await startServer();
    assertImport(await importCsv(s, 'メール,姓,名\r\n'), 0, 0);
    assert.equal(await countContacts(s), 0);
  });

  test('import_5000_rows', async () => {
    const s = await startServer();
    const lines = ['メール,姓,名,電話'];
    for (let i = 0; i < 5000; i++) {
      lines.push(`bulk${i}@example.com,山田,太郎${i},090-${String(1000 + (i % 9000)).padStart(4, '0')}-${String(i).padStart(4, '0')}`);
    }
    assertImport(await importCsv(s, `${lines.join('\n')}\n`), 5000, 0);
    assert.equal(await countContacts(s), 5000);
    assert.equal((await byEmail(s, 'bulk4999@example.com')).first_name, '太郎4999');
  });
});

describe('export', () => {
  let s;
  let contacts;
  before(async () => {
    s = await startServer();
    const bodies = [
      { email: 'ex1@example.com', first_name: '太郎', last_name: '山田', first_name_kana: 'タロウ', last_name_kana: 'ヤマダ',
        phone: '090-1234-5678', company: { name: 'Foo, "Bar" KK', domain: 'foo.example' }, tags: ['vip', 'seminar'] },
      { email: 'ex2@example.com', first_name: 'John', last_name: 'Smith', tags: [] },
      { email: 'ex3@example.com', first_name: '花子', last_name: '佐藤', company: { name: '株式会社サンプル' }, tags: ['x'] },
    ];
    contacts = [];
    for (const b of bodies) contacts.push(expectStatus(await s.api('POST', '/api/v1/contacts', b), 201));
  });

  test('export_jsonl_streams_every_contact_as_its_api_json', async () => {
    const res = await s.api('GET', '/api/v1/contacts/export?format=jsonl');
    assert.equal(res.status, 200, res.info);
    const lines = res.text.split('\n').filter((l) => l !== '');
    const rows = lines.map((l) => JSON.parse(l)).sort((a, b) => a.id - b.id);
    assert.deepEqual(rows, [...contacts].sort((a, b) => a.id - b.id));
  });

  test('export_csv_has_header_and_one_row_per_contact', async () => {
    const res = await s.api('GET', '/api/v1/contacts/export?format=csv');
    assert.equal(res.status, 200, res.info);
    assert.match(res.headers.get('content-type'), /^text\/csv/);
    const rows = parseCsv(res.text);
    assert.equal(rows.length, 1 + contacts.length, res.text);
    const header = rows[0].map((h) => h.toLowerCase());
    const emailCol = header.findIndex((h) => h === 'email' || h === 'メール' || h === 'メールアドレス');
    assert.ok(emailCol >= 0, `no email column in ${rows[0]}`);
    assert.deepEqual(rows.slice(1).map((r) => r[emailCol]).sort(), contacts.map((c) => c.email).sort());
    for (const r of rows.slice(1)) assert.equal(r.length, rows[0].length);
  });

  test('export_csv_round_trips_through_import', async () => {
    const csv = (await s.api('GET', '/api/v1/contacts/export?format=csv')).body;
    const t = await startServer();
    assertImport(await importCsv(t, csv, { contentType: 'text/csv; charset=utf-8' }), contacts.length, 0);
    const project = (c) => ({
      email: c.email, first_name: c.first_name, last_name: c.last_name, first_name_kana: c.first_name_kana,
      last_name_kana: c.last_name_kana, phone: c.phone, company: c.company && c.company.name, tags: sorted(c.tags),
    });
    const there = (await listAll(t, '/api/v1/contacts')).map(project).sort((a, b) => a.email.localeCompare(b.email));
    assert.deepEqual(there, contacts.map(project).sort((a, b) => a.email.localeCompare(b.email)));
  });

  test('export_unknown_format_is_400_invalid_parameter', async () => {
    assertError(await s.api('GET', '/api/v1/contacts/export?format=xml'), 400, 'invalid_parameter', 'format');
  });

  test('import_then_export_keeps_count', async () => {
    const r = await importCsv(s, 'メール\nex4@example.com\n');
    assertImport(r, 1, 0);
    const res = await s.api('GET', '/api/v1/contacts/export?format=jsonl');
    assert.equal(res.text.split('\n').filter((l) => l !== '').length, contacts.length + 1);
    const gone = await byEmail(s, 'ex4@example.com');
    assert.equal((await s.api('DELETE', `/api/v1/contacts/${gone.id}`)).status, 204);
  });
});
