// api_keys.test.mjs — an admin creates an API key in Settings, copies it once, and uses it against the REST API.
import assert from 'node:assert/strict';
import { exact, expectText, login, msg, startServer, test } from './browser.mjs';

const L = 'en';

async function createKeyInUi(page, { name, role }) {
  await page.getByRole('button', { name: msg(L, 'keys.create') }).first().click();
  const dialog = page.getByRole('dialog', { name: msg(L, 'keys.create_title') });
  await dialog.waitFor();
  await dialog.getByLabel(msg(L, 'keys.col_name')).fill(name);
  await dialog.getByLabel(msg(L, 'keys.col_role')).selectOption(role);
  await dialog.getByRole('button', { name: msg(L, 'keys.create') }).click();
  const shown = page.getByRole('dialog', { name: msg(L, 'keys.created_title') });
  await shown.waitFor();
  await shown.getByText(msg(L, 'keys.once')).waitFor();
  const key = (await shown.getByTestId('api-key-secret').innerText()).trim();
  await shown.getByRole('button', { name: msg(L, 'keys.saved_it') }).click();
  await shown.waitFor({ state: 'detached' });
  return key;
}

test('create_api_key_in_settings_and_use_it_with_the_rest_api', async ({ page }) => {
  const s = await startServer();
  await login(page, s, s.admin.email, s.admin.password, { lang: L });
  await page.getByRole('navigation', { name: msg(L, 'nav.main') }).getByRole('link', { name: msg(L, 'nav.settings') }).click();
  await page.getByRole('navigation', { name: msg(L, 'settings.sections') })
    .getByRole('link', { name: msg(L, 'settings.tab_api-keys') }).click();
  await page.waitForURL(/\/settings\/api-keys$/);

  const key = await createKeyInUi(page, { name: 'Website form', role: 'sales' });
  assert.match(key, /^kz_[0-9a-f]{20,}$/, `the key is shown in full once: ${key}`);

  // The list shows the key by name and prefix, never in full.
  const row = page.getByTestId('key-row').filter({ has: page.getByText(exact('Website form')) });
  await row.waitFor();
  await row.getByText(msg(L, 'roles.sales')).waitFor();
  assert.equal((await page.content()).includes(key), false, 'the full key is gone from the page once the dialog closed');

  // The key works against the REST API, with the role chosen in the UI.
  const post = await fetch(`${s.url}/api/v1/contacts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'form-lead@example.jp', last_name: '中村', tags: ['website'] }),
  });
  const created = await post.json();
  assert.equal(post.status, 201, JSON.stringify(created));
  assert.equal(created.email, 'form-lead@example.jp');
  const forbidden = await fetch(`${s.url}/api/v1/api-keys`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(forbidden.status, 403, 'a sales key cannot list API keys');

  // The contact the key created is in the UI.
  await page.goto(`${s.url}/contacts`);
  await page.getByTestId('contact-row').getByRole('link', { name: '中村' }).waitFor();

  // Revoking (with confirmation) stops the key.
  await page.goto(`${s.url}/settings/api-keys`);
  await row.getByRole('button', { name: msg(L, 'keys.revoke') }).click();
  const confirm = page.getByRole('dialog', { name: msg(L, 'keys.revoke_title', { name: 'Website form' }) });
  await confirm.getByRole('button', { name: msg(L, 'keys.revoke') }).click();
  await expectText(row, new RegExp(msg(L, 'keys.revoked')));
  const after = await fetch(`${s.url}/api/v1/contacts`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(after.status, 401, 'a revoked key is refused');
});

test('api_key_needs_a_name', async ({ page }) => {
  const s = await startServer();
  await login(page, s, s.admin.email, s.admin.password, { lang: L });
  await page.goto(`${s.url}/settings/api-keys`);
  await page.getByRole('button', { name: msg(L, 'keys.create') }).first().click();
  const dialog = page.getByRole('dialog', { name: msg(L, 'keys.create_title') });
  await dialog.getByRole('button', { name: msg(L, 'keys.create') }).click();
  await dialog.getByText(msg(L, 'keys.name_required')).waitFor();
  const name = dialog.getByLabel(msg(L, 'keys.col_name'));
  assert.equal(await name.getAttribute('aria-invalid'), 'true');
  const keys = (await s.api('GET', '/api/v1/api-keys')).json.data;
  assert.equal(keys.length, 1, 'only the key from `kizuna init` exists');
});
