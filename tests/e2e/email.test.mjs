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

test('settings_email_points_the_sender_at_smtp_sends_a_test_and_makes_a_dkim_key', async ({ newPage }) => {
  const { startSink } = await import('../it/mail.mjs');
  const sink = await startSink();
  const page = await newPage('ja-JP');
  const s = await startServer({ env: { KIZUNA_MAILDIR: path.join(tempDir('kz-maildir-'), 'outbox') } });
  assert.equal((await s.api('PATCH', '/api/v1/settings', { sender_email: 'news@kizuna.example' })).status, 200);
  await login(page, s, s.admin.email, s.admin.password, { lang: 'ja' });
  await page.goto(`${s.url}/settings/email`);
  await expectText(page.getByTestId('em-active'), /ローカルの送信箱/);
  // a bad port is named next to its field and nothing changes
  await page.getByTestId('em-smtp_host').fill('127.0.0.1');
  await page.getByTestId('em-smtp_port').fill('70000');
  await page.getByTestId('em-delivery-save').click();
  await expectText(page.locator('#' + (await page.getByTestId('em-smtp_port').getAttribute('id')) + '-err'), /smtp_port/);
  assert.equal((await s.api('GET', '/api/v1/settings/email-delivery')).json.smtp_host, '');
  await page.getByTestId('em-smtp_port').fill(String(sink.port));
  await page.getByTestId('em-smtp_security').selectOption('none');
  await page.getByTestId('em-smtp_password').fill('秘密のパスワード');
  await page.getByTestId('em-delivery-save').click();
  await expectText(page.getByTestId('em-active'), new RegExp(`smtp://127\\.0\\.0\\.1:${sink.port}`));
  assert.equal(await page.getByTestId('em-smtp_password').inputValue(), '', 'the password is not shown again');
  // a DKIM key, with the DNS record to publish
  await page.getByTestId('em-dkim_domain').fill('kizuna.example');
  await page.getByTestId('em-dkim_selector').fill('k1');
  await page.getByTestId('em-dkim-gen-ed25519').click();
  await expectText(page.getByTestId('em-dns-record'), /^v=DKIM1; k=ed25519; p=/);
  await expectText(page.getByTestId('em-active'), /ed25519-sha256/);
  // "send test email" reaches the SMTP server and says so
  await page.getByTestId('em-test-to').fill('admin@example.jp');
  await page.getByTestId('em-test-send').click();
  await expectText(page.getByTestId('em-test-result'), /admin@example\.jp 宛てのメールを受け付けました/);
  await waitFor(() => sink.files().length === 1, { what: 'the test mail at smtp-sink' });
  assert.equal(sink.messages()[0].get('X-Rcpt-Args'), '<admin@example.jp>');
  // sending rules: double opt-in on
  await page.getByTestId('em-email_double_optin').check();
  await page.getByTestId('em-company_name').fill('株式会社絆');
  await page.getByTestId('em-rules-save').click();
  await waitFor(async () => (await s.api('GET', '/api/v1/settings')).json.email_double_optin === 'true', { what: 'double opt-in saved' });
  assert.equal((await s.api('GET', '/api/v1/settings')).json.company_name, '株式会社絆');
  await sink.stop();
});

test('an_email_is_saved_as_a_template_and_a_new_email_starts_from_it', async ({ newPage }) => {
  const page = await newPage('en-US');
  const s = await startServer({ env: { KIZUNA_MAILDIR: path.join(tempDir('kz-maildir-'), 'outbox') } });
  const e = (await s.api('POST', '/api/v1/emails', { name: 'Monthly', subject: 'News for {{ contact.last_name }}', html: '<table role="presentation"><tr><td><h1>Our layout</h1></td></tr></table>' })).json;
  await login(page, s, s.admin.email, s.admin.password, { lang: 'en' });
  await page.goto(`${s.url}/emails`);
  await page.getByTestId('templates-empty').waitFor();
  await page.goto(`${s.url}/emails/${e.id}`);
  await page.getByTestId('email-save-template').click();
  await page.getByTestId('template-name').fill('Brand layout');
  await page.getByTestId('template-description').fill('Logo and signature');
  await page.getByTestId('template-submit').click();
  await waitFor(async () => (await s.api('GET', '/api/v1/email-templates')).json.data.length === 1, { what: 'the template saved' });
  const tpl = (await s.api('GET', '/api/v1/email-templates')).json.data[0];
  assert.equal(tpl.name, 'Brand layout');
  // a new email from it
  await page.goto(`${s.url}/emails`);
  await expectText(page.getByTestId('template-row').first(), /Brand layout.*Logo and signature/);
  await page.getByTestId('create-email').click();
  await page.getByTestId('new-email-name').fill('December');
  await page.getByTestId(`new-email-template-${tpl.id}`).check();
  await page.getByTestId('new-email-submit').click();
  await page.waitForURL(/\/emails\/\d+$/);
  const id = Number(page.url().split('/').pop());
  const made = (await s.api('GET', `/api/v1/emails/${id}`)).json;
  assert.equal(made.name, 'December');
  assert.equal(made.subject, 'News for {{ contact.last_name }}');
  assert.match(made.html, /Our layout/);
  // deleting the template keeps the email
  await page.goto(`${s.url}/emails`);
  await page.getByTestId('template-delete').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('templates-empty').waitFor();
  assert.equal((await s.api('GET', `/api/v1/emails/${id}`)).status, 200);
});

test('a_broadcast_with_an_ab_test_shows_its_variants_and_when_the_winner_is_chosen', async ({ newPage }) => {
  const page = await newPage('ja-JP');
  const s = await startServer({ env: { KIZUNA_MAILDIR: path.join(tempDir('kz-maildir-'), 'outbox') } });
  assert.equal((await s.api('PATCH', '/api/v1/settings', { company_name: '株式会社絆', company_address: '東京都千代田区1-1', sender_email: 'news@kizuna.example' })).status, 200);
  for (let i = 0; i < 6; i++) await s.api('POST', '/api/v1/contacts', { email: `ab${i}@example.jp`, tags: ['ab'] });
  const a = (await s.api('POST', '/api/v1/emails', { name: '件名A', subject: '11月のお知らせ', html: '<p>A</p>' })).json;
  const b = (await s.api('POST', '/api/v1/emails', { name: '件名B', subject: '今月だけの特典', html: '<p>B</p>' })).json;
  await login(page, s, s.admin.email, s.admin.password, { lang: 'ja' });
  await page.goto(`${s.url}/broadcasts`);
  await page.getByTestId('create-broadcast').click();
  await page.getByTestId('broadcast-email').selectOption(String(a.id));
  await page.getByTestId('broadcast-tag').fill('ab');
  await page.getByTestId('broadcast-ab').check();
  await page.getByTestId(`broadcast-ab-variant-${b.id}`).check();
  await page.getByTestId('broadcast-ab-percent').fill('50');
  await page.getByTestId('broadcast-ab-wait').fill('2');
  await page.getByTestId('broadcast-submit').click();
  await page.getByTestId('ab-results').waitFor();
  await expectText(page.getByTestId('ab-state'), /に勝者を決定します.*テスト 50%、開封率で判定/);
  assert.equal(await page.getByTestId('ab-row').count(), 2);
  const bc = (await s.api('GET', '/api/v1/broadcasts')).json.data[0];
  assert.deepEqual(bc.ab.variants, [a.id, b.id]);
  assert.equal(bc.ab.wait_minutes, 120);
  await waitFor(async () => (await s.api('GET', `/api/v1/broadcasts/${bc.id}`)).json.stats.sent === 3, { what: 'the 3 test messages' });
  assert.equal((await s.api('GET', `/api/v1/broadcasts/${bc.id}`)).json.stats.queued, 3, 'the other half waits for the winner');
});

test('a_tracked_click_ties_the_landing_pages_kzjs_visitor_to_the_contact', async ({ newPage }) => {
  const { parseMessage } = await import('../it/mail.mjs');
  const { readFileSync } = await import('node:fs');
  const http = (await import('node:http')).default;
  // the customer's web site, with the site's kz.js snippet
  const site = { snippet: '' };
  const web = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>キャンペーン</title>${site.snippet}</head><body><h1>キャンペーン</h1></body></html>`);
  });
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
  web.unref(); // a failed test must not keep the run alive
  const origin = `http://127.0.0.1:${web.address().port}`;
  const maildir = path.join(tempDir('kz-maildir-'), 'outbox');
  const s = await startServer({ env: { KIZUNA_MAILDIR: maildir } });
  const st = await s.api('POST', '/api/v1/sites', { name: 'サンプル', allowed_origins: [origin], bot_filter: false });
  assert.equal(st.status, 201, st.info);
  site.snippet = st.json.snippet;
  assert.equal((await s.api('PATCH', '/api/v1/settings', { company_name: '株式会社絆', company_address: '東京都千代田区1-1', sender_email: 'news@kizuna.example' })).status, 200);
  const c = (await s.api('POST', '/api/v1/contacts', { email: 'click@example.jp', tags: ['click'] })).json;
  const e = (await s.api('POST', '/api/v1/emails', { name: 'リンク', subject: 'ご案内', html: `<p><a href="${origin}/campaign?from=mail#top">見る</a></p>` })).json;
  assert.equal((await s.api('POST', '/api/v1/broadcasts', { email_id: e.id, tag: 'click' })).status, 201);
  const file = await waitFor(() => {
    try {
      const f = readdirSync(path.join(maildir, 'new'));
      return f.length ? path.join(maildir, 'new', f[0]) : null;
    } catch { return null; }
  }, { what: 'the message in the Maildir' });
  const msg = parseMessage(readFileSync(file));
  const href = /href="([^"]*\/t\/c\/[^"]+)"/.exec(msg.htmlPart.text)[1].replace(/&amp;/g, '&');
  const u = new URL(href);
  // the person clicks in their mail client: the browser lands on the site, kz.js runs there
  const page = await newPage('ja-JP');
  await page.goto(s.url + u.pathname + u.search);
  await page.waitForURL((url) => url.origin === origin);
  await page.waitForFunction(() => window.kz && window.kz.v === 1);
  const vid = await page.evaluate(() => localStorage.getItem('kz_vid'));
  assert.ok(vid, 'kz.js made a visitor id');
  await waitFor(async () => {
    const v = (await s.api('GET', `/api/v1/visitors?contact_id=${c.id}`)).json.data;
    return v.some((x) => x.anonymous_id === vid);
  }, { what: 'the visitor tied to the contact' });
  // the token is gone from the address bar; the page's own query and fragment stay
  const landed = new URL(page.url());
  assert.equal(landed.searchParams.get('kz_ct'), null);
  assert.equal(landed.searchParams.get('from'), 'mail');
  assert.equal(landed.hash, '#top');
  // and the landing page view is on the contact's timeline, without the token in its URL
  const pv = await waitFor(async () => (await s.api('GET', `/api/v1/contacts/${c.id}/timeline?limit=50`)).json.data.find((x) => x.type === 'page'),
    { timeout: 10_000, what: 'the page view on the timeline' });
  assert.equal(pv.context.url, `${origin}/campaign?from=mail#top`);
  web.close();
});
