// journeys.test.mjs — the journey screens in Chromium against the real engine: build a journey on
// the canvas (drag from the palette, connect two steps, add one at a free exit, edit in the side
// panel), see a validation problem on the offending step, save and activate it, enrol a contact
// through the API and watch the stats appear on the canvas and the contact's Journeys card;
// the step-mail preset (ja) writes a journey that validates and runs.
import assert from 'node:assert/strict';
import { createContact, expectText, login, msg, startServer, test, waitFor } from './browser.mjs';

async function emails(s, names) {
  const out = [];
  for (const [name, subject] of names) {
    const r = await s.api('POST', '/api/v1/emails', { name, subject, html: `<p>${subject}</p>` });
    assert.equal(r.status, 201, r.info);
    out.push(r.json);
  }
  return out;
}

test('build_a_journey_on_the_canvas_activate_it_and_see_the_stats', async ({ page }) => {
  const L = 'en';
  const s = await startServer();
  const [welcome] = await emails(s, [['Welcome', 'Thanks for signing up'], ['Tips', 'Three tips']]);
  const c = await createContact(s, { email: 'hanako@example.jp', last_name: '佐藤', first_name: '花子' });
  await login(page, s, s.admin.email, s.admin.password, { lang: L });

  await page.getByRole('navigation', { name: msg(L, 'nav.main') }).getByRole('link', { name: msg(L, 'nav.journeys') }).click();
  await page.getByTestId('journeys-empty').waitFor();
  await page.getByTestId('create-journey').click();
  await page.getByTestId('new-journey-name').fill('Welcome series');
  await page.getByTestId('new-journey-submit').click();
  await page.waitForURL(/\/journeys\/\d+$/);
  const id = Number(page.url().split('/').pop());
  await page.getByTestId('canvas').waitFor();

  // drag "Send email" from the palette onto the canvas: it becomes the first step
  const canvas = page.getByTestId('canvas');
  await page.getByTestId('palette-send_email').dragTo(canvas, { targetPosition: { x: 300, y: 260 } });
  const mail = page.getByTestId('step-email_1');
  await mail.waitFor();
  await page.getByTestId('edge-trigger-start').waitFor({ state: 'attached' });
  // no email chosen yet, and it leads nowhere: the server's problems are painted on the step
  await mail.getByTestId('step-problem').waitFor();
  assert.ok(await mail.evaluate((el) => el.classList.contains('has-problem')), 'the step is outlined in red');
  await page.getByTestId('problem-count').waitFor();

  // edit it in the side panel
  await mail.click();
  await expectText(page.getByTestId('panel-kind'), msg(L, 'journeys.kind_send_email'));
  await page.getByTestId('field-email_id').selectOption(String(welcome.id));
  await page.getByTestId('step-label').fill('Say hello');
  await expectText(mail.locator('.jb-node-title'), 'Say hello');

  // a wait step dropped on its own, then connected by dragging from the email's exit
  await page.getByTestId('palette-wait').dragTo(canvas, { targetPosition: { x: 110, y: 470 } });
  await page.getByTestId('step-wait_1').waitFor();
  await page.getByTestId('port-email_1-next').dragTo(page.getByTestId('step-wait_1'));
  await page.getByTestId('edge-email_1-next').waitFor({ state: 'attached' });
  await page.getByTestId('step-wait_1').click();
  await page.getByTestId('field-seconds').fill('2');
  await page.getByTestId('field-seconds-unit').selectOption('days');
  await expectText(page.getByTestId('step-wait_1').locator('.jb-node-title'), msg(L, 'journeys.sum_wait', { d: msg(L, 'journeys.dur_days', { n: 2 }) }));

  // the free exit's "+" adds the next step right there
  await page.getByTestId('port-wait_1-next').click();
  await page.getByTestId('add-menu').getByTestId('add-exit').click();
  await page.getByTestId('step-exit_1').waitFor();
  await page.getByTestId('edge-wait_1-next').waitFor({ state: 'attached' });
  await page.getByTestId('problem-count').waitFor({ state: 'hidden' });
  assert.equal(await page.getByTestId('step-problem').count(), 0);

  // disconnect and reconnect through the panel's select
  await page.getByTestId('step-wait_1').click();
  await page.getByTestId('exit-next').selectOption('');
  await page.getByTestId('step-wait_1').getByTestId('step-problem').waitFor();
  await page.getByTestId('exit-next').selectOption('exit_1');
  await page.getByTestId('problem-count').waitFor({ state: 'hidden' });

  // zoom and fit
  const before = await page.getByTestId('zoom-level').innerText();
  await page.getByTestId('zoom-in').click();
  assert.notEqual(await page.getByTestId('zoom-level').innerText(), before);
  await page.getByTestId('zoom-fit').click();

  // a draft saves itself a moment after the last edit
  await expectText(page.getByTestId('save-state'), new RegExp(msg(L, 'journeys.saved_at').replace('{at}', '.+')));
  const saved = (await s.api('GET', `/api/v1/journeys/${id}`)).json;
  assert.equal(saved.name, 'Welcome series');
  const d = saved.definition;
  assert.equal(d.start, 'email_1');
  assert.equal(d.steps.email_1.email_id, welcome.id);
  assert.equal(d.steps.email_1.label, 'Say hello');
  assert.equal(d.steps.email_1.next, 'wait_1');
  assert.equal(d.steps.wait_1.seconds, 2 * 86400);
  assert.equal(d.steps.wait_1.next, 'exit_1');
  assert.equal(d.steps.exit_1.type, 'exit');
  assert.ok(Number.isFinite(d.steps.wait_1.ui.x) && Number.isFinite(d.steps.wait_1.ui.y), 'canvas positions are saved');

  // activate; enrol a contact through the API; the canvas shows where they are
  await page.getByTestId('journey-run').click();
  await page.getByTestId('confirm-ok').click();
  await expectText(page.getByTestId('journey-status'), msg(L, 'journeys.status_active'));
  const enrol = await s.api('POST', `/api/v1/journeys/${id}/enroll`, { contact_id: c.id });
  assert.ok(enrol.status === 200 || enrol.status === 201 || enrol.status === 202, enrol.info);
  await expectText(page.getByTestId('stat-enrolled'), '1', { timeout: 20_000 });
  await expectText(page.getByTestId('step-wait_1').getByTestId('step-waiting'), '1', { timeout: 20_000 });
  await expectText(page.getByTestId('step-email_1').getByTestId('step-entered'), '1');
  // and one more by hand, from the builder
  await createContact(s, { email: 'taro@example.jp', last_name: '山田', first_name: '太郎' });
  await page.getByTestId('journey-enrol').click();
  await page.getByTestId('enrol-search').fill('taro');
  await page.getByTestId('enrol-results').getByTestId('enrol-one').click();
  await expectText(page.getByTestId('enrol-results').getByTestId('enrol-one'), msg(L, 'journeys.enrolled_one'));
  await page.getByTestId('enrol-search').fill('hanako');
  await page.getByTestId('enrol-results').getByTestId('enrol-one').click();
  await expectText(page.getByTestId('enrol-results').getByTestId('enrol-one'), msg(L, 'journeys.enrol_skipped'));
  await page.keyboard.press('Escape');
  await page.getByTestId('enrol-dialog').waitFor({ state: 'detached' });
  await expectText(page.getByTestId('stat-enrolled'), '2', { timeout: 20_000 });

  // editing the live journey makes version 2; the people on version 1 can be moved to it
  await page.getByTestId('step-wait_1').click();
  await page.getByTestId('field-seconds').fill('3');
  await page.getByTestId('live-note').waitFor();
  await page.getByTestId('journey-save').click();
  await expectText(page.getByTestId('journey-version'), msg(L, 'journeys.version_n', { n: 2 }));
  await page.getByTestId('journey-version').click();
  await page.getByTestId('version-1').getByTestId('migrate-1').click();
  await page.getByTestId('migrate-submit').click();
  await page.getByTestId('toast-success').filter({ hasText: msg(L, 'journeys.migrated', { n: 2, v: 2 }) }).waitFor();
  await waitFor(async () => (await s.api('GET', `/api/v1/contacts/${c.id}/journeys`)).json.data[0]?.version === 2, { what: 'hanako on version 2' });

  // the contact's page says where they are
  await page.goto(`${s.url}/contacts/${c.id}`);
  const card = page.getByTestId('contact-journeys');
  await card.getByTestId('contact-journey').filter({ hasText: 'Welcome series' }).waitFor();
  await expectText(card.getByTestId('cj-step'), /wait_1|Wait/);

  // the list shows it running, with its counts
  await page.goto(`${s.url}/journeys`);
  const row = page.getByTestId('journey-row').filter({ hasText: 'Welcome series' });
  await expectText(row.getByTestId('journey-enrolled'), '2');
  await row.getByText(msg(L, 'journeys.status_active')).waitFor();
});

test('activating_a_broken_journey_names_the_step', async ({ page }) => {
  const L = 'en';
  const s = await startServer();
  const r = await s.api('POST', '/api/v1/journeys', { name: 'Broken', definition: { triggers: [{ type: 'manual' }], start: 'a', steps: { a: { type: 'wait', seconds: 60 } }, settings: {} } });
  assert.equal(r.status, 201, r.info);
  await login(page, s, s.admin.email, s.admin.password, { lang: L });
  await page.goto(`${s.url}/journeys/${r.json.id}`);
  await page.getByTestId('step-a').getByTestId('step-problem').waitFor();
  await page.getByTestId('journey-run').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('toast-error').waitFor();
  await expectText(page.getByTestId('journey-status'), msg(L, 'journeys.status_draft'));
  assert.equal((await s.api('GET', `/api/v1/journeys/${r.json.id}`)).json.status, 'draft');
});

test('the_step_mail_preset_creates_a_journey_that_runs', { locale: 'ja-JP' }, async ({ page }) => {
  const L = 'ja';
  const s = await startServer();
  const mails = await emails(s, [['お礼メール', 'お申し込みありがとうございます'], ['3日目', '活用のヒント'], ['7日目', '導入事例']]);
  const c = await createContact(s, { email: 'taro@example.jp', last_name: '山田', first_name: '太郎' });
  await login(page, s, s.admin.email, s.admin.password, { lang: L });
  await page.goto(`${s.url}/journeys`);
  await page.getByTestId('new-sequence').click();
  await page.getByTestId('sequence-title').waitFor();
  await page.getByTestId('seq-name').fill('セミナー申込フォロー');
  await page.getByTestId('seq-trigger').selectOption('event');
  await page.getByTestId('seq-event').fill('seminar_signup');
  await page.getByTestId('seq-delay-0').fill('1');
  await page.getByTestId('seq-email-0').selectOption(String(mails[0].id));
  await page.getByTestId('seq-email-1').selectOption(String(mails[1].id));
  await page.getByTestId('seq-email-2').selectOption(String(mails[2].id));
  await expectText(page.getByTestId('seq-preview'), /1 日後[\s\S]*お礼メール[\s\S]*3 日後[\s\S]*7 日後/);
  await page.getByTestId('seq-create').click();
  await page.waitForURL(/\/journeys\/\d+$/);
  const id = Number(page.url().split('/').pop());
  await page.getByTestId('step-email_1').waitFor();
  assert.equal(await page.getByTestId('step-problem').count(), 0);

  const d = (await s.api('GET', `/api/v1/journeys/${id}`)).json.definition;
  assert.deepEqual(d.triggers, [{ type: 'event', event: 'seminar_signup' }]);
  assert.equal(d.start, 'wait_1');
  assert.equal(d.steps.wait_1.seconds, 86400);
  assert.equal(d.steps.email_1.email_id, mails[0].id);
  assert.equal(d.steps.wait_2.seconds, 2 * 86400);
  assert.equal(d.steps.wait_3.seconds, 4 * 86400);
  assert.equal(d.steps.email_3.next, 'done');
  assert.deepEqual(d.settings.send_window.days, ['mon', 'tue', 'wed', 'thu', 'fri']);
  const v = await s.api('POST', '/api/v1/journeys/validate', d);
  assert.equal(v.json.valid, true, v.info);

  await page.getByTestId('journey-run').click();
  await page.getByTestId('confirm-ok').click();
  await expectText(page.getByTestId('journey-status'), msg(L, 'journeys.status_active'));
  await s.api('POST', `/api/v1/journeys/${id}/enroll`, { contact_id: c.id });
  await expectText(page.getByTestId('step-wait_1').getByTestId('step-waiting'), '1', { timeout: 20_000 });
  await page.goto(`${s.url}/contacts/${c.id}`);
  await page.getByTestId('contact-journeys').getByTestId('contact-journey').filter({ hasText: 'セミナー申込フォロー' }).waitFor();
  await waitFor(async () => (await s.api('GET', `/api/v1/contacts/${c.id}/journeys`)).json.data.some((e) => e.step === 'wait_1'), { what: 'the contact waiting at wait_1' });
});
