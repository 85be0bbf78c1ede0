// viewer.test.mjs — a viewer reads everything and can change nothing: no edit controls, and the server refuses writes.
import assert from 'node:assert/strict';
import {
  createContact, createUser, exact, expectCount, expectText, login, msg, startServer, test,
} from './browser.mjs';

const L = 'en';

async function setup(page, role = 'viewer') {
  const s = await startServer();
  const c = await createContact(s, {
    email: 'taro@example.jp', last_name: '山田', first_name: '太郎', tags: ['vip'], company: { name: '株式会社サンプル' },
  });
  const u = await createUser(s, { email: `${role}@example.jp`, role, name: `${role} user` });
  assert.ok(u.password, 'POST /api/v1/users returns the generated password once');
  await login(page, s, u.email, u.password, { lang: L });
  return { s, c, u };
}

/** Buttons whose accessible name starts with "Edit: " (the inline editors). */
const editButtons = (page) => page.getByRole('button', { name: new RegExp(`^${msg(L, 'common.edit')}: `) });

test('viewer_sees_no_edit_controls', async ({ page }) => {
  const { s, c } = await setup(page);

  // The list: readable, but nothing to create, import, select or delete.
  await page.goto(`${s.url}/contacts`);
  await expectCount(page.getByTestId('contact-row'), 1);
  await page.getByTestId('contact-row').getByRole('link', { name: '山田 太郎' }).waitFor();
  assert.equal(await page.getByRole('button', { name: msg(L, 'contacts.new') }).count(), 0, 'no "New contact" button');
  assert.equal(await page.getByRole('link', { name: msg(L, 'contacts.import'), exact: true }).count(), 0, 'no import link');
  assert.equal(await page.getByRole('checkbox').count(), 0, 'no row selection (bulk actions)');
  // Export is reading, so it stays.
  await page.getByRole('link', { name: msg(L, 'contacts.export') }).waitFor();

  // The contact page: values shown read-only, no delete, no tag or company editing.
  await page.getByTestId('contact-row').getByRole('link', { name: '山田 太郎' }).click();
  await page.waitForURL(`${s.url}/contacts/${c.id}`);
  await expectText(page.getByTestId('contact-name'), '山田 太郎');
  await page.getByTestId('profile-card').getByText(exact(msg(L, 'common.read_only'))).waitFor();
  await expectText(page.getByTestId('field-last_name'), /山田/);
  assert.equal(await editButtons(page).count(), 0, 'no inline edit buttons');
  await page.getByTestId('field-last_name').click(); // clicking a value opens no editor
  assert.equal(await page.getByRole('textbox', { name: msg(L, 'contact.last_name'), exact: true }).count(), 0);
  assert.equal(await page.getByRole('button', { name: msg(L, 'common.delete'), exact: true }).count(), 0, 'no delete button');
  assert.equal(await page.getByLabel(msg(L, 'contact.add_tag'), { exact: true }).count(), 0, 'no tag input');
  assert.equal(await page.getByRole('button', { name: msg(L, 'contact.remove_tag', { tag: 'vip' }) }).count(), 0);
  await page.getByTestId('contact-tag').filter({ hasText: 'vip' }).waitFor();
  assert.equal(await page.getByTestId('company-picker').count(), 0, 'no company picker');
  assert.equal(await page.getByTestId('owner-select').count(), 0, 'no owner picker');

  // Pages for writers say why they are closed instead of failing later.
  await page.goto(`${s.url}/import`);
  await page.getByText(exact(msg(L, 'import.no_permission'))).waitFor();
  assert.equal(await page.getByLabel(msg(L, 'import.choose'), { exact: true }).count(), 0);
  await page.goto(`${s.url}/settings/api-keys`);
  await page.getByTestId('no-access').getByText(exact(msg(L, 'settings.no_access'))).waitFor();
  assert.equal(await page.getByRole('button', { name: msg(L, 'keys.create') }).count(), 0);

  // Nothing the viewer did changed the contact.
  const now = (await s.api('GET', `/api/v1/contacts/${c.id}`)).json;
  assert.equal(now.updated_at, c.updated_at);
});

test('viewer_direct_write_gets_the_servers_403', async ({ page }) => {
  const { s, c } = await setup(page);
  await page.goto(`${s.url}/contacts/${c.id}`);
  await expectText(page.getByTestId('contact-name'), '山田 太郎');
  // What a curious viewer could do from the browser console: a well-formed request with the session's CSRF token.
  const res = await page.evaluate(async (id) => {
    const sess = await (await fetch('/api/v1/session')).json();
    const r = await fetch(`/api/v1/contacts/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-csrf-token': sess.csrf_token },
      body: JSON.stringify({ last_name: '改ざん' }),
    });
    return { status: r.status, body: await r.json() };
  }, c.id);
  assert.equal(res.status, 403, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'forbidden');
  assert.ok(res.body.error.message, 'the refusal says why');
  assert.equal((await s.api('GET', `/api/v1/contacts/${c.id}`)).json.last_name, '山田');
});

test('user_demoted_to_viewer_sees_the_servers_403_message_on_save', async ({ page }) => {
  // A sales user has the contact page open with edit controls; an admin makes them a viewer meanwhile.
  const { s, c, u } = await setup(page, 'sales');
  await page.goto(`${s.url}/contacts/${c.id}`);
  await expectText(page.getByTestId('contact-name'), '山田 太郎');
  const r = await s.api('PATCH', `/api/v1/users/${u.id}`, { role: 'viewer' });
  assert.equal(r.status, 200, r.info);

  await page.getByRole('button', { name: `${msg(L, 'common.edit')}: ${msg(L, 'contact.last_name')}`, exact: true }).click();
  const input = page.getByRole('textbox', { name: msg(L, 'contact.last_name'), exact: true });
  await input.fill('改ざん');
  const [resp] = await Promise.all([
    page.waitForResponse((x) => x.request().method() === 'PATCH' && x.url().endsWith(`/api/v1/contacts/${c.id}`)),
    input.press('Enter'),
  ]);
  assert.equal(resp.status(), 403);
  const serverMessage = (await resp.json()).error.message;
  // The server's own words appear under the field, and the value is not saved.
  await expectText(page.getByTestId('error-last_name'), serverMessage);
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  assert.equal((await s.api('GET', `/api/v1/contacts/${c.id}`)).json.last_name, '山田');

  // After a reload the page knows the new role: read-only.
  await page.reload();
  await page.getByTestId('profile-card').getByText(exact(msg(L, 'common.read_only'))).waitFor();
  assert.equal(await editButtons(page).count(), 0);
});
