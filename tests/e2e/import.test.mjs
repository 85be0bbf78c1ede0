// import.test.mjs — the CSV import wizard with a Shift_JIS (CP932) file from Excel that has one bad row.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createContact, expectCount, expectText, login, msg, startServer, test } from './browser.mjs';

// Row numbers are a spreadsheet's: the header is row 1, so 鈴木 (bad email) is row 4.
const CSV_UTF8 = [
  '姓,名,セイ,メイ,メールアドレス,電話番号,会社名',
  '山田,太郎,ヤマダ,タロウ,taro.yamada@example.jp,090-1234-5678,株式会社サンプル',
  '佐藤,花子,サトウ,ハナコ,hanako.sato@example.jp,03-1234-5678,サンプル商事',
  '鈴木,一郎,スズキ,イチロウ,not-an-email,,',
  '髙橋,美咲,タカハシ,ミサキ,misaki@example.jp,,株式会社サンプル', // 髙: a CP932-only (IBM extension) kanji
  '',
].join('\r\n');
const BAD_ROW = 4;

/** The CSV as Excel in Japan saves it: CP932 bytes, made by iconv. */
function shiftJis(text) {
  return execFileSync('iconv', ['-f', 'UTF-8', '-t', 'CP932'], { input: Buffer.from(text, 'utf8') });
}

async function openWizard(page, s, lang) {
  await login(page, s, s.admin.email, s.admin.password, { lang });
  await page.goto(`${s.url}/contacts`);
  await page.getByRole('link', { name: msg(lang, 'contacts.import'), exact: true }).click();
  await page.waitForURL(/\/import$/);
  await page.getByRole('heading', { name: msg(lang, 'import.drop_title') }).waitFor();
}

for (const lang of ['en', 'ja']) {
  test(`import_wizard_shift_jis_file_with_a_bad_row_${lang}`, { locale: lang === 'ja' ? 'ja-JP' : 'en-US' }, async ({ page }) => {
    const s = await startServer();
    // One person exists already: the import updates them (matched by email) instead of duplicating.
    await createContact(s, { email: 'hanako.sato@example.jp', last_name: '佐藤', tags: ['existing'] });
    const bytes = shiftJis(CSV_UTF8);
    assert.notDeepEqual(bytes, Buffer.from(CSV_UTF8, 'utf8'), 'iconv produced Shift_JIS bytes');

    await openWizard(page, s, lang);
    // Step 1: choose the file.
    await page.getByLabel(msg(lang, 'import.choose'), { exact: true })
      .setInputFiles({ name: '展示会名刺.csv', mimeType: 'text/csv', buffer: bytes });

    // Step 2: the file was read as Shift_JIS and previewed readably; columns were guessed.
    await page.getByTestId('import-step-map').waitFor();
    await expectText(page.getByTestId('import-detected'), msg(lang, 'import.detected', { enc: 'Shift_JIS' }));
    assert.equal(await page.getByLabel(msg(lang, 'import.encoding'), { exact: true }).inputValue(), 'shift_jis');
    const preview = page.getByTestId('import-preview');
    await preview.getByRole('cell', { name: '山田', exact: true }).waitFor();
    await preview.getByRole('cell', { name: '髙橋', exact: true }).waitFor();
    await preview.getByRole('columnheader', { name: 'メールアドレス' }).waitFor();
    await expectText(page.getByTestId('import-file-info'), new RegExp(`${4}`));
    const mapping = {
      '姓': 'last_name', '名': 'first_name', 'セイ': 'last_name_kana', 'メイ': 'first_name_kana',
      'メールアドレス': 'email', '電話番号': 'phone', '会社名': 'company',
    };
    for (const [column, target] of Object.entries(mapping)) {
      const select = page.getByRole('combobox', { name: column, exact: true });
      assert.equal(await select.inputValue(), target, `column ${column} is guessed as ${target}`);
    }

    // Step 3: run.
    await page.getByRole('button', { name: msg(lang, 'import.run', { n: 4 }) }).click();

    // Step 4: 2 created, 1 updated, 1 failed — with the row number and the reason.
    const result = page.getByTestId('import-step-result');
    await result.waitFor({ timeout: 30_000 });
    await expectText(result.getByRole('heading', { level: 2 }), msg(lang, 'import.result_partial'));
    await expectText(page.getByTestId('import-created'), '2');
    await expectText(page.getByTestId('import-updated'), '1');
    await expectText(page.getByTestId('import-failed'), '1');
    const failedRows = page.getByTestId('import-failed-row');
    await expectCount(failedRows, 1);
    const cells = failedRows.first().getByRole('cell');
    await expectText(cells.nth(0), String(BAD_ROW));
    await expectText(cells.nth(1), 'email');
    await expectText(failedRows.first(), /not a valid address/);
    await expectText(failedRows.first(), /鈴木/);

    // The skipped rows download as a CSV someone can fix and import again.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: msg(lang, 'import.download_failed') }).click(),
    ]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const raw = readFileSync(await download.path(), 'utf8');
    assert.ok(raw.startsWith('\uFEFF'), 'UTF-8 with a BOM, so Excel in Japan opens it without mojibake');
    const csv = raw.slice(1);
    const lines = csv.trim().split(/\r?\n/);
    assert.equal(lines.length, 2, `header + one skipped row:\n${csv}`);
    assert.match(lines[0], /^姓,名,セイ,メイ,メールアドレス,電話番号,会社名,/);
    assert.match(lines[1], /^鈴木,一郎,スズキ,イチロウ,not-an-email,,,/);
    assert.match(lines[1], new RegExp(`,${BAD_ROW},`));

    // What the server stored: names decoded from Shift_JIS, phone normalised, the update merged.
    const all = (await s.api('GET', '/api/v1/contacts?limit=100')).json.data;
    assert.equal(all.length, 3, JSON.stringify(all));
    const byEmail = Object.fromEntries(all.map((c) => [c.email, c]));
    assert.equal(byEmail['taro.yamada@example.jp'].last_name, '山田');
    assert.equal(byEmail['taro.yamada@example.jp'].first_name_kana, 'タロウ');
    assert.equal(byEmail['taro.yamada@example.jp'].phone, '+819012345678');
    assert.equal(byEmail['taro.yamada@example.jp'].company.name, '株式会社サンプル');
    assert.equal(byEmail['misaki@example.jp'].last_name, '髙橋');
    assert.equal(byEmail['hanako.sato@example.jp'].first_name, '花子');
    assert.deepEqual(byEmail['hanako.sato@example.jp'].tags, ['existing']);

    // "View contacts" shows the imported people.
    await page.getByRole('link', { name: msg(lang, 'import.view_contacts') }).click();
    await page.waitForURL(/\/contacts\?sort=-updated_at$/);
    await expectCount(page.getByTestId('contact-row'), 3);
  });
}

test('import_wizard_can_change_a_mapping_and_go_back', async ({ page }) => {
  const s = await startServer();
  const csv = 'Email,Full Name,Memo\r\nemily@acme.example.com,Emily Smith,met at the booth\r\n';
  await openWizard(page, s, 'en');
  await page.getByLabel(msg('en', 'import.choose'), { exact: true })
    .setInputFiles({ name: 'leads.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
  await page.getByTestId('import-step-map').waitFor();
  await expectText(page.getByTestId('import-detected'), msg('en', 'import.detected', { enc: 'UTF-8' }));
  assert.equal(await page.getByRole('combobox', { name: 'Email', exact: true }).inputValue(), 'email');
  assert.equal(await page.getByRole('combobox', { name: 'Memo', exact: true }).inputValue(), 'ignore');
  // Back returns to step 1; choosing the file again keeps working.
  await page.getByRole('button', { name: msg('en', 'import.back') }).click();
  await page.getByTestId('import-step-upload').waitFor();
  await page.getByLabel(msg('en', 'import.choose'), { exact: true })
    .setInputFiles({ name: 'leads.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
  await page.getByRole('combobox', { name: 'Full Name', exact: true }).selectOption('name');
  await page.getByRole('button', { name: msg('en', 'import.run', { n: 1 }) }).click();
  await page.getByTestId('import-step-result').waitFor({ timeout: 30_000 });
  await expectText(page.getByTestId('import-created'), '1');
  await expectText(page.getByTestId('import-failed'), '0');
  const c = (await s.api('GET', '/api/v1/contacts')).json.data[0];
  assert.equal(c.email, 'emily@acme.example.com');
  assert.equal(`${c.first_name} ${c.last_name}`, 'Emily Smith');
});
