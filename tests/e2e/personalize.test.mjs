// personalize.test.mjs — web personalization and landing pages in Chromium: a real localhost site with
// kz.js and a data-kz-slot element shows the default on the first visit and the returning-visitor variant
// on the second (the clock moved past a session); a pop-up capped at once per visitor shows once and never
// again; a landing page's A/B variant sticks to its visitor and the form counts a conversion; and the
// landing page editor builds, previews and publishes a page with a form.
import assert from 'node:assert/strict';
import http from 'node:http';
import { expectText, login, startServer, test, waitFor } from './browser.mjs';

/** A small site on a random port: every page has kz.js and a hero slot. */
async function startSite() {
  const site = { snippet: '' };
  const html = (p) => `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>${p} | サンプル</title>
${site.snippet}
</head><body><h1>サンプル株式会社</h1>
<div data-kz-slot="hero" id="hero"><p>元のヒーロー</p></div>
<p id="where">${p}</p><div style="height:2000px"></div>
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

async function api(s, method, p, body) {
  const r = await s.api(method, p, body);
  assert.ok(r.status < 300, r.info);
  return r.json;
}

test('a_slot_shows_the_returning_visitor_variant_on_the_second_visit', async ({ page }) => {
  const s = await startServer({ env: { KIZUNA_CLOCK: 'manual' } });
  const web = await startSite();
  try {
    const site = await api(s, 'POST', '/api/v1/sites', { name: 'サンプル', allowed_origins: [web.origin], bot_filter: false });
    web.snippet = site.snippet;
    const slot = await api(s, 'POST', '/api/v1/slots', {
      name: 'hero', default: { html: '<p id="h-default">ようこそ、はじめての方へ</p>' },
      variants: [{ key: 'back', rule: { visitor: 'returning' }, html: '<p id="h-back">おかえりなさい！<a href="#case">事例を見る</a></p>' }],
    });
    await page.goto(`${web.origin}/`);
    await page.locator('#h-default').waitFor();
    assert.equal(await page.locator('#hero').evaluate((e) => getComputedStyle(e).visibility), 'visible');
    await page.goto(`${web.origin}/pricing`);
    await page.locator('#h-default').waitFor();
    await page.waitForTimeout(800); // the page views reach the collector
    await waitFor(async () => (await s.api('GET', '/api/v1/visitors')).json.data.length === 1, { what: 'the visitor' });

    await api(s, 'POST', '/api/v1/clock', { advance_seconds: 45 * 60 });
    await page.goto(`${web.origin}/`);
    await page.locator('#h-back').waitFor();
    assert.equal(await page.locator('#h-default').count(), 0);
    await page.getByRole('link', { name: '事例を見る' }).click();
    await waitFor(async () => {
      const st = (await api(s, 'GET', `/api/v1/slots/${slot.id}`)).stats;
      return st.default.impressions === 2 && st.back.impressions === 1 && st.back.clicks === 1;
    }, { what: 'impressions 2 + 1 and one click' });
  } finally {
    await web.close();
    await s.stop();
  }
});

test('a_slot_falls_back_to_its_own_content_when_the_server_is_slow_or_gone', async ({ page }) => {
  const s = await startServer();
  const web = await startSite();
  try {
    const site = await api(s, 'POST', '/api/v1/sites', { name: 'サンプル', allowed_origins: [web.origin], bot_filter: false });
    web.snippet = site.snippet.replace(' data-site=', ' data-timeout="2500" data-site=');
    assert.ok(web.snippet.includes('data-timeout'), web.snippet);
    await page.route('**/t/content?*', () => {}); // never answers
    await page.goto(`${web.origin}/`);
    await page.waitForFunction(() => window.kz && window.kz.v === 1);
    assert.equal(await page.locator('#hero').evaluate((e) => getComputedStyle(e).visibility), 'hidden', 'hidden while resolving');
    await waitFor(async () => (await page.locator('#hero').evaluate((e) => getComputedStyle(e).visibility)) === 'visible', { timeout: 6000, what: 'the default after the timeout' });
    assert.equal(await page.locator('#hero').innerText(), '元のヒーロー');
  } finally {
    await web.close();
    await s.stop();
  }
});

test('a_popup_capped_at_once_per_visitor_shows_once', async ({ page }) => {
  const s = await startServer();
  const web = await startSite();
  try {
    const site = await api(s, 'POST', '/api/v1/sites', { name: 'サンプル', allowed_origins: [web.origin], bot_filter: false });
    web.snippet = site.snippet;
    const pop = await api(s, 'POST', '/api/v1/slots', {
      name: 'offer', kind: 'popup', default: { html: '<p id="pop-text">事例集を無料でお送りします</p><a id="pop-cta" href="#dl">受け取る</a>' },
      popup: { style: 'modal', trigger: { type: 'time', seconds: 1 }, frequency: { max: 1, days: 0 } },
    });
    await page.goto(`${web.origin}/`);
    await page.locator('#pop-text').waitFor({ timeout: 5000 });
    assert.equal(await page.getByRole('dialog').count(), 1);
    await page.getByRole('button', { name: '閉じる' }).click();
    assert.equal(await page.locator('#pop-text').count(), 0);
    await page.goto(`${web.origin}/pricing`);
    await page.waitForTimeout(2500);
    assert.equal(await page.locator('#pop-text').count(), 0, 'capped: not again');
    await page.reload();
    await page.waitForTimeout(2000);
    assert.equal(await page.locator('.kz-pop').count(), 0);
    await waitFor(async () => (await api(s, 'GET', `/api/v1/slots/${pop.id}`)).stats.default.impressions === 1, { what: 'one impression' });
  } finally {
    await web.close();
    await s.stop();
  }
});

test('a_landing_page_variant_sticks_to_its_visitor_and_the_form_counts_a_conversion', async ({ page }) => {
  const s = await startServer();
  try {
    const form = await api(s, 'POST', '/api/v1/forms', {
      name: 'LP', settings: { min_fill_seconds: 0 },
      fields: [{ name: 'email', type: 'email', required: true, label: { ja: 'メールアドレス', en: 'Email' }, maps_to: 'email' }],
    });
    const lp = await api(s, 'POST', '/api/v1/pages', {
      slug: 'trial', title: 'A のタイトル', published: true, blocks: [{ type: 'hero', heading: 'A 案' }, { type: 'form', form_id: form.id }],
      variants: [{ key: 'b', weight: 50, title: 'B のタイトル', blocks: [{ type: 'hero', heading: 'B 案' }, { type: 'form', form_id: form.id }] }],
    });
    await page.goto(`${s.url}/p/trial`);
    const first = await page.locator('h1').innerText();
    for (let i = 0; i < 3; i++) {
      await page.reload();
      assert.equal(await page.locator('h1').innerText(), first, 'the same variant every time');
    }
    await page.getByLabel('メールアドレス').fill('trial@example.jp');
    await page.getByRole('button', { name: '送信する' }).click();
    await page.getByText('送信ありがとうございました。').waitFor();
    const key = first === 'A 案' ? 'a' : 'b';
    const got = await api(s, 'GET', `/api/v1/pages/${lp.id}`);
    const row = got.ab.variants.find((v) => v.key === key);
    assert.equal(row.visits, 1);
    assert.equal(row.conversions, 1);
  } finally {
    await s.stop();
  }
});

test('the_editor_builds_previews_and_publishes_a_landing_page_with_a_form', async ({ newPage }) => {
  const page = await newPage('ja-JP');
  const s = await startServer();
  try {
    await api(s, 'POST', '/api/v1/forms', {
      name: 'セミナー申込', settings: { min_fill_seconds: 0 },
      fields: [{ name: 'email', type: 'email', required: true, label: { ja: 'メールアドレス', en: 'Email' }, maps_to: 'email' }],
    });
    await login(page, s, s.admin.email, s.admin.password, { lang: 'ja' });
    await page.goto(`${s.url}/pages`);
    await page.getByTestId('create-page').first().click();
    await page.getByTestId('lp-title-new').fill('冬のセミナー');
    await page.getByTestId('lp-slug-new').fill('winter-seminar');
    await page.getByTestId('lp-create-save').click();
    await page.getByTestId('lp-blocks').waitFor();
    const frame = page.frameLocator('[data-testid="lp-preview"]');
    await expectText(frame.locator('h1'), '無料オンラインセミナー');
    await page.getByTestId('lp-hero-heading').fill('冬の MA セミナー');
    await expectText(frame.locator('h1'), '冬の MA セミナー');
    await page.getByTestId('lp-add-form').click();
    await frame.getByLabel('メールアドレス').waitFor();
    await page.getByTestId('lp-description').fill('冬の無料セミナーのご案内');
    await page.getByTestId('lp-publish').click();
    await expectText(page.getByTestId('lp-status'), '公開中');
    const res = await page.request.get(`${s.url}/p/winter-seminar`);
    const html = await res.text();
    assert.ok(html.includes('<h1>冬の MA セミナー</h1>'), html.slice(0, 400));
    assert.ok(html.includes('<meta name="description" content="冬の無料セミナーのご案内">'));
    assert.ok(html.includes('name="email"'));
  } finally {
    await s.stop();
  }
});

test('the_form_builder_previews_live_in_ja_and_en_and_saves_the_new_actions', async ({ newPage }) => {
  const page = await newPage('ja-JP');
  const s = await startServer();
  try {
    const list = await api(s, 'POST', '/api/v1/segments', { name: '資料請求者', type: 'static' });
    await login(page, s, s.admin.email, s.admin.password, { lang: 'ja' });
    await page.goto(`${s.url}/forms`);
    await page.getByTestId('create-form').first().click();
    const frame = page.frameLocator('[data-testid="form-preview"]');
    await expectText(frame.locator('label[for$="-email"]'), /メールアドレス/);
    await page.getByTestId('preview-lang-en').click();
    await expectText(frame.locator('label[for$="-email"]'), /Email/);
    await page.getByTestId('form-name').fill('資料請求');
    await page.getByTestId('action-list').selectOption(String(list.id));
    await page.getByTestId('action-points').fill('10');
    await page.getByTestId('action-webhook').fill('https://hooks.example.com/T1');
    await page.getByTestId('form-save').click();
    await page.getByTestId('form-card').first().waitFor();
    const f = (await api(s, 'GET', '/api/v1/forms')).data[0];
    assert.deepEqual(f.actions.filter((a) => a.type !== 'add_tag'), [
      { type: 'add_to_list', list_id: list.id }, { type: 'add_points', points: 10 }, { type: 'notify', webhook_url: 'https://hooks.example.com/T1' }]);
  } finally {
    await s.stop();
  }
});
