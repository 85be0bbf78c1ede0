// forms.test.mjs — a real localhost site embeds kz.js and a form's script tag, driven by Chromium: an
// anonymous visitor browses three pages, fails validation inline, then submits → the contact has the three
// earlier page views and the consent record; the same form with JavaScript off; a honeypot bot creates
// nothing; a gated whitepaper downloads through the link the form hands out.
import assert from 'node:assert/strict';
import http from 'node:http';
import { newContext, startServer, test, waitFor } from './browser.mjs';

/** A small site on a random port: every path is a page with kz.js; /contact also embeds the form. */
async function startSite() {
  const site = { snippet: '', formScript: '' };
  const html = (p) => `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>${p} | サンプル</title>
${site.snippet}
</head><body><h1>サンプル株式会社</h1><p id="where">${p}</p>
${p === '/contact' ? `<section id="form">${site.formScript}</section>` : ''}
</body></html>`;
  const server = http.createServer((req, res) => {
    if (req.url === '/favicon.ico') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html(new URL(req.url, 'http://x').pathname));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  site.origin = `http://127.0.0.1:${server.address().port}`;
  site.close = () => new Promise((r) => server.close(r));
  return site;
}

function formBody(extra = {}) {
  return {
    name: 'お問い合わせ',
    fields: [
      { name: 'email', type: 'email', required: true, label: { ja: 'メールアドレス', en: 'Email' }, maps_to: 'email' },
      { name: 'last_name', type: 'text', required: true, label: { ja: '姓', en: 'Last name' }, maps_to: 'last_name' },
      { name: 'consent', type: 'consent', required: true, text: { ja: '個人情報の取り扱いに同意します', en: 'I agree' } },
    ],
    actions: [{ type: 'add_tag', tag: 'inquiry' }],
    settings: { min_fill_seconds: 0 },
    ...extra,
  };
}

async function api(s, method, p, body) {
  const r = await s.api(method, p, body);
  assert.ok(r.status < 300, r.info);
  return r.json;
}

test('script_embed_after_three_anonymous_pages_makes_a_contact_with_that_history', async ({ page }) => {
  const s = await startServer();
  const web = await startSite();
  try {
    const site = await api(s, 'POST', '/api/v1/sites', { name: 'サンプル', allowed_origins: [web.origin], bot_filter: false });
    const form = await api(s, 'POST', '/api/v1/forms', formBody());
    web.snippet = site.snippet;
    web.formScript = form.embed.script;
    for (const p of ['/', '/pricing', '/contact']) {
      await page.goto(`${web.origin}${p}`);
      await page.waitForFunction(() => window.kz && window.kz.v === 1);
      await page.waitForTimeout(700);
    }
    const f = page.locator('form.kz-form');
    await f.waitFor();
    // Inline errors first: a bad address and nothing else.
    await page.getByLabel('メールアドレス').fill('taro@');
    await page.getByRole('button', { name: '送信する' }).click();
    await page.locator('[data-kz-field="email"] .kz-error').filter({ hasText: '正しいメールアドレスを入力してください。' }).waitFor();
    await page.locator('[data-kz-field="consent"] .kz-error').filter({ hasText: '同意が必要です。' }).waitFor();
    assert.equal(await page.getByLabel('メールアドレス').getAttribute('aria-invalid'), 'true');
    const none = await s.api('GET', '/api/v1/contacts?email=taro%40example.jp');
    assert.equal(none.json.data.length, 0, 'nothing is stored on failure');

    await page.getByLabel('メールアドレス').fill('Taro@Example.jp');
    await page.getByLabel('姓').fill('山田');
    await page.getByLabel('個人情報の取り扱いに同意します').check();
    await page.getByRole('button', { name: '送信する' }).click();
    await page.getByText('送信ありがとうございました。').waitFor();

    const contact = (await api(s, 'GET', '/api/v1/contacts?email=taro%40example.jp')).data[0];
    assert.deepEqual(contact.tags, ['inquiry']);
    const tl = await waitFor(async () => {
      const d = (await api(s, 'GET', `/api/v1/contacts/${contact.id}/timeline?limit=50`)).data;
      return d.filter((e) => e.type === 'page').length >= 3 && d.some((e) => e.name === 'form_submitted') ? d : null;
    }, { timeout: 10_000, what: 'three page views and form_submitted on the timeline' });
    const paths = tl.filter((e) => e.type === 'page').map((e) => new URL(e.context.url).pathname);
    assert.deepEqual(paths.slice(0, 3), ['/contact', '/pricing', '/'], 'the anonymous pages, newest first');
    const subs = (await api(s, 'GET', `/api/v1/forms/${form.id}/submissions`)).data;
    assert.equal(subs.length, 1);
    assert.equal(subs[0].consent.granted, true);
    assert.equal(subs[0].consent.text.ja, '個人情報の取り扱いに同意します');
    assert.equal(subs[0].page_url, `${web.origin}/contact`);
  } finally {
    await web.close();
    await s.stop();
  }
});

test('the_plain_html_form_works_with_javascript_off', async () => {
  const s = await startServer();
  const context = await newContext('ja-JP', { javaScriptEnabled: false });
  try {
    const form = await api(s, 'POST', '/api/v1/forms', formBody());
    const page = await context.newPage();
    await page.goto(`${form.embed.url}?lang=ja`);
    await page.getByRole('button', { name: '送信する' }).click();
    await page.locator('[data-kz-field="email"] .kz-error').filter({ hasText: 'この項目は必須です。' }).waitFor();
    await page.getByLabel('メールアドレス').fill('hanako@example.jp');
    await page.getByLabel('姓').fill('佐藤');
    await page.getByLabel('個人情報の取り扱いに同意します').check();
    await page.getByRole('button', { name: '送信する' }).click();
    await page.getByText('送信ありがとうございました。').waitFor();
    const c = (await api(s, 'GET', '/api/v1/contacts?email=hanako%40example.jp')).data[0];
    assert.equal(c.last_name, '佐藤');
  } finally {
    await context.close();
    await s.stop();
  }
});

test('a_honeypot_bot_creates_nothing_and_a_gated_whitepaper_downloads_after_the_form', async ({ page }) => {
  const s = await startServer();
  try {
    const pdf = Buffer.from('%PDF-1.4\n%%EOF\n');
    const up = await s.api('POST', '/api/v1/assets?name=導入事例集&filename=casebook.pdf', undefined,
      { raw: pdf, headers: { 'content-type': 'application/pdf' } });
    assert.equal(up.status, 201, up.info);
    const form = await api(s, 'POST', '/api/v1/forms', formBody({ actions: [{ type: 'deliver_asset', asset_id: up.json.id }] }));
    const direct = await page.goto(`${s.url}/a/${up.json.id}`);
    assert.equal(direct.status(), 403);

    // A bot fills every input it finds, the hidden honeypot too.
    await page.goto(`${form.embed.url}?lang=ja`);
    await page.evaluate(() => { document.querySelector('input[name="_kz_url"]').value = 'http://spam.example'; });
    await page.getByLabel('メールアドレス').fill('bot@example.jp');
    await page.getByLabel('姓').fill('Bot');
    await page.getByLabel('個人情報の取り扱いに同意します').check();
    await page.getByRole('button', { name: '送信する' }).click();
    await page.getByText('送信ありがとうございました。').waitFor();
    assert.equal((await api(s, 'GET', '/api/v1/contacts?email=bot%40example.jp')).data.length, 0);
    assert.equal((await api(s, 'GET', `/api/v1/forms/${form.id}/spam`)).data[0].reason, 'honeypot');

    await page.goto(`${form.embed.url}?lang=ja`);
    await page.getByLabel('メールアドレス').fill('reader@example.jp');
    await page.getByLabel('姓').fill('読者');
    await page.getByLabel('個人情報の取り扱いに同意します').check();
    await page.getByRole('button', { name: '送信する' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: '資料をダウンロード' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'casebook.pdf');
    const c = (await api(s, 'GET', '/api/v1/contacts?email=reader%40example.jp')).data[0];
    const tl = (await api(s, 'GET', `/api/v1/contacts/${c.id}/timeline`)).data;
    assert.ok(tl.some((e) => e.name === 'asset_downloaded'));
  } finally {
    await s.stop();
  }
});

test('a_landing_page_has_its_seo_tags_a_working_form_and_a_sitemap_entry', async ({ page }) => {
  const s = await startServer();
  try {
    const form = await api(s, 'POST', '/api/v1/forms', formBody());
    await api(s, 'POST', '/api/v1/pages', {
      slug: 'seminar-2026', title: '無料セミナー 2026', description: 'はじめての MA', published: true,
      seo: { og_image: 'https://cdn.example.com/og.png' },
      blocks: [{ type: 'hero', heading: 'はじめての MA', label: '申し込む', url: '#form' }, { type: 'form', form_id: form.id }],
    });
    await page.goto(`${s.url}/p/seminar-2026`);
    assert.equal(await page.title(), '無料セミナー 2026');
    assert.equal(await page.locator('meta[name="description"]').getAttribute('content'), 'はじめての MA');
    assert.equal(await page.locator('meta[property="og:image"]').getAttribute('content'), 'https://cdn.example.com/og.png');
    assert.equal(await page.locator('link[rel="canonical"]').getAttribute('href'), `${s.url}/p/seminar-2026`);
    await page.getByRole('heading', { name: 'はじめての MA' }).waitFor();
    await page.getByLabel('メールアドレス').fill('lp@example.jp');
    await page.getByLabel('姓').fill('小林');
    await page.getByLabel('個人情報の取り扱いに同意します').check();
    await page.getByRole('button', { name: '送信する' }).click();
    await page.getByText('送信ありがとうございました。').waitFor();
    assert.equal((await api(s, 'GET', '/api/v1/contacts?email=lp%40example.jp')).data.length, 1);
    const sm = await page.goto(`${s.url}/sitemap.xml`);
    assert.ok((await sm.text()).includes(`<loc>${s.url}/p/seminar-2026</loc>`));
  } finally {
    await s.stop();
  }
});
