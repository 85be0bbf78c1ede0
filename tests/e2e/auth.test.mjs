// auth.test.mjs — signing in and out of the admin UI, and a wrong password.
import assert from 'node:assert/strict';
import { fillLogin, login, logout, msg, sessionStatus, startServer, test } from './browser.mjs';

const SESSION_COOKIE = /^kz_session$/; // KZ_SESSION_COOKIE in src/http/server.h

test('login_shows_workspace_and_logout_ends_session', async ({ page }) => {
  const s = await startServer();
  await page.goto(`${s.url}/contacts`);
  // Not signed in: the app sends us to the login page and remembers where we were going.
  await page.waitForURL(/\/login\?next=%2Fcontacts$/);
  assert.equal(await sessionStatus(page, s), 401);

  await fillLogin(page, s.admin.email, s.admin.password);
  const nav = page.getByRole('navigation', { name: msg('en', 'nav.main') });
  await nav.waitFor();
  await page.waitForURL(`${s.url}/contacts`);
  for (const item of ['dashboard', 'contacts', 'companies', 'segments', 'settings']) {
    await nav.getByRole('link', { name: msg('en', `nav.${item}`) }).waitFor();
  }
  assert.equal(await sessionStatus(page, s), 200, 'signed in: GET /api/v1/session answers 200');
  const cookie = (await page.context().cookies()).find((c) => SESSION_COOKIE.test(c.name));
  assert.ok(cookie, 'the session cookie is set');
  assert.equal(cookie.httpOnly, true, 'the session cookie is HttpOnly');
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(await page.evaluate(() => document.cookie.includes('kz_session')), false,
               'page scripts cannot read the session cookie');

  await logout(page);
  await page.waitForURL(/\/login$/);
  assert.equal(await sessionStatus(page, s), 401, 'signed out: the session is gone on the server');
  // The workspace stays closed after a reload and on a direct link.
  await page.goto(`${s.url}/settings/users`);
  await page.waitForURL(/\/login\?next=/);
  await page.getByRole('button', { name: msg('en', 'auth.sign_in'), exact: true }).waitFor();
  assert.equal(await page.getByRole('navigation', { name: msg('en', 'nav.main') }).count(), 0);
});

test('wrong_password_shows_error_and_creates_no_session', async ({ page }) => {
  const s = await startServer();
  await page.goto(`${s.url}/`);
  await fillLogin(page, s.admin.email, `${s.admin.password}-wrong`);
  const alert = page.getByTestId('login-error');
  await alert.waitFor({ state: 'visible' });
  assert.equal(await alert.getAttribute('role'), 'alert', 'the error is announced to screen readers');
  assert.match(await alert.innerText(), new RegExp(msg('en', 'auth.invalid').replace(/[.?]/g, '\\$&')));
  assert.match(page.url(), /\/login$/, 'still on the login page');
  const password = page.getByLabel(msg('en', 'auth.password'), { exact: true });
  assert.equal(await password.inputValue(), '', 'the wrong password is cleared');
  assert.equal(await password.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), await password.getAttribute('id'),
               'focus is back in the password field');
  const cookies = (await page.context().cookies()).filter((c) => SESSION_COOKIE.test(c.name) && c.value);
  assert.deepEqual(cookies, [], 'no session cookie after a failed sign-in');
  assert.equal(await sessionStatus(page, s), 401);

  // The same form then accepts the right password.
  await fillLogin(page, s.admin.email, s.admin.password);
  await page.getByRole('navigation', { name: msg('en', 'nav.main') }).waitFor();
  assert.equal(await sessionStatus(page, s), 200);
});

test('empty_login_form_says_what_is_missing', async ({ page }) => {
  const s = await startServer();
  await page.goto(`${s.url}/login`);
  await page.getByRole('button', { name: msg('en', 'auth.sign_in'), exact: true }).click();
  await page.getByTestId('login-error').getByText(msg('en', 'auth.need_email')).waitFor();
  await page.getByLabel(msg('en', 'auth.email'), { exact: true }).fill(s.admin.email);
  await page.getByRole('button', { name: msg('en', 'auth.sign_in'), exact: true }).click();
  await page.getByTestId('login-error').getByText(msg('en', 'auth.need_password')).waitFor();
  assert.equal(await sessionStatus(page, s), 401);
});

test('signed_in_user_stays_signed_in_across_reload', async ({ page }) => {
  const s = await startServer();
  await login(page, s, s.admin.email, s.admin.password);
  await page.reload();
  await page.getByRole('navigation', { name: msg('en', 'nav.main') }).waitFor();
  await page.goto(`${s.url}/login`);
  await page.waitForURL(`${s.url}/`, { waitUntil: 'commit' }); // a signed-in user is sent to the dashboard
});
