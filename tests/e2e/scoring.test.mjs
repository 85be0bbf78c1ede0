// scoring.test.mjs — a marketer creates a scoring rule in the UI and sees a contact's score and its explanation change; an admin sets a stage transition with the filter builder and moves a contact by hand.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { login, msg, startServer, test } from './browser.mjs';

const L = 'en';

async function pageView(s, contactId, path) {
  const batch = [{ type: 'page', contactId, messageId: randomUUID(), properties: { url: `https://www.example.com${path}`, path } }];
  assert.equal((await s.api('POST', '/api/v1/events', { batch })).status, 200);
}

test('a_scoring_rule_made_in_the_ui_changes_the_contacts_score_and_explains_it', async ({ page }) => {
  const s = await startServer();
  const c = (await s.api('POST', '/api/v1/contacts', { email: 'hot@example.jp' })).json;
  await login(page, s, s.admin.email, s.admin.password, { lang: L });
  await page.getByRole('navigation', { name: msg(L, 'nav.main') }).getByRole('link', { name: msg(L, 'nav.scoring') }).click();
  await page.waitForURL(/\/scoring$/);
  await page.getByTestId('rules-empty').waitFor();

  await page.getByTestId('rule-new').click();
  const dlg = page.getByTestId('rule-dialog');
  await dlg.getByTestId('rule-name').fill('Pricing page');
  await dlg.getByTestId('rule-event').fill('page_view');
  await dlg.getByTestId('rule-prop-value').fill('/pricing');
  await dlg.getByTestId('rule-points-input').fill('7');
  await dlg.getByTestId('rule-limit').selectOption('day');
  await dlg.getByTestId('rule-times').fill('2');
  await dlg.getByTestId('rule-save').click();
  const row = page.getByTestId('rule-row').filter({ hasText: 'Pricing page' });
  await row.waitFor();
  assert.equal((await row.getByTestId('rule-points').innerText()).trim(), '+7');
  await row.filter({ hasText: msg(L, 'scoring.limit_day').replace('{n}', '2') }).waitFor();
  const rule = (await s.api('GET', '/api/v1/scoring/rules')).json.data[0];
  assert.deepEqual({ event: rule.event, where: rule.where, points: rule.points, limit: rule.limit, category: rule.category },
    { event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/pricing' }], points: 7, limit: { times: 2, per: 'day' }, category: 'engagement' });

  // a bad rule is refused in the dialog, which stays open
  await page.getByTestId('rule-new').click();
  await dlg.getByTestId('rule-name').fill('Broken');
  await dlg.getByTestId('rule-points-input').fill('');
  await dlg.getByTestId('rule-save').click();
  await dlg.getByTestId('rule-error').filter({ hasText: 'points' }).waitFor();
  await dlg.getByTestId('dialog-close').click();

  // three visits, two count today; the contact page shows the score and why
  await pageView(s, c.id, '/pricing');
  await pageView(s, c.id, '/pricing');
  await pageView(s, c.id, '/pricing');
  await page.goto(`${s.url}/contacts/${c.id}`);
  const panel = page.getByTestId('audience-panel');
  await panel.getByTestId('contact-score').filter({ hasText: /^14$/ }).waitFor();
  await panel.getByTestId('score-history').getByText('Pricing page').first().waitFor();
  assert.equal(await panel.getByTestId('score-history').locator('li').count(), 2);

  // recompute rebuilds the same scores, with progress shown
  await page.goto(`${s.url}/scoring`);
  await page.getByTestId('recompute').click();
  await page.getByTestId('recompute-status').filter({ hasText: /recomputed/i }).waitFor();

  // a stage transition built with the filter builder, saved
  await page.getByTestId('scoring-tab-stages').click();
  await page.waitForURL(/\/scoring\/stages$/);
  await page.getByTestId('stage-rule-add').click();
  const tr = page.getByTestId('stage-rule').last();
  await tr.getByTestId('stage-rule-to').selectOption('mql');
  const fbRow = tr.getByTestId('fb-condition').first();
  await fbRow.getByTestId('fb-field').selectOption('score');
  await fbRow.getByTestId('fb-op').selectOption('gte');
  await fbRow.getByTestId('fb-value').fill('10');
  await page.getByTestId('stages-save').click();
  await page.getByTestId('toast-success').filter({ hasText: msg(L, 'stages.saved') }).waitFor();
  const cfg = (await s.api('GET', '/api/v1/stages')).json;
  assert.deepEqual(cfg.rules.at(-1), { to: 'mql', when: { all: [{ field: 'score', op: 'gte', value: 10 }] } });

  // one more scored visit tomorrow's limit aside: a new event re-evaluates the rule → mql
  await s.api('POST', '/api/v1/contacts', { email: 'hot@example.jp', first_name: 'Hana' });
  await page.goto(`${s.url}/contacts/${c.id}`);
  await panel.getByTestId('stage-history').getByText(msg(L, 'filter_builder.stage.mql')).waitFor();
  // and a manual move, recorded in the history
  await panel.getByTestId('contact-stage').selectOption('sql');
  await panel.getByTestId('stage-history').locator('li').first().filter({ hasText: msg(L, 'audience_panel.reason_manual') }).waitFor();
  assert.equal((await s.api('GET', `/api/v1/contacts/${c.id}`)).json.stage, 'sql');
});
