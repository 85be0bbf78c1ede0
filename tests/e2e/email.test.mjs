// email.test.mjs — the email screens in Chromium: the outbox shows where mail goes (the local
// Maildir when no SMTP is set), the editor previews an email for a chosen contact as you type,
// block mode writes table-based HTML, a broadcast shows its recipient count and skip reasons
// before sending, and its page shows progress and stats once the Maildir holds the message.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { expectText, login, startServer, tempDir, test, waitFor } from './browser.mjs';

test('email_editor_previews_and_a_broadcast_lands_in_the_maildir', async ({ newPage }) => {
  const page = await newPage('ja-JP');
  const maildir = path.join(tempDir('kz-maildir-'), 'outbox');
  const s = await startServer({ env: { KIZUNA_MAILDIR: maildir } });
  assert.equal((await s.api('PATCH', '/api/v1/settings', { company_name: '株式会社絆', company_address: '東京都千代田区1-1', sender_email: 'news@kizuna.example' })).status, 200);
  const c = (await s.api('POST', '/api/v1/contacts', { email: 'hanako@example.jp', last_name: '佐藤', first_name: '花子', tags: ['news'] })).json;
  await s.api('POST', '/api/v1/contacts', { email: 'taro@example.jp', last_name: '山田', tags: ['news'] });
  await s.api('PATCH', `/api/v1/contacts/2/subscriptions`, { unsubscribe: '' });
  const e = (await s.api('POST', '/api/v1/emails', { name: '11月号', subject: '{{ contact.last_name }}様へ', html: '<p>こんにちは {{ contact.first_name | default: "お客様" }}</p>' })).json;

  await login(page, s, s.admin.email, s.admin.password, { lang: 'ja' });
  await page.goto(`${s.url}/emails`);
  await expectText(page.getByTestId('outbox-text'), /Maildir/);
  await page.getByTestId('email-row').first().click();
  await page.getByTestId('preview-contact').fill(String(c.id));
  await expectText(page.getByTestId('preview-subject'), '佐藤様へ');
  const frame = page.frameLocator('[data-testid="email-preview"]');
  await expectText(frame.locator('p').first(), 'こんにちは 花子');
  // a template error shows where it is, and nothing is saved
  await page.getByTestId('email-html').fill('<p>{{ contact.first_name | nope }}</p>');
  await expectText(page.getByTestId('preview-subject'), /line 1, column 28: unknown filter/);
  // block mode produces table-based HTML
  await page.getByTestId('mode-blocks').click();
  await page.getByTestId('add-block-heading').click();
  await page.getByTestId('block-heading-text').fill('今月のお知らせ');
  await page.getByTestId('add-block-button').click();
  await page.getByTestId('block-button-text').fill('詳しく見る');
  await page.getByTestId('block-button-href').fill('https://example.jp/');
  await expectText(frame.locator('h1'), '今月のお知らせ');
  assert.match(await page.getByTestId('email-html').inputValue(), /<table role="presentation"/);
  await page.getByTestId('email-save').click();
  await waitFor(async () => (await s.api('GET', `/api/v1/emails/${e.id}`)).json.blocks?.length === 2, { what: 'saved blocks' });

  // a broadcast: the estimate names the skip reason before sending
  await page.goto(`${s.url}/broadcasts`);
  await page.getByTestId('create-broadcast').click();
  await page.getByTestId('broadcast-tag').fill('news');
  await expectText(page.getByTestId('broadcast-estimate'), /2 件中 1 件.*配信停止 1/);
  await page.getByTestId('broadcast-submit').click();
  await expectText(page.getByTestId('broadcast-status'), '配信完了', { timeout: 20_000 });
  await expectText(page.getByTestId('stat-sent'), '1');
  const files = await waitFor(() => {
    try {
      const f = readdirSync(path.join(maildir, 'new'));
      return f.length ? f : null;
    } catch { return null; }
  }, { what: 'the message in the Maildir' });
  assert.equal(files.length, 1);
});
