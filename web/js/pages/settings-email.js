// settings-email.js — Settings → Email: how mail leaves (SMTP server, account, rate), the DKIM
// key with its DNS record, a test send, the sender footer (特定電子メール法) and sending rules.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t } from '../i18n.js';
import { settingsHead, noAccess } from '../settings-nav.js';
import { can, state } from '../state.js';
import { toast, field, formError, showFieldError, clearFieldErrors, skeletonBlock, secretBox } from '../ui.js';

const input = (name, value, extra = {}) => h('input', { class: 'input', name, value: value ?? '', autocomplete: 'off', disabled: extra.disabled, 'data-testid': `em-${name}`, ...extra });

function check(name, on, label, hint, ro) {
	const box = h('input', { type: 'checkbox', name, checked: on, disabled: ro, 'data-testid': `em-${name}` });
	return { box, el: h('label', { class: 'check check-block' }, box, h('span', null, h('strong', { text: label }), h('span', { class: 'hint', style: { display: 'block' }, text: hint }))) };
}

function section(title, text, ...body) {
	return h('div', { class: 'settings-section' }, h('h2', { class: 'section-title', text: title }), text ? h('p', { class: 'section-desc', text }) : null, ...body);
}

function activeLine(a) {
	if (!a) return h('div', { class: 'callout' }, icon('alertCircle'), h('span', { text: t('email_settings.no_sender') }));
	const where = a.transport === 'smtp' ? t('email_settings.active_smtp', { location: a.location }) : t('email_settings.active_maildir', { location: a.location });
	return h('div', { class: 'callout', 'data-testid': 'em-active' }, icon(a.transport === 'smtp' ? 'mail' : 'file'),
		h('span', null, where, a.dkim ? ` · DKIM ${a.dkim}` : ` · ${t('email_settings.unsigned')}`, a.configured_by === 'environment' ? ` · ${t('email_settings.by_env')}` : ''));
}

async function deliveryCard(ctx, card) {
	let d;
	try {
		d = await api.get('/settings/email-delivery', null, { quiet: true, signal: ctx.signal });
	} catch (e) {
		if (e.name === 'AbortError') return;
		mount(card, h('div', { class: 'card-body' }, h('div', { class: 'empty' }, h('h3', { text: t('general.load_failed') }), h('p', { text: e.message }))));
		return;
	}
	if (!ctx.alive) return;
	const ro = d.active && d.active.configured_by === 'environment';
	const host = input('smtp_host', d.smtp_host, { placeholder: 'smtp.example.co.jp', disabled: ro });
	const port = input('smtp_port', d.smtp_port ?? '', { type: 'number', min: 1, max: 65535, placeholder: '587', disabled: ro });
	const security = h('select', { class: 'select', name: 'smtp_security', disabled: ro, 'data-testid': 'em-smtp_security' },
		['starttls', 'tls', 'none'].map((v) => h('option', { value: v, selected: v === d.smtp_security }, t(`email_settings.sec_${v}`))));
	const user = input('smtp_username', d.smtp_username, { disabled: ro });
	const pass = input('smtp_password', '', { type: 'password', autocomplete: 'new-password', disabled: ro, placeholder: d.smtp_password_set ? t('email_settings.password_kept') : '' });
	const rate = input('smtp_rate', d.smtp_rate || '', { type: 'number', min: 0, step: 'any', placeholder: t('email_settings.rate_none'), disabled: ro });
	const conns = input('smtp_connections', d.smtp_connections, { type: 'number', min: 1, max: 32, disabled: ro });
	const dkDomain = input('dkim_domain', d.dkim_domain, { placeholder: 'example.co.jp', disabled: ro });
	const dkSel = input('dkim_selector', d.dkim_selector, { placeholder: 'kizuna', disabled: ro });
	const dkKey = h('textarea', { class: 'input mono', name: 'dkim_key', rows: 3, disabled: ro, placeholder: d.dkim_key_set ? t('email_settings.key_kept') : '-----BEGIN PRIVATE KEY-----', 'data-testid': 'em-dkim_key' });
	const err = formError();
	const save = h('button', { type: 'submit', class: 'btn btn-primary', disabled: ro, 'data-testid': 'em-delivery-save' }, t('common.save_changes'));
	const gen = (type) => h('button', { type: 'button', class: 'btn btn-sm', disabled: ro, 'data-testid': `em-dkim-gen-${type}`, onclick: () => generate(type) }, icon('key', { size: 'sm' }), t(`email_settings.gen_${type}`));
	const dns = d.dkim_dns_record
		? h('div', { class: 'stack-sm', 'data-testid': 'em-dns' }, h('div', { class: 'hint', text: t('email_settings.dns_publish', { name: `${d.dkim_selector || 'kizuna'}._domainkey.${d.dkim_domain || 'example.co.jp'}` }) }), secretBox(d.dkim_dns_record, 'em-dns-record'))
		: h('p', { class: 'hint', text: d.dkim_key_set ? t('email_settings.dns_unknown') : t('email_settings.no_key') });
	const to = h('input', { class: 'input', type: 'email', name: 'to', value: state.user?.email || '', 'data-testid': 'em-test-to' });
	const testBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'em-test-send' }, icon('mail', { size: 'sm' }), t('email_settings.test_send'));
	const testOut = h('div', { class: 'hint', 'data-testid': 'em-test-result', 'aria-live': 'polite' });

	async function generate(type) {
		clearFieldErrors(form);
		try {
			const body = { dkim_domain: dkDomain.value.trim(), dkim_selector: dkSel.value.trim() || 'kizuna' };
			await api.patch('/settings/email-delivery', body, { quiet: true });
			await api.post('/settings/email-delivery/dkim-key', { type }, { quiet: true });
			toast(t('email_settings.key_made'));
			deliveryCard(ctx, card);
		} catch (x) {
			showFieldError(form, x);
		}
	}
	testBtn.addEventListener('click', async () => {
		testBtn.disabled = true;
		testOut.textContent = t('email_settings.testing');
		try {
			const r = await api.post('/settings/email-delivery/test', { to: to.value.trim() }, { quiet: true });
			testOut.replaceChildren(icon('check', { size: 'sm' }), ` ${t('email_settings.test_ok', { to: to.value.trim(), location: r.via.location })}`);
			testOut.className = 'hint em-ok';
		} catch (x) {
			testOut.replaceChildren(icon('alertCircle', { size: 'sm' }), ` ${x.message}`);
			testOut.className = 'hint em-bad';
		} finally {
			testBtn.disabled = false;
		}
	});

	const form = h('form', { novalidate: true, 'data-testid': 'em-delivery-form' },
		h('div', { class: 'card-body stack' },
			activeLine(d.active),
			ro ? h('div', { class: 'callout' }, icon('lock'), h('span', { text: t('email_settings.env_locked') })) : null,
			err,
			section(t('email_settings.smtp'), t('email_settings.smtp_text'),
				h('div', { class: 'form-grid' },
					field({ label: t('email_settings.host'), control: host, hint: t('email_settings.host_hint'), span2: true }),
					field({ label: t('email_settings.port'), control: port }),
					field({ label: t('email_settings.security'), control: security }),
					field({ label: t('email_settings.username'), control: user }),
					field({ label: t('email_settings.password'), control: pass, hint: d.smtp_password_set ? t('email_settings.password_hint_set') : t('email_settings.password_hint') }),
					field({ label: t('email_settings.rate'), control: rate, hint: t('email_settings.rate_hint') }),
					field({ label: t('email_settings.connections'), control: conns }))),
			section(t('email_settings.dkim'), t('email_settings.dkim_text'),
				h('div', { class: 'form-grid' },
					field({ label: t('email_settings.dkim_domain'), control: dkDomain }),
					field({ label: t('email_settings.dkim_selector'), control: dkSel }),
					field({ label: t('email_settings.dkim_key'), control: dkKey, hint: t('email_settings.dkim_key_hint'), span2: true })),
				h('div', { class: 'em-actions' }, gen('ed25519'), gen('rsa')),
				dns),
			section(t('email_settings.test'), t('email_settings.test_text'),
				h('div', { class: 'em-test-row' }, field({ label: t('email_settings.test_to'), control: to }), testBtn), testOut)),
		h('div', { class: 'wizard-foot', style: { justifyContent: 'flex-end' } }, save));

	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		clearFieldErrors(form);
		const body = {
			smtp_host: host.value.trim(), smtp_port: port.value ? Number(port.value) : '', smtp_security: security.value,
			smtp_username: user.value.trim(), smtp_rate: rate.value ? Number(rate.value) : 0, smtp_connections: Number(conns.value || 4),
			dkim_domain: dkDomain.value.trim(), dkim_selector: dkSel.value.trim(),
		};
		if (pass.value) body.smtp_password = pass.value;
		if (dkKey.value.trim()) body.dkim_key = dkKey.value.trim();
		save.disabled = true;
		try {
			await api.patch('/settings/email-delivery', body, { quiet: true });
			toast(t('email_settings.delivery_saved'));
			deliveryCard(ctx, card);
		} catch (x) {
			showFieldError(form, x);
			save.disabled = false;
		}
	});
	mount(card, form);
}

async function rulesCard(ctx, card) {
	let s;
	try {
		s = await api.get('/settings', null, { quiet: true, signal: ctx.signal });
	} catch (e) {
		if (e.name === 'AbortError') return;
		mount(card, h('div', { class: 'card-body' }, h('p', { text: e.message })));
		return;
	}
	if (!ctx.alive) return;
	const company = input('company_name', s.company_name, { placeholder: t('email_settings.company_ph') });
	const address = input('company_address', s.company_address, { placeholder: '東京都千代田区丸の内1-1-1' });
	const contactInfo = input('company_contact', s.company_contact, { placeholder: 'support@example.co.jp / 03-1234-5678' });
	const footer = check('email_footer_required', s.email_footer_required === 'true', t('email_settings.footer_required'), t('email_settings.footer_required_hint'));
	const consent = check('email_require_consent', s.email_require_consent === 'true', t('email_settings.require_consent'), t('email_settings.require_consent_hint'));
	const doi = check('email_double_optin', s.email_double_optin === 'true', t('email_settings.double_optin'), t('email_settings.double_optin_hint'));
	const capDay = input('email_frequency_cap_day', s.email_frequency_cap_day, { type: 'number', min: 0, max: 1000 });
	const capWeek = input('email_frequency_cap_week', s.email_frequency_cap_week, { type: 'number', min: 0, max: 1000 });
	const soft = input('email_soft_bounce_limit', s.email_soft_bounce_limit, { type: 'number', min: 0, max: 1000 });
	const err = formError();
	const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'em-rules-save' }, t('common.save_changes'));
	const form = h('form', { novalidate: true, 'data-testid': 'em-rules-form' },
		h('div', { class: 'card-body stack' }, err,
			section(t('email_settings.footer'), t('email_settings.footer_text'),
				h('div', { class: 'form-grid' },
					field({ label: t('email_settings.company'), control: company }),
					field({ label: t('email_settings.company_contact'), control: contactInfo }),
					field({ label: t('email_settings.company_address'), control: address, span2: true })),
				footer.el),
			section(t('email_settings.rules'), t('email_settings.rules_text'),
				consent.el, doi.el,
				h('div', { class: 'form-grid' },
					field({ label: t('email_settings.cap_day'), control: capDay, hint: t('email_settings.cap_hint') }),
					field({ label: t('email_settings.cap_week'), control: capWeek, hint: t('email_settings.cap_hint') }),
					field({ label: t('email_settings.soft_limit'), control: soft, hint: t('email_settings.soft_limit_hint') })))),
		h('div', { class: 'wizard-foot', style: { justifyContent: 'flex-end' } }, save));
	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		clearFieldErrors(form);
		const body = {
			company_name: company.value.trim(), company_address: address.value.trim(), company_contact: contactInfo.value.trim(),
			email_footer_required: String(footer.box.checked), email_require_consent: String(consent.box.checked), email_double_optin: String(doi.box.checked),
			email_frequency_cap_day: capDay.value || '0', email_frequency_cap_week: capWeek.value || '0', email_soft_bounce_limit: soft.value || '0',
		};
		save.disabled = true;
		try {
			state.settings = await api.patch('/settings', body, { quiet: true });
			toast(t('general.saved'));
		} catch (x) {
			showFieldError(form, x);
		} finally {
			save.disabled = false;
		}
	});
	mount(card, form);
}

export default async function render(ctx) {
	if (!can('admin')) {
		mount(ctx.root, settingsHead(ctx, 'email'), noAccess());
		return;
	}
	const delivery = h('div', { class: 'card settings-form', 'data-testid': 'em-delivery' }, h('div', { class: 'card-body' }, skeletonBlock(8)));
	const rules = h('div', { class: 'card settings-form', 'data-testid': 'em-rules' }, h('div', { class: 'card-body' }, skeletonBlock(6)));
	mount(ctx.root, settingsHead(ctx, 'email'), delivery, rules);
	await Promise.all([deliveryCard(ctx, delivery), rulesCard(ctx, rules)]);
}
