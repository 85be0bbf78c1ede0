// track.test.mjs — a real page embeds the site's kz.js snippet and is driven by Chromium: page views,
// a pushState navigation, a custom event, identify → the earlier anonymous page views appear on the
// contact's timeline in the admin UI; the visitor, the site's snippet and the live view are shown too.
import assert from 'node:assert/strict';
import http from 'node:http';
import { exact, expectCount, expectText, login, msg, startServer, test, waitFor } from './browser.mjs';

/**
 * A tiny static web site on a random 127.0.0.1 port; every path serves the same page, which
 * embeds `site.snippet` (set it once the Kizuna site exists: it needs this site's origin).
 */
async function startSite() {
  const site = { snippet: '' };
  const html = () => `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>トップ | サンプル</title>
${site.snippet}
</head><body><h1>サンプル株式会社</h1><p id="where">top</p></body></html>`;
  const server = http.createServer((req, res) => {
    if (req.url === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  site.origin = origin;
  site.close = () => new Promise((r) => server.close(r));
  return site;
}

/** Make a site through the API whose pages live at `origin`; Chromium is headless, so no bot filter. */
async function makeSite(s, origin, name = 'サンプルサイト') {
  const r = await s.api('POST', '/api/v1/sites', { name, allowed_origins: [origin], bot_filter: false });
  assert.equal(r.status, 201, r.info);
  assert.ok(r.json.snippet.includes(r.json.site_key));
  return r.json;
}

/** The site's events: page view, pushState navigation, a custom event, then identify. */
async function browse(page, siteOrigin, email) {
  await page.goto(`${siteOrigin}/`);
  await page.waitForFunction(() => window.kz && window.kz.v === 1);
  // A page view is sent within 300 ms; let it go before navigating so the order is clear.
  await page.waitForTimeout(600);
  await page.evaluate(() => {
    document.title = '料金 | サンプル';
    history.pushState({}, '', '/pricing?plan=pro');
    document.getElementById('where').textContent = 'pricing';
  });
  await page.waitForTimeout(600);
  await page.evaluate(() => window.kz('track', 'Demo Requested', { plan: 'pro', seats: 12 }));
  await page.waitForTimeout(600);
  await page.evaluate((e) => window.kz('identify', { email: e, last_name: '佐藤', first_name: '花子' }), email);
}

test('tracked_page_views_appear_on_the_contacts_timeline', async ({ page, newPage }) => {
  const s = await startServer();
  const web = await startSite();
  try {
    web.snippet = (await makeSite(s, web.origin)).snippet;

    const email = 'hanako@example.jp';
    await browse(page, web.origin, email);

    // identify made the contact; the anonymous page views before it are now its own.
    const contact = await waitFor(async () => {
      const r = await s.api('GET', `/api/v1/contacts?q=${encodeURIComponent(email)}`);
      return r.json && r.json.data && r.json.data[0];
    }, { timeout: 10_000, what: 'the identified contact' });
    const events = await waitFor(async () => {
      const r = await s.api('GET', `/api/v1/contacts/${contact.id}/timeline?limit=50`);
      const d = r.json.data;
      return d.filter((e) => e.type === 'page').length >= 2 && d.some((e) => e.type === 'track') && d.some((e) => e.type === 'identify') ? d : null;
    }, { timeout: 10_000, what: 'the timeline to hold the page views, the event and the identify' });
    const pages = events.filter((e) => e.type === 'page');
    assert.deepEqual(pages.map((e) => e.context.title), ['料金 | サンプル', 'トップ | サンプル'], 'newest first');
    assert.equal(pages[0].context.url, `${web.origin}/pricing?plan=pro`);
    const identifyAt = Date.parse(events.find((e) => e.type === 'identify').occurred_at);
    assert.ok(pages.every((e) => Date.parse(e.occurred_at) < identifyAt), 'the page views happened while anonymous');

    // The admin UI, in another browser context: the contact's timeline shows them.
    const admin = await newPage('en-US');
    await login(admin, s, s.admin.email, s.admin.password, { lang: 'en' });
    await admin.goto(`${s.url}/contacts/${contact.id}`);
    await expectText(admin.getByTestId('contact-name'), '佐藤 花子');
    const tl = admin.getByTestId('timeline');
    await expectCount(tl.getByTestId('timeline-event'), 4);
    assert.equal(await tl.getByTestId('timeline-empty').count(), 0);
    const items = tl.getByTestId('timeline-event');
    // newest first: identify, the custom event, the pushState page view, the first page view
    assert.deepEqual(await items.evaluateAll((els) => els.map((e) => e.dataset.type)), ['identify', 'track', 'page', 'page']);
    await expectText(items.nth(0), new RegExp(msg('en', 'track.identified_as', { email }).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await expectText(items.nth(1), /Demo Requested[\s\S]*plan[\s\S]*pro/);
    await expectText(items.nth(2), /料金 \| サンプル/);
    await items.nth(2).getByRole('link', { name: `${web.origin}/pricing?plan=pro` }).waitFor();
    await expectText(items.nth(3), /トップ \| サンプル/);

    // Filter by kind: only page views.
    await tl.getByLabel(msg('en', 'track.filter_kind')).selectOption('page');
    await expectCount(tl.getByTestId('timeline-event'), 2);
    assert.deepEqual(await tl.getByTestId('timeline-event').evaluateAll((els) => els.map((e) => e.dataset.type)), ['page', 'page']);
    await tl.getByLabel(msg('en', 'track.filter_kind')).selectOption('alias');
    await tl.getByText(exact(msg('en', 'track.none_of_kind'))).waitFor();

    // The visitor: listed among all visitors, with its visit and pages.
    await admin.goto(`${s.url}/visitors?show=all`);
    await expectCount(admin.getByTestId('visitor-row'), 1);
    await admin.getByTestId('visitor-link').click();
    await admin.getByTestId('visitor-name').waitFor();
    await expectCount(admin.getByTestId('visitor-session'), 1);
    await expectCount(admin.getByTestId('timeline-event').and(admin.locator('[data-type="page"]')), 2);
    await admin.getByTestId('visitor-contact').click();
    await admin.waitForURL(`${s.url}/contacts/${contact.id}`);

    // The dashboard's live view counts the four events and the top page.
    await admin.goto(`${s.url}/`);
    await expectText(admin.getByTestId('live-total'), msg('en', 'live.total', { n: 4 }));
    await expectCount(admin.getByTestId('live-pages').locator('li'), 2);
    await expectText(admin.getByTestId('live-sources'), new RegExp(msg('en', 'track.direct')));
  } finally {
    await web.close();
  }
});

test('sites_settings_create_edit_and_copy_snippet', { locale: 'ja-JP' }, async ({ page }) => {
  const s = await startServer();
  const L = 'ja';
  await login(page, s, s.admin.email, s.admin.password, { lang: L });
  await page.goto(`${s.url}/settings/sites`);
  await page.getByTestId('sites-empty').waitFor();

  await page.getByTestId('create-site').click();
  const dlg = page.getByTestId('site-dialog');
  await dlg.getByLabel(msg(L, 'sites.name')).fill('コーポレートサイト');
  await dlg.getByLabel(msg(L, 'sites.allowed_origins')).fill('https://www.example.co.jp\nhttps://*.example.co.jp');
  await dlg.getByTestId('site-anonymize_ip-input').check();
  await dlg.getByTestId('site-save').click();
  await dlg.waitFor({ state: 'detached' });

  const card = page.getByTestId('site-card');
  await expectCount(card, 1);
  await expectText(card.getByTestId('site-origins'), /https:\/\/www\.example\.co\.jp[\s\S]*https:\/\/\*\.example\.co\.jp/);
  const sites = (await s.api('GET', '/api/v1/sites')).json.data;
  assert.equal(sites.length, 1);
  assert.equal(sites[0].anonymize_ip, true);
  assert.equal(sites[0].bot_filter, true, 'bot filtering is on by default');
  await expectText(card.getByTestId('site-snippet'), sites[0].snippet);
  await card.getByTestId('site-snippet-copy').click();
  await page.getByTestId('toast-success').getByText(exact(msg(L, 'common.copied'))).waitFor();

  // Edit: turn DNT on, rename.
  await card.getByTestId('site-edit').click();
  await dlg.getByLabel(msg(L, 'sites.name')).fill('採用サイト');
  await dlg.getByTestId('site-respect_dnt-input').check();
  await dlg.getByTestId('site-save').click();
  await page.getByTestId('toast-success').getByText(exact(msg(L, 'sites.saved', { name: '採用サイト' }))).waitFor();
  await card.getByRole('heading', { name: '採用サイト' }).waitFor();
  const after = (await s.api('GET', `/api/v1/sites/${sites[0].id}`)).json;
  assert.equal(after.respect_dnt, true);
  assert.equal(after.name, '採用サイト');

  // Visitors: none yet, with a way to the sites.
  await page.getByTestId('nav-visitors').click();
  await page.getByTestId('visitors-empty').waitFor();
  await page.getByRole('heading', { name: msg(L, 'visitors.title'), level: 1 }).waitFor();
});
