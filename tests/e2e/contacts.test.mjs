// contacts.test.mjs — a contact's life in the UI: create, find (search as you type, kana), edit in place, delete.
import assert from 'node:assert/strict';
import {
  createContact, exact, expectCount, expectText, login, msg, startServer, test,
} from './browser.mjs';

const L = 'en';

async function signedIn(page) {
  const s = await startServer();
  await login(page, s, s.admin.email, s.admin.password, { lang: L });
  return s;
}

/** The seeded people for the search tests. */
async function seedPeople(s) {
  return {
    yamada: await createContact(s, { email: 'taro.yamada@example.jp', last_name: '山田', first_name: '太郎', last_name_kana: 'ヤマダ', first_name_kana: 'タロウ' }),
    yamamoto: await createContact(s, { email: 'hanako@midori.example.jp', last_name: '山本', first_name: '花子', last_name_kana: 'ヤマモト', first_name_kana: 'ハナコ' }),
    suzuki: await createContact(s, { email: 'ichiro.suzuki@example.jp', last_name: '鈴木', first_name: '一郎', last_name_kana: 'スズキ', first_name_kana: 'イチロウ' }),
    smith: await createContact(s, { email: 'emily@acme.example.com', first_name: 'Emily', last_name: 'Smith', company: { name: 'Acme Analytics' } }),
  };
}

const rows = (page) => page.getByTestId('contact-row');

test('create_contact_from_the_list', async ({ page }) => {
  const s = await signedIn(page);
  await page.getByRole('navigation', { name: msg(L, 'nav.main') }).getByRole('link', { name: msg(L, 'nav.contacts') }).click();
  await page.getByRole('heading', { name: msg(L, 'nav.contacts'), level: 1 }).waitFor();
  await page.getByTestId('contacts-empty').waitFor(); // a fresh workspace says what to do
  await page.getByRole('button', { name: msg(L, 'contacts.new') }).first().click();

  const dialog = page.getByRole('dialog', { name: msg(L, 'contacts.new_title') });
  await dialog.waitFor();
  await dialog.getByLabel(msg(L, 'contact.email'), { exact: true }).fill('taro.yamada@example.jp');
  await dialog.getByLabel(msg(L, 'contact.last_name'), { exact: true }).fill('山田');
  await dialog.getByLabel(msg(L, 'contact.first_name'), { exact: true }).fill('太郎');
  await dialog.getByLabel(msg(L, 'contact.last_name_kana'), { exact: true }).fill('ヤマダ');
  await dialog.getByLabel(msg(L, 'contact.first_name_kana'), { exact: true }).fill('タロウ');
  await dialog.getByLabel(msg(L, 'contact.phone'), { exact: true }).fill('090-1234-5678');
  await dialog.getByLabel(msg(L, 'contact.company'), { exact: true }).fill('株式会社サンプル');
  await dialog.getByRole('button', { name: msg(L, 'contacts.create') }).click();

  await page.waitForURL(/\/contacts\/\d+$/);
  await expectText(page.getByTestId('contact-name'), '山田 太郎');
  await page.getByRole('status').getByText(msg(L, 'contacts.created', { name: '山田 太郎' })).waitFor();
  const id = Number(page.url().match(/\/contacts\/(\d+)$/)[1]);
  const r = await s.api('GET', `/api/v1/contacts/${id}`);
  assert.equal(r.status, 200, r.info);
  assert.equal(r.json.email, 'taro.yamada@example.jp');
  assert.equal(r.json.last_name_kana, 'ヤマダ');
  assert.equal(r.json.phone, '+819012345678', 'the phone is stored in E.164');
  assert.equal(r.json.company && r.json.company.name, '株式会社サンプル');

  // The list shows the new contact.
  await page.goto(`${s.url}/contacts`);
  await expectCount(rows(page), 1);
  await rows(page).getByRole('link', { name: '山田 太郎' }).waitFor();
});

test('create_contact_rejects_a_duplicate_email_in_the_dialog', async ({ page }) => {
  const s = await signedIn(page);
  await createContact(s, { email: 'taken@example.jp', last_name: '田中' });
  await page.goto(`${s.url}/contacts`);
  await page.getByRole('button', { name: msg(L, 'contacts.new') }).first().click();
  const dialog = page.getByRole('dialog', { name: msg(L, 'contacts.new_title') });
  await dialog.getByLabel(msg(L, 'contact.email'), { exact: true }).fill('taken@example.jp');
  await dialog.getByRole('button', { name: msg(L, 'contacts.create') }).click();
  await dialog.getByText(msg(L, 'contacts.email_taken', { name: '田中' })).waitFor();
  assert.equal((await s.api('GET', '/api/v1/contacts')).json.data.length, 1, 'nothing was created');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
});

test('search_as_you_type_finds_by_kana_email_and_company', async ({ page }) => {
  const s = await signedIn(page);
  const p = await seedPeople(s);
  await page.goto(`${s.url}/contacts`);
  await expectCount(rows(page), 4);
  const search = page.getByRole('searchbox', { name: msg(L, 'contacts.search_label') });

  // Hiragana typed one key at a time finds the katakana reading, narrowing as we type; no Enter.
  await search.pressSequentially('やま', { delay: 60 });
  await expectCount(rows(page), 2, { what: 'rows for やま' });
  await search.pressSequentially('だ', { delay: 60 });
  await expectCount(rows(page), 1, { what: 'rows for やまだ' });
  await rows(page).getByRole('link', { name: '山田 太郎' }).waitFor();
  assert.equal(new URL(page.url()).searchParams.get('q'), 'やまだ', 'the query is kept in the URL');

  // The URL restores the search (a shared link, a reload).
  await page.reload();
  assert.equal(await search.inputValue(), 'やまだ');
  await expectCount(rows(page), 1);

  await search.fill('acme');
  await expectCount(rows(page), 1, { what: 'rows for a company name' });
  await rows(page).getByRole('link', { name: 'Emily Smith' }).waitFor();

  await search.fill('ichiro.suzuki@');
  await expectCount(rows(page), 1, { what: 'rows for an email' });
  await page.locator(`[data-testid="contact-row"][data-id="${p.suzuki.id}"]`).waitFor();

  await search.fill('存在しない名前');
  await page.getByTestId('contacts-no-results').getByText(msg(L, 'contacts.no_results')).waitFor();
  await expectCount(rows(page), 0);

  // Escape clears the search and brings everyone back.
  await search.press('Escape');
  await expectCount(rows(page), 4);
  assert.equal(new URL(page.url()).searchParams.get('q'), null);
});

test('edit_contact_inline', async ({ page }) => {
  const s = await signedIn(page);
  const c = await createContact(s, { email: 'taro@example.jp', last_name: '山田', first_name: '太郎', last_name_kana: 'ヤマダ' });
  await page.goto(`${s.url}/contacts/${c.id}`);
  await expectText(page.getByTestId('contact-name'), '山田 太郎');

  const editBtn = (labelKey) => page.getByRole('button', { name: `${msg(L, 'common.edit')}: ${msg(L, labelKey)}`, exact: true });

  // Click the value, type, Enter: saved, shown, and in the database.
  await editBtn('contact.last_name').click();
  const input = page.getByRole('textbox', { name: msg(L, 'contact.last_name'), exact: true });
  await input.fill('佐藤');
  await input.press('Enter');
  await expectText(editBtn('contact.last_name'), /佐藤/);
  await expectText(page.getByTestId('contact-name'), '佐藤 太郎');
  assert.equal((await s.api('GET', `/api/v1/contacts/${c.id}`)).json.last_name, '佐藤');

  // Escape cancels without saving.
  await editBtn('contact.first_name').click();
  const first = page.getByRole('textbox', { name: msg(L, 'contact.first_name'), exact: true });
  await first.fill('次郎');
  await first.press('Escape');
  await expectText(editBtn('contact.first_name'), /太郎/);
  assert.equal((await s.api('GET', `/api/v1/contacts/${c.id}`)).json.first_name, '太郎');

  // A value the server rejects: its message appears under the field, nothing changes.
  await editBtn('contact.email').click();
  const email = page.getByRole('textbox', { name: msg(L, 'contact.email'), exact: true });
  await email.fill('not-an-email');
  await page.getByRole('button', { name: msg(L, 'common.save'), exact: true }).click();
  const err = page.getByTestId('error-email');
  await expectText(err, /valid address/);
  assert.equal(await email.getAttribute('aria-invalid'), 'true');
  assert.equal((await s.api('GET', `/api/v1/contacts/${c.id}`)).json.email, 'taro@example.jp');
  await email.fill('sato.taro@example.jp');
  await email.press('Enter');
  await expectText(editBtn('contact.email'), /sato\.taro@example\.jp/);
  assert.equal((await s.api('GET', `/api/v1/contacts/${c.id}`)).json.email, 'sato.taro@example.jp');

  // A tag added on the page is stored.
  await page.getByLabel(msg(L, 'contact.add_tag'), { exact: true }).fill('vip');
  await page.getByRole('button', { name: msg(L, 'contact.add_tag'), exact: true }).click();
  await page.getByTestId('contact-tag').filter({ hasText: 'vip' }).waitFor();
  assert.deepEqual((await s.api('GET', `/api/v1/contacts/${c.id}`)).json.tags, ['vip']);
});

test('delete_contact_asks_for_confirmation', async ({ page }) => {
  const s = await signedIn(page);
  const keep = await createContact(s, { email: 'keep@example.jp', last_name: '残す' });
  const c = await createContact(s, { email: 'bye@example.jp', last_name: '鈴木', first_name: '一郎' });
  await page.goto(`${s.url}/contacts/${c.id}`);
  await expectText(page.getByTestId('contact-name'), '鈴木 一郎');

  const dialog = page.getByRole('dialog', { name: msg(L, 'contact.delete_title') });
  // Cancel keeps the contact.
  await page.getByRole('button', { name: msg(L, 'common.delete'), exact: true }).click();
  await dialog.waitFor();
  await dialog.getByText(msg(L, 'contact.delete_text', { name: '鈴木 一郎' })).waitFor();
  await dialog.getByRole('button', { name: msg(L, 'common.cancel') }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await s.api('GET', `/api/v1/contacts/${c.id}`)).status, 200);
  // Escape closes it too.
  await page.getByRole('button', { name: msg(L, 'common.delete'), exact: true }).click();
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await s.api('GET', `/api/v1/contacts/${c.id}`)).status, 200);

  // Confirming deletes it and goes back to the list.
  await page.getByRole('button', { name: msg(L, 'common.delete'), exact: true }).click();
  await dialog.getByRole('button', { name: msg(L, 'contact.delete_confirm') }).click();
  await page.waitForURL(/\/contacts$/);
  await page.getByRole('status').getByText(msg(L, 'contact.deleted', { name: '鈴木 一郎' })).waitFor();
  assert.equal((await s.api('GET', `/api/v1/contacts/${c.id}`)).status, 404);
  await expectCount(rows(page), 1);
  await page.locator(`[data-testid="contact-row"][data-id="${keep.id}"]`).waitFor();

  // Its old address shows the not-found state, not a broken page.
  await page.goto(`${s.url}/contacts/${c.id}`);
  await page.getByTestId('contact-not-found').getByText(exact(msg(L, 'contact.not_found'))).waitFor();
});

test('bulk_delete_from_the_list_asks_for_confirmation', async ({ page }) => {
  const s = await signedIn(page);
  const p = await seedPeople(s);
  await page.goto(`${s.url}/contacts`);
  await expectCount(rows(page), 4);
  await page.getByRole('checkbox', { name: msg(L, 'contacts.select_row', { name: '鈴木 一郎' }) }).check();
  await page.getByRole('checkbox', { name: msg(L, 'contacts.select_row', { name: 'Emily Smith' }) }).check();
  const bar = page.getByRole('region', { name: msg(L, 'contacts.bulk_actions') });
  await bar.getByRole('button', { name: msg(L, 'common.delete'), exact: true }).click();
  const dialog = page.getByTestId('bulk-delete-dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: msg(L, 'common.cancel') }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await s.api('GET', '/api/v1/contacts')).json.data.length, 4);
  await bar.getByRole('button', { name: msg(L, 'common.delete'), exact: true }).click();
  await dialog.getByTestId('confirm-ok').click();
  await expectCount(rows(page), 2);
  const left = (await s.api('GET', '/api/v1/contacts')).json.data.map((x) => x.id).sort((a, b) => a - b);
  assert.deepEqual(left, [p.yamada.id, p.yamamoto.id].sort((a, b) => a - b));
});
