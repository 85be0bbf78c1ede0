// segments.test.mjs — a marketer builds a dynamic segment with a live count, opens its members, and fills a static list from a CSV upload.
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { login, msg, startServer, test } from './browser.mjs';

const L = 'en';

test('build_a_segment_with_a_live_count_and_fill_a_list_from_csv', async ({ page }) => {
  const s = await startServer();
  const vip = [];
  for (let i = 0; i < 3; i++) {
    const r = await s.api('POST', '/api/v1/contacts', { email: `vip${i}@example.jp`, tags: i < 2 ? ['vip'] : [] });
    vip.push(r.json);
  }
  await login(page, s, s.admin.email, s.admin.password, { lang: L });
  await page.getByRole('navigation', { name: msg(L, 'nav.main') }).getByRole('link', { name: msg(L, 'nav.segments') }).click();
  await page.waitForURL(/\/segments$/);
  await page.getByTestId('segments-empty').waitFor();

  await page.getByTestId('segment-name').fill('VIP');
  await page.getByTestId('segment-filter').fill(JSON.stringify({ field: 'tags', op: 'contains', value: 'vip' }));
  await page.getByTestId('segment-live-count').filter({ hasText: msg(L, 'segments.live_count').replace('{n}', '2') }).waitFor();
  // an invalid filter says where it is wrong
  await page.getByTestId('segment-filter').fill(JSON.stringify({ field: 'tags', op: 'gt', value: 'vip' }));
  await page.getByTestId('segment-live-count').filter({ hasText: '/filter/op' }).waitFor();
  await page.getByTestId('segment-filter').fill(JSON.stringify({ field: 'tags', op: 'contains', value: 'vip' }));
  await page.getByTestId('segment-save').click();
  const row = page.getByTestId('segment-row').filter({ hasText: 'VIP' });
  await row.waitFor();
  assert.equal((await row.getByTestId('segment-count').innerText()).trim(), '2');
  await page.getByTestId('segment-member-list').getByText('vip0@example.jp').waitFor();
  assert.equal(await page.getByTestId('segment-member-list').locator('li').count(), 2);

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
