// segments.test.mjs — a marketer builds a nested segment with the visual builder and its live count, edits it, opens its members, and fills a static list from a CSV upload.
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expectCount, login, msg, startServer, test } from './browser.mjs';

const L = 'en';

test('build_a_segment_with_a_live_count_and_fill_a_list_from_csv', async ({ page }) => {
  const s = await startServer();
  const vip = [];
  for (let i = 0; i < 3; i++) {
    const r = await s.api('POST', '/api/v1/contacts', { email: `vip${i}@example.jp`, tags: i < 2 ? ['vip'] : [] });
    vip.push(r.json);
  }
  // vip1 looked at the pricing page
  const batch = [{ type: 'page', contactId: vip[1].id, messageId: `e2e-${Date.now()}`, properties: { url: 'https://www.example.com/pricing', path: '/pricing' } }];
  assert.equal((await s.api('POST', '/api/v1/events', { batch })).status, 200);
  await login(page, s, s.admin.email, s.admin.password, { lang: L });
  await page.getByRole('navigation', { name: msg(L, 'nav.main') }).getByRole('link', { name: msg(L, 'nav.segments') }).click();
  await page.waitForURL(/\/segments$/);
  await page.getByTestId('segments-empty').waitFor();

  // The visual builder: the example filter is replaced by a nested one built by clicking.
  const fb = page.getByTestId('filter-builder');
  await fb.waitFor();
  const live = page.getByTestId('segment-live-count');
  const removeAll = async () => {
    while (await fb.getByTestId('fb-remove').count()) await fb.getByTestId('fb-remove').first().click();
  };
  await removeAll();
  await page.getByTestId('fb-empty').waitFor();
  await live.filter({ hasText: msg(L, 'segments.add_condition') }).waitFor();

  await page.getByTestId('segment-name').fill('VIP');
  // tags includes vip …
  await fb.getByTestId('fb-add-field').last().click();
  const tagRow = fb.getByTestId('fb-condition').first();
  await tagRow.getByTestId('fb-field').selectOption('tags');
  await tagRow.getByTestId('fb-op').selectOption('contains');
  await tagRow.getByTestId('fb-value').fill('vip');
  await live.filter({ hasText: msg(L, 'segments.live_count_suffix') }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="segment-live-count"]')?.dataset.count === '2');
  // … and (email ends with 0@example.jp OR visited /pricing at least once in 30 days)
  await fb.getByTestId('fb-add-group').first().click();
  const inner = fb.getByTestId('fb-group').nth(1);
  await inner.getByTestId('fb-match').selectOption('any');
  const emailRow = inner.getByTestId('fb-condition').first();
  await emailRow.getByTestId('fb-field').selectOption('email');
  await emailRow.getByTestId('fb-op').selectOption('ends_with');
  await emailRow.getByTestId('fb-value').fill('0@example.jp');
  await inner.getByTestId('fb-add-event').click();
  const ev = inner.getByTestId('fb-condition').nth(1);
  await page.waitForFunction(() => document.querySelector('[data-testid="segment-live-count"]')?.dataset.count === '1');
  await ev.getByTestId('fb-prop-value').fill('/pricing');
  await page.waitForFunction(() => document.querySelector('[data-testid="segment-live-count"]')?.dataset.count === '2');
  // the JSON view shows the same filter
  await fb.getByTestId('fb-mode-json').click();
  const json = JSON.parse(await fb.getByTestId('fb-json').inputValue());
  assert.deepEqual(json, { all: [
    { field: 'tags', op: 'contains', value: 'vip' },
    { any: [
      { field: 'email', op: 'ends_with', value: '0@example.jp' },
      { event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/pricing' }], within_days: 30 },
    ] },
  ] });
  // an invalid filter typed as JSON says where it is wrong, and the visual view marks the node
  await fb.getByTestId('fb-json').fill(JSON.stringify({ all: [{ field: 'tags', op: 'gt', value: 'vip' }] }));
  await live.filter({ hasText: '/filter/all/0/op' }).waitFor();
  await fb.getByTestId('fb-mode-visual').click();
  await fb.getByTestId('fb-error').waitFor();
  await fb.getByTestId('fb-mode-json').click();
  await fb.getByTestId('fb-json').fill(JSON.stringify(json));
  await fb.getByTestId('fb-mode-visual').click();
  await expectCount(fb.getByTestId('fb-group'), 2);
  await page.waitForFunction(() => document.querySelector('[data-testid="segment-live-count"]')?.dataset.count === '2');
  await page.getByTestId('segment-save').click();
  const row = page.getByTestId('segment-row').filter({ hasText: 'VIP' });
  await row.waitFor();
  assert.equal((await row.getByTestId('segment-count').innerText()).trim(), '2');
  await page.getByTestId('segment-member-list').getByText('vip1@example.jp').waitFor();
  assert.equal(await page.getByTestId('segment-member-list').locator('li').count(), 2);

  // editing it: drop the event condition, save, and the count follows
  await row.getByTestId('segment-edit').click();
  await expectCount(fb.getByTestId('fb-group'), 2);
  await fb.getByTestId('fb-group').nth(1).getByTestId('fb-condition').nth(1).getByTestId('fb-remove').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="segment-live-count"]')?.dataset.count === '1');
  await page.getByTestId('segment-save').click();
  await row.getByTestId('segment-count').filter({ hasText: /^1$/ }).waitFor();

  // a static list filled from a CSV of emails
  await page.getByTestId('segment-name').fill('Seminar');
  await page.getByTestId('segment-type').selectOption('static');
  await page.getByTestId('segment-save').click();
  await page.getByTestId('segment-row').filter({ hasText: 'Seminar' }).waitFor();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kz-e2e-list-'));
  const csv = path.join(dir, 'seminar.csv');
  writeFileSync(csv, 'email\nvip2@example.jp\nvip0@example.jp\n');
  await page.getByTestId('list-upload').setInputFiles(csv);
  const list = page.getByTestId('segment-row').filter({ hasText: 'Seminar' });
  await list.getByTestId('segment-count').filter({ hasText: '2' }).waitFor();
  await page.getByTestId('segment-member-list').getByText('vip2@example.jp').waitFor();
  const href = await page.getByTestId('segment-export').getAttribute('href');
  assert.match(href, /\/api\/v1\/segments\/\d+\/export\?format=csv$/);
});
