// screenshots.mjs — `make screenshots`: one 1366×800 PNG of every screen, in Japanese and English, on demo data.
//
// Run by scripts/screenshots.sh (node --test tests/e2e/screenshots.mjs). Writes
// build/screenshots/<lang>-<screen>.png (KZ_SCREENSHOT_DIR overrides the folder).
// Each screen is its own test: a screen the UI cannot show fails, the others are still taken.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as h from '../it/harness.mjs';
import { fillLogin, msg, newContext, REPO } from './browser.mjs';

const OUT = process.env.KZ_SCREENSHOT_DIR || path.join(REPO, 'build', 'screenshots');
const LANGS = [['ja', 'ja-JP'], ['en', 'en-US']];

// A business-card list from a trade show, as Excel in Japan saves it (Shift_JIS), with one bad row.
const IMPORT_CSV = [
  '氏名,フリガナ,メールアドレス,電話番号,会社名,部署,タグ',
  '小川 拓海,オガワ タクミ,takumi.ogawa@example.co.jp,090-2345-6789,株式会社サクラテック,営業部,展示会2026;資料請求',
  '森 美優,モリ ミユ,miyu.mori@example.jp,03-5555-0101,みどり商事株式会社,マーケティング部,展示会2026',
  '石井 大和,イシイ ヤマト,yamato.ishii@@example.jp,080-1111-2222,株式会社青空システムズ,情報システム部,展示会2026',
  '前田 結菜,マエダ ユイナ,yuina.maeda@example.jp,,合同会社ひかりデザイン,,セミナー',
  '藤田 陸,フジタ リク,riku.fujita@example.jp,070-3333-4444,株式会社北斗物流,物流企画課,展示会2026',
  '',
].join('\r\n');

let server;
let ids = {};

before(async () => {
  mkdirSync(OUT, { recursive: true });
  const { dbUrl } = await h.newDatabase();
  const init = await h.runCli(['init', '--db', dbUrl]);
  assert.equal(init.code, 0, init.info);
  const demo = await h.runCli(['demo', '--db', dbUrl]);
  assert.equal(demo.code, 0, demo.info);
  server = await h.startServer({ dbUrl, init: false, apiKey: init.json.api_key });
  server.admin = { email: init.json.admin_email, password: init.json.admin_password };
  // A team, so Settings › Users and the owner columns look like a real workspace.
  const team = [
    ['yui.tanaka@example.co.jp', '田中 結衣', 'marketer'],
    ['ken.suzuki@example.co.jp', '鈴木 健一', 'sales'],
    ['emily.clark@example.com', 'Emily Clark', 'viewer'],
  ];
  const userIds = [];
  for (const [email, name, role] of team) {
    const r = await server.api('POST', '/api/v1/users', { email, name, role });
    assert.equal(r.status, 201, r.info);
    userIds.push(r.json.id);
  }
  await server.api('PATCH', '/api/v1/users/1', { name: '管理者' });
  await server.api('POST', '/api/v1/api-keys', { name: 'Webサイトのフォーム', role: 'sales' });
  const list = (await server.api('GET', '/api/v1/contacts?limit=200')).json.data;
  // Give some contacts an owner.
  for (const [i, c] of list.slice(0, 60).entries()) {
    await server.api('PATCH', `/api/v1/contacts/${c.id}`, { owner: userIds[i % 2] });
  }
  const rich = list.find((c) => c.last_name_kana && c.company && c.tags.length >= 2 && c.phone) || list[0];
  ids.contact = rich.id;
  ids.company = rich.company.id;
});

after(async () => {
  if (server) await server.stop();
});

/** Wait until the page has nothing loading: no skeletons, no spinners, fonts ready. */
async function settle(page) {
  await page.waitForLoadState('networkidle');
  await page.waitForFunction(() => !document.querySelector('.skeleton, .spinner, [aria-busy="true"]:not(#app)'), null, { timeout: 15_000 });
  await page.evaluate(() => document.fonts.ready);
}

async function shot(page, lang, name, { keepToasts = false } = {}) {
  await settle(page);
  if (!keepToasts) await page.evaluate(() => document.getElementById('toasts')?.replaceChildren());
  await page.mouse.move(0, 799); // no hover effects
  await page.screenshot({ path: path.join(OUT, `${lang}-${name}.png`), animations: 'disabled', caret: 'hide' });
}

for (const [lang, locale] of LANGS) {
  describe(`screens in ${lang}`, () => {
    let context;
    let page;
    const go = async (p) => {
      await page.goto(`${server.url}${p}`);
      await page.getByTestId('page-title').or(page.locator('main h1')).first().waitFor();
    };

    before(async () => {
      context = await newContext(locale, { bypassCSP: true }); // settle() polls with waitForFunction
      page = await context.newPage();
      page.on('pageerror', (e) => process.stderr.write(`[${lang}] page error: ${e.stack || e.message}\n`));
    });
    after(async () => {
      await context?.close();
    });

    test(`${lang}: login`, async () => {
      await page.goto(`${server.url}/login`);
      await page.getByRole('button', { name: msg(lang, 'auth.sign_in'), exact: true }).waitFor();
      await shot(page, lang, 'login');
      await page.getByLabel(msg(lang, 'auth.email'), { exact: true }).fill(server.admin.email);
      await page.getByLabel(msg(lang, 'auth.password'), { exact: true }).fill('wrong password');
      await page.getByRole('button', { name: msg(lang, 'auth.sign_in'), exact: true }).click();
      await page.getByTestId('login-error').waitFor();
      await shot(page, lang, 'login-error');
      await fillLogin(page, server.admin.email, server.admin.password, lang);
      await page.getByRole('navigation', { name: msg(lang, 'nav.main') }).waitFor();
    });

    test(`${lang}: dashboard`, async () => {
      await go('/');
      await shot(page, lang, 'dashboard');
    });

    test(`${lang}: contacts`, async () => {
      await go('/contacts');
      await page.getByTestId('contact-row').first().waitFor();
      await shot(page, lang, 'contacts');
      await page.getByRole('searchbox').pressSequentially('やま', { delay: 50 });
      await page.waitForURL(/q=/);
      await shot(page, lang, 'contacts-search');
      await page.goto(`${server.url}/contacts`);
      await page.getByTestId('row-check').nth(1).check();
      await page.getByTestId('row-check').nth(2).check();
      await shot(page, lang, 'contacts-bulk');
      await page.getByTestId('bulk-clear').click();
      await page.getByTestId('new-contact').click();
      await page.getByTestId('new-contact-dialog').waitFor();
      await shot(page, lang, 'contacts-new');
      await page.keyboard.press('Escape');
    });

    test(`${lang}: contact`, async () => {
      await go(`/contacts/${ids.contact}`);
      await page.getByTestId('contact-name').waitFor();
      await shot(page, lang, 'contact');
      await page.getByTestId('field-phone').click();
      await page.getByTestId('edit-phone').waitFor();
      await shot(page, lang, 'contact-edit');
      await page.keyboard.press('Escape');
      await page.getByTestId('contact-delete').click();
      await page.getByTestId('delete-contact-dialog').waitFor();
      await shot(page, lang, 'contact-delete');
      await page.keyboard.press('Escape');
    });

    test(`${lang}: import wizard`, async () => {
      await go('/import');
      await page.getByTestId('import-step-upload').waitFor();
      await shot(page, lang, 'import-1-upload');
      const sjis = execFileSync('iconv', ['-f', 'UTF-8', '-t', 'CP932'], { input: Buffer.from(IMPORT_CSV, 'utf8') });
      await page.getByTestId('import-file-input').setInputFiles({ name: '展示会2026_名刺.csv', mimeType: 'text/csv', buffer: sjis });
      await page.getByTestId('import-step-map').waitFor();
      await shot(page, lang, 'import-2-map');
      // Hold the upload so the running step can be seen.
      let release;
      const held = new Promise((r) => { release = r; });
      await page.route('**/api/v1/contacts/import*', async (route) => {
        await held;
        await route.continue();
      });
      await page.getByTestId('import-run').click();
      await page.getByTestId('import-step-run').waitFor();
      await page.evaluate(() => document.fonts.ready);
      await page.screenshot({ path: path.join(OUT, `${lang}-import-3-run.png`), animations: 'disabled', caret: 'hide' });
      release();
      await page.getByTestId('import-step-result').waitFor({ timeout: 30_000 });
      await page.unroute('**/api/v1/contacts/import*');
      await shot(page, lang, 'import-4-result');
    });

    test(`${lang}: companies`, async () => {
      await go('/companies');
      await page.getByTestId('company-row').first().waitFor();
      await shot(page, lang, 'companies');
      await go(`/companies/${ids.company}`);
      await page.getByTestId('company-name').waitFor();
      await shot(page, lang, 'company');
    });

    test(`${lang}: settings`, async () => {
      await go('/settings/users');
      await page.getByTestId('user-row').first().waitFor();
      await shot(page, lang, 'settings-users');
      await go('/settings/api-keys');
      await page.getByTestId('key-row').first().waitFor();
      await shot(page, lang, 'settings-api-keys');
      await page.getByTestId('create-key').click();
      await page.getByTestId('key-name').fill(lang === 'ja' ? 'Slack 通知' : 'Slack alerts');
      await page.getByTestId('create-key-submit').click();
      await page.getByTestId('key-created-dialog').waitFor();
      await shot(page, lang, 'settings-api-key-created');
      await page.getByTestId('key-done').click();
      await go('/settings/fields');
      await page.getByTestId('field-row').first().waitFor();
      await shot(page, lang, 'settings-fields');
      await page.getByTestId('create-field').click();
      await page.getByRole('dialog').waitFor();
      await shot(page, lang, 'settings-fields-new');
      await page.keyboard.press('Escape');
      await go('/settings/general');
      await page.getByTestId('settings-general-form').waitFor();
      await shot(page, lang, 'settings-general');
      await go('/settings/email');
      await page.getByTestId('em-rules-form').waitFor();
      await page.getByTestId('em-delivery-form').waitFor();
      await shot(page, lang, 'settings-email');
      await page.getByTestId('em-dkim_domain').scrollIntoViewIfNeeded();
      await page.evaluate(() => document.querySelector('[data-testid="em-dkim_domain"]').closest('.settings-section').scrollIntoView());
      await shot(page, lang, 'settings-email-dkim');
      await page.evaluate(() => document.querySelector('[data-testid="em-rules-form"]').scrollIntoView());
      await shot(page, lang, 'settings-email-rules');
    });

    test(`${lang}: emails and broadcasts`, async () => {
      if (lang === 'ja') {
        await server.api('PATCH', '/api/v1/settings', { company_name: '株式会社サンプル', company_address: '東京都千代田区丸の内1-1-1', sender_email: 'news@example.co.jp', sender_name: 'サンプル通信' });
        const e = await server.api('POST', '/api/v1/emails', { name: '11月のメルマガ', subject: '{{ contact.last_name }}様、11月のお知らせ', topic: 'news', preheader: '新機能のご紹介',
          html: '<h1>こんにちは {{ contact.first_name | default: "お客様" }}さん</h1>\n<p>今月は新しいレポート機能をご紹介します。</p>\n<p><a href="https://example.co.jp/new">詳しく見る</a></p>' });
        server.emailId = e.json.id;
        const all = (await server.api('GET', '/api/v1/contacts?limit=200')).json.data;
        const tagged = all.filter((c) => c.tags.length).slice(0, 20);
        for (const c of tagged) await server.api('PATCH', `/api/v1/contacts/${c.id}`, { tags: [...c.tags, 'news'] });
        const b = await server.api('POST', '/api/v1/broadcasts', { email_id: e.json.id, tag: 'news' });
        server.broadcastId = b.json.id;
        const e2 = await server.api('POST', '/api/v1/emails', { name: '11月のメルマガ（件名B）', subject: '【今月だけ】{{ contact.last_name }}様への特典', topic: 'news', html: '<h1>今月だけの特典</h1><p>詳しくはこちら。</p>' });
        const ab = await server.api('POST', '/api/v1/broadcasts', { email_id: e.json.id, tag: 'news', ab: { variants: [e2.json.id], test_percent: 30, metric: 'open', wait_minutes: 240 } });
        server.abId = ab.json.id;
        await server.api('POST', '/api/v1/email-templates', { name: '月次ニュースレター', description: 'ロゴ・署名・配信停止リンクつきの基本レイアウト', from_email_id: e.json.id });
        await server.api('POST', '/api/v1/email-templates', { name: 'セミナー案内', description: '日時・会場・申込ボタン', subject: '【ご案内】{{ contact.last_name }}様へセミナーのお知らせ', html: '<h1>セミナーのご案内</h1><p>日時：12月10日 14:00〜</p>' });
      }
      await go('/emails');
      await page.getByTestId('outbox-text').waitFor();
      await page.getByTestId('template-row').first().waitFor();
      await shot(page, lang, 'emails');
      await page.getByTestId('create-email').click();
      await page.getByTestId('new-email-dialog').waitFor();
      await shot(page, lang, 'emails-new-from-template');
      await page.keyboard.press('Escape');
      await go(`/emails/${server.emailId}`);
      await page.getByTestId('preview-contact').fill(String(ids.contact));
      await page.waitForTimeout(800);
      await shot(page, lang, 'email-editor');
      await go('/broadcasts');
      await page.getByTestId('broadcast-row').first().waitFor();
      await shot(page, lang, 'broadcasts');
      await go(`/broadcasts/${server.broadcastId}`);
      await page.getByTestId('broadcast-status').waitFor();
      await page.waitForTimeout(2500);
      await shot(page, lang, 'broadcast');
      await go(`/broadcasts/${server.abId}`);
      await page.getByTestId('ab-results').waitFor();
      await page.waitForTimeout(2500);
      await shot(page, lang, 'broadcast-ab');
      await go('/broadcasts');
      await page.getByTestId('create-broadcast').click();
      await page.getByTestId('broadcast-ab').check();
      await page.getByTestId('broadcast-tag').fill('news');
      await page.waitForTimeout(600);
      await shot(page, lang, 'broadcasts-new-ab');
      await page.keyboard.press('Escape');
    });

    test(`${lang}: forms and assets`, async () => {
      if (lang === LANGS[0][0]) {
        const pdf = Buffer.from('%PDF-1.4\n%%EOF\n');
        const a = await server.api('POST', '/api/v1/assets?name=導入事例集 2026&filename=casebook.pdf', undefined,
          { raw: pdf, headers: { 'content-type': 'application/pdf' } });
        await server.api('POST', '/api/v1/forms', {
          name: '資料請求フォーム',
          fields: [
            { name: 'email', type: 'email', required: true, label: { ja: 'メールアドレス', en: 'Email' }, maps_to: 'email' },
            { name: 'last_name', type: 'text', required: true, label: { ja: '姓', en: 'Last name' }, maps_to: 'last_name' },
            { name: 'consent', type: 'consent', required: true, text: { ja: '個人情報の取り扱いに同意します', en: 'I agree' } },
          ],
          actions: [{ type: 'add_tag', tag: 'whitepaper' }, { type: 'deliver_asset', asset_id: a.json.id }],
        });
      }
      await go('/forms');
      await page.getByTestId('form-card').first().waitFor();
      await shot(page, lang, 'forms');
      await page.getByTestId('create-form').click();
      await page.getByRole('dialog').waitFor();
      await shot(page, lang, 'forms-new');
      await page.keyboard.press('Escape');
      await go('/assets');
      await page.getByTestId('asset-row').first().waitFor();
      await shot(page, lang, 'assets');
    });

    test(`${lang}: audience — segment builder`, async () => {
      const lists = (await server.api('GET', '/api/v1/segments')).json.data;
      if (!lists.some((x) => x.type === 'static')) {
        const l = await server.api('POST', '/api/v1/segments', { name: '展示会2026 来場者', type: 'static' });
        const some = (await server.api('GET', '/api/v1/contacts?limit=12')).json.data.map((c) => c.id);
        await server.api('POST', `/api/v1/segments/${l.json.id}/members`, { contact_ids: some, mode: 'append' });
      }
      await go('/segments');
      await page.getByTestId('filter-builder').waitFor();
      await page.getByTestId('segment-live-count').filter({ hasText: /\d/ }).waitFor();
      await page.getByTestId('segment-name').fill(lang === 'ja' ? '料金ページを3回見た大企業の見込み客' : 'Pricing-page leads at larger companies');
      await page.getByTestId('fb-add-group').first().click();
      const inner = page.getByTestId('fb-group').nth(1);
      await inner.getByTestId('fb-match').selectOption('any');
      const row = inner.getByTestId('fb-condition').first();
      await row.getByTestId('fb-field').selectOption('tags');
      await row.getByTestId('fb-op').selectOption('in');
      const chips = row.getByTestId('fb-value').locator('input');
      await chips.fill(lang === 'ja' ? '展示会2026, 資料請求' : 'trade-show, whitepaper');
      await chips.press('Enter');
      await inner.getByTestId('fb-add-segment').click();
      await inner.getByTestId('fb-condition').nth(1).getByTestId('fb-segment').selectOption({ index: 0 });
      await page.getByTestId('segment-live-count').filter({ hasText: /\d/ }).waitFor();
      await page.waitForTimeout(400); // the debounced preview
      await shot(page, lang, 'segments');
      await page.getByTestId('fb-mode-json').first().click();
      await shot(page, lang, 'segments-json');
    });

    test(`${lang}: journeys`, async () => {
      if (!server.journeyId) {
        for (const [name, subject] of [['セミナーお礼（開封者向け）', '{{ contact.last_name }}様、ご参加ありがとうございました'], ['セミナー資料のご案内', '{{ contact.last_name }}様へ：当日の資料をお送りします']]) {
          const e = await server.api('POST', '/api/v1/emails', { name, subject, html: '<p>{{ contact.last_name }}様</p><p>先日はセミナーにご参加いただきありがとうございました。</p>' });
          assert.equal(e.status, 201, e.info);
        }
        const mails = (await server.api('GET', '/api/v1/emails')).json.data;
        const mail = (i) => mails[i % mails.length]?.id;
        const seminar = await server.api('POST', '/api/v1/journeys', {
          name: 'セミナー申込フォロー', description: '申込 → 3日待機 → メールA開封で分岐',
          definition: {
            triggers: [{ type: 'event', event: 'seminar_signup' }], start: 'wait3',
            steps: {
              wait3: { type: 'wait', seconds: 3 * 86400, label: '3日待つ', next: 'opened' },
              opened: { type: 'condition', label: 'メールAを開封した？', filter: { event: 'email_opened', count: { op: 'gte', value: 1 } }, yes: 'mailB', no: 'mailC' },
              mailB: { type: 'send_email', email_id: mail(0), next: 'hot' },
              mailC: { type: 'send_email', email_id: mail(1), next: 'done' },
              hot: { type: 'update_contact', label: 'ホットリードに加点', actions: [{ op: 'add_points', points: 10 }, { op: 'add_tag', tag: 'セミナー参加' }], next: 'alert' },
              alert: { type: 'notify', to: 'owner', message: 'ホットリードです。本日中にご連絡ください', next: 'done' },
              done: { type: 'exit' },
            },
            settings: { reentry: 'never', send_window: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '10:00', end: '18:00' } },
          },
        });
        assert.equal(seminar.status, 201, seminar.info);
        server.journeyId = seminar.json.id;
        const act = await server.api('POST', `/api/v1/journeys/${server.journeyId}/activate`, {});
        assert.equal(act.status, 200, act.info);
        for (const c of (await server.api('GET', '/api/v1/contacts?limit=12')).json.data) {
          await server.api('POST', `/api/v1/journeys/${server.journeyId}/enroll`, { contact_id: c.id });
        }
        await server.api('POST', '/api/v1/journeys', { name: '資料ダウンロード後のナーチャリング', definition: { triggers: [{ type: 'event', event: 'asset_downloaded' }], start: 'm', steps: { m: { type: 'send_email', email_id: mail(0), next: 'x' }, x: { type: 'exit' } }, settings: {} } });
      }
      await go('/journeys');
      await page.getByTestId('journey-row').first().waitFor();
      await shot(page, lang, 'journeys');
      await go(`/journeys/${server.journeyId}`);
      await page.getByTestId('step-opened').waitFor();
      await page.getByTestId('journey-stats').waitFor();
      await shot(page, lang, 'journey-builder');
      await page.getByTestId('journey-enrol').click();
      await page.getByTestId('enrol-search').fill(lang === 'ja' ? '佐' : 'a');
      await page.getByTestId('enrol-one').first().waitFor();
      await shot(page, lang, 'journey-enrol');
      await page.keyboard.press('Escape');
      await page.getByTestId('enrol-dialog').waitFor({ state: 'detached' });
      await page.getByTestId('step-opened').click();
      await page.getByTestId('panel-kind').waitFor();
      await shot(page, lang, 'journey-step');
      await page.getByTestId('journey-settings').click();
      await page.getByTestId('settings').waitFor();
      await shot(page, lang, 'journey-settings');
      await go('/journeys/sequence');
      await page.getByTestId('seq-row').first().waitFor();
      await shot(page, lang, 'journey-sequence');
      await go(`/contacts/${(await server.api('GET', '/api/v1/contacts?limit=1')).json.data[0].id}`);
      await page.getByTestId('contact-journey').first().waitFor();
      await shot(page, lang, 'contact-journeys');
    });

    test(`${lang}: landing pages and personalization`, async () => {
      if (lang === LANGS[0][0]) {
        const site = (await server.api('POST', '/api/v1/sites', { name: 'コーポレートサイト', allowed_origins: ['https://www.example.co.jp'] })).json;
        const forms = (await server.api('GET', '/api/v1/forms')).json.data;
        const form = forms[0] || (await server.api('POST', '/api/v1/forms', { name: 'セミナー申込', fields: [{ name: 'email', type: 'email', required: true, label: { ja: 'メールアドレス', en: 'Email' }, maps_to: 'email' }] })).json;
        const blocks = [
          { type: 'hero', heading: '無料オンラインセミナー：MA 入門', text: '営業につながるリードの育て方を 45 分で。\n12 月 18 日（木）14:00〜 オンライン開催', label: '席を予約する', url: '#form' },
          { type: 'columns', columns: [[{ type: 'text', heading: '学べること', text: 'フォームとランディングページでのリード獲得、スコアリング、ナーチャリングの実践。' }], [{ type: 'text', heading: '対象', text: 'BtoB 企業のマーケティング・インサイドセールスの皆さま。' }]] },
          { type: 'form', form_id: form.id },
        ];
        const lpRes = (await server.api('POST', '/api/v1/pages', {
          slug: 'ma-seminar', title: '無料オンラインセミナー｜MA 入門', description: '営業につながるリードの育て方を 45 分で学べる無料セミナー。', published: true, site_key: site.site_key,
          seo: { og_image: 'https://www.example.co.jp/og/seminar.png' }, blocks,
          variants: [{ key: 'b', weight: 50, title: '【残席わずか】MA 入門セミナー', blocks: [{ ...blocks[0], heading: '残席わずか：MA 入門セミナー' }, blocks[1], blocks[2]] }],
        }));
        assert.equal(lpRes.status, 201, lpRes.info);
        const lp = lpRes.json;
        await server.api('POST', '/api/v1/pages', { slug: 'whitepaper-2026', title: '導入事例集 2026 ダウンロード', published: true, blocks: [{ type: 'hero', heading: '導入事例集 2026' }, { type: 'form', form_id: form.id }] });
        await server.api('POST', '/api/v1/pages', { slug: 'spring-campaign', title: '春のキャンペーン', published: false, blocks: [{ type: 'hero', heading: '春のキャンペーン' }] });
        server.lpId = lp.id;
        for (let i = 0; i < 40; i++) {
          const r = await fetch(`${server.url}/p/ma-seminar`, { headers: { cookie: `kz_vid=shot${i}` } });
          await r.text();
        }
        const segs = (await server.api('GET', '/api/v1/segments')).json.data;
        const hero = (await server.api('POST', '/api/v1/slots', {
          name: 'home-hero', description: 'トップページのメインビジュアル',
          default: { html: '<h2>マーケティングを、もっと確かに。</h2>' },
          variants: [
            ...(segs[0] ? [{ key: 'vip', label: segs[0].name, rule: { segment_id: segs[0].id }, html: '<h2>いつもありがとうございます</h2>' }] : []),
            { key: 'ad', label: '秋の広告', rule: { utm_campaign: 'autumn' }, html: '<h2>秋のキャンペーン実施中</h2>' },
            { key: 'back', label: '再訪問者', rule: { visitor: 'returning' }, html: '<h2>おかえりなさい。事例集はこちら</h2>' },
          ],
        })).json;
        await server.api('POST', '/api/v1/slots', {
          name: 'exit-offer', kind: 'popup', description: '離脱しそうな初回訪問者に資料を案内',
          default: { html: '' }, variants: [{ key: 'new', label: '初回訪問', rule: { visitor: 'new' }, form_id: form.id }],
          popup: { style: 'modal', trigger: { type: 'exit' }, frequency: { max: 1, days: 30 } },
        });
        for (let i = 0; i < 25; i++) await fetch(`${server.url}/t/content?site=${site.site_key}&slots=home-hero&vid=v${i}${i % 3 ? '' : '&url=' + encodeURIComponent('https://www.example.co.jp/?utm_campaign=autumn')}`);
        for (let i = 0; i < 4; i++) await fetch(`${server.url}/t/content/event?site=${site.site_key}&slot=${hero.id}&variant=ad&type=click`, { method: 'POST' });
      }
      await go('/pages');
      await page.getByTestId('lp-row').first().waitFor();
      await shot(page, lang, 'pages');
      await go(`/pages/${server.lpId}`);
      await page.getByTestId('ab-row').first().waitFor();
      await page.waitForTimeout(900);
      await shot(page, lang, 'page-editor');
      await page.getByTestId('ab-panel').scrollIntoViewIfNeeded();
      await shot(page, lang, 'page-editor-ab');
      await go('/personalize');
      await page.getByTestId('slot-card').first().waitFor();
      await shot(page, lang, 'personalize');
      await page.getByTestId('slot-edit').first().click();
      await page.getByRole('dialog').waitFor();
      await shot(page, lang, 'personalize-edit');
      await page.keyboard.press('Escape');
    });

    test(`${lang}: audience — scoring rules, stages, a contact's score`, async () => {
      if (!(await server.api('GET', '/api/v1/scoring/rules')).json.data.length) {
        const rules = [
          { name: '料金ページを見た', event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/pricing' }], points: 5, limit: { times: 2, per: 'day' }, category: 'engagement' },
          { name: '資料ダウンロード', event: 'asset_downloaded', points: 10, limit: { times: 1, per: 'ever' }, category: 'engagement' },
          { name: 'フォーム送信', event: 'form_submitted', points: 15, category: 'engagement' },
          { name: '配信停止', event: 'email_unsubscribed', points: -20, category: 'engagement' },
          { name: '従業員100名以上', filter: { field: 'fields.employees', op: 'gte', value: 100 }, points: 10, category: 'fit' },
          { name: '展示会で名刺交換', filter: { field: 'tags', op: 'contains', value: '展示会2026' }, points: 8, category: 'fit' },
        ];
        for (const r of rules) assert.equal((await server.api('POST', '/api/v1/scoring/rules', r)).status, 201);
        await server.api('PUT', '/api/v1/scoring/settings', { decay: { percent: 25, days: 30 }, company: 'sum', thresholds: [50, 100] });
        const st = await server.api('PUT', '/api/v1/stages', { stages: ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer', 'repeater'], rules: [
          { to: 'lead', when: { field: 'email', op: 'exists' } },
          { to: 'mql', when: { all: [{ field: 'score', op: 'gte', value: 20 }, { event: 'page_view', where: [{ prop: 'path', op: 'starts_with', value: '/pricing' }], within_days: 30 }] } },
          { to: 'customer', when: { event: 'purchase' } },
          { to: 'repeater', when: { event: 'purchase', count: { op: 'gte', value: 2 } } },
        ] });
        assert.equal(st.status, 200, st.info);
        const batch = [];
        for (let i = 0; i < 3; i++) batch.push({ type: 'page', contactId: ids.contact, messageId: `shot-p-${i}`, properties: { url: 'https://www.example.co.jp/pricing', path: '/pricing' } });
        batch.push({ type: 'track', event: 'form_submitted', contactId: ids.contact, messageId: 'shot-f', properties: { form_id: 1 } });
        batch.push({ type: 'track', event: 'asset_downloaded', contactId: ids.contact, messageId: 'shot-a', properties: { asset: 'whitepaper-a' } });
        assert.equal((await server.api('POST', '/api/v1/events', { batch })).status, 200);
        await server.api('POST', '/api/v1/scoring/recompute', {});
      }
      await go('/scoring');
      await page.getByTestId('rule-row').first().waitFor();
      await shot(page, lang, 'scoring');
      await page.getByTestId('rule-row').first().getByTestId('rule-edit').click();
      await page.getByTestId('rule-dialog').waitFor();
      await shot(page, lang, 'scoring-rule');
      await page.getByTestId('dialog-close').click();
      await go('/scoring/stages');
      await page.getByTestId('stage-rule').first().waitFor();
      await shot(page, lang, 'scoring-stages');
      await go(`/contacts/${ids.contact}`);
      await page.getByTestId('contact-score').waitFor();
      await shot(page, lang, 'contact-score');
    });

    test(`${lang}: coming soon and not found`, async () => {
      await go('/reports');
      await page.getByTestId('coming-soon').waitFor();
      await shot(page, lang, 'coming-soon');
      // An unknown page under an app prefix (the server answers other unknown paths with a JSON 404).
      await page.goto(`${server.url}/contacts/12/no-such-tab`);
      await page.getByTestId('not-found').waitFor();
      await shot(page, lang, 'not-found');
    });
  });
}
