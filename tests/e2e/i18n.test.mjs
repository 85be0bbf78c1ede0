// i18n.test.mjs — Japanese and English: the browser's language picks the default, the header switches it.
import assert from 'node:assert/strict';
import { catalogue, createContact, exact, login, msg, startServer, test } from './browser.mjs';

const NAV_ITEMS = ['dashboard', 'contacts', 'companies', 'segments', 'emails', 'journeys', 'forms', 'reports', 'settings'];

/** The visible labels of the main navigation's links, in order. */
async function navLabels(page, lang) {
  const nav = page.getByRole('navigation', { name: msg(lang, 'nav.main') });
  await nav.waitFor();
  const out = [];
  for (const id of NAV_ITEMS) {
    const link = nav.getByTestId(`nav-${id}`);
    // the visible label, without the "Soon" badge of sections not built yet
    out.push((await link.locator('span').first().innerText()).trim());
  }
  return out;
}

const expected = (lang) => NAV_ITEMS.map((id) => msg(lang, `nav.${id}`));

test('browser_language_ja_gives_japanese_ui', { locale: 'ja-JP' }, async ({ page }) => {
  const s = await startServer();
  await page.goto(`${s.url}/`);
  // The login page is already Japanese, before anyone signs in.
  await page.getByRole('button', { name: msg('ja', 'auth.sign_in'), exact: true }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  assert.equal(await page.getByTestId('lang-ja').getAttribute('aria-pressed'), 'true');
  await login(page, s, s.admin.email, s.admin.password, { lang: 'ja' });
  assert.deepEqual(await navLabels(page, 'ja'), expected('ja'));
});

test('browser_language_en_gives_english_ui', { locale: 'en-US' }, async ({ page }) => {
  const s = await startServer();
  await page.goto(`${s.url}/`);
  await page.getByRole('button', { name: msg('en', 'auth.sign_in'), exact: true }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await login(page, s, s.admin.email, s.admin.password, { lang: 'en' });
  assert.deepEqual(await navLabels(page, 'en'), expected('en'));
});

test('header_switch_changes_language_and_is_remembered', { locale: 'en-US' }, async ({ page }) => {
  const s = await startServer();
  const c = await createContact(s, { email: 'taro@example.jp', last_name: '山田', first_name: '太郎' });
  await login(page, s, s.admin.email, s.admin.password, { lang: 'en' });
  await page.goto(`${s.url}/contacts/${c.id}`);
  await page.getByRole('heading', { name: msg('en', 'contact.profile') }).waitFor();

  await page.getByRole('group', { name: msg('en', 'common.language') }).getByRole('button', { name: '日本語' }).click();
  await page.getByRole('heading', { name: msg('ja', 'contact.profile') }).waitFor();
  assert.deepEqual(await navLabels(page, 'ja'), expected('ja'));
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  assert.match(page.url(), new RegExp(`/contacts/${c.id}$`), 'switching language keeps the page');
  assert.equal(await page.getByTestId('lang-ja').getAttribute('aria-pressed'), 'true');
  // Field labels on the page follow too.
  await page.getByText(exact(msg('ja', 'contact.last_name'))).first().waitFor();

  // The choice outlives a reload, even though the browser says English.
  await page.reload();
  assert.deepEqual(await navLabels(page, 'ja'), expected('ja'));

  await page.getByRole('group', { name: msg('ja', 'common.language') }).getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: msg('en', 'contact.profile') }).waitFor();
  assert.deepEqual(await navLabels(page, 'en'), expected('en'));
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
});

test('login_page_language_switch_works_before_sign_in', { locale: 'en-US' }, async ({ page }) => {
  const s = await startServer();
  await page.goto(`${s.url}/login`);
  await page.getByTestId('lang-ja').click();
  await page.getByRole('button', { name: msg('ja', 'auth.sign_in'), exact: true }).waitFor();
  await page.getByLabel(msg('ja', 'auth.email'), { exact: true }).waitFor();
  await login(page, s, s.admin.email, s.admin.password, { lang: 'ja' });
  assert.deepEqual(await navLabels(page, 'ja'), expected('ja'));
});

test('every_catalogue_key_exists_in_both_languages', async () => {
  // Not a browser check, but the guard that keeps the two catalogues in step.
  const flat = (o, p = '') => Object.entries(o).flatMap(([k, v]) =>
    (v && typeof v === 'object' && !('other' in v) ? flat(v, `${p}${k}.`) : [`${p}${k}`]));
  const en = new Set(flat(catalogue('en')));
  const ja = new Set(flat(catalogue('ja')));
  assert.deepEqual([...en].filter((k) => !ja.has(k)), [], 'keys in en.json missing from ja.json');
  assert.deepEqual([...ja].filter((k) => !en.has(k)), [], 'keys in ja.json missing from en.json');
});
