// settings-general.js — workspace settings: default country for phone numbers, time zone, sender identity.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, regionName, setTimeZone } from '../i18n.js';
import { settingsHead } from '../settings-nav.js';
import { state, can } from '../state.js';
import { toast, field, formError, showFieldError, clearFieldErrors, skeletonBlock } from '../ui.js';

const COUNTRIES = ['JP', 'US', 'GB', 'CN', 'KR', 'TW', 'HK', 'SG', 'TH', 'VN', 'ID', 'MY', 'PH', 'IN', 'AU', 'NZ', 'CA', 'DE', 'FR', 'IT', 'ES', 'NL', 'SE', 'CH', 'BR', 'MX'];

function zones() {
	try {
		return Intl.supportedValuesOf('timeZone');
	} catch {
		return ['Asia/Tokyo', 'UTC'];
	}
}

export default async function render(ctx) {
	const admin = can('admin');
	const card = h('div', { class: 'card settings-form' }, h('div', { class: 'card-body' }, skeletonBlock(6)));
	mount(ctx.root, settingsHead(ctx, 'general'), card);
	let s;
	try {
		s = await api.get('/settings', null, { quiet: true, signal: ctx.signal });
	} catch (e) {
		if (e.name === 'AbortError') return;
		mount(card, h('div', { class: 'empty', 'data-testid': 'settings-error' }, h('div', { class: 'empty-icon' }, icon('alertCircle')), h('h3', { text: t('general.load_failed') }), h('p', { text: e.message })));
		return;
	}
	if (!ctx.alive) return;

	const ro = !admin;
	const countries = [...new Set([s.default_country, ...COUNTRIES].filter(Boolean))]
		.map((c) => ({ c, name: regionName(c) }))
		.sort((a, b) => (a.c === 'JP' ? -1 : b.c === 'JP' ? 1 : a.name.localeCompare(b.name)));
	const country = h('select', { class: 'select', name: 'default_country', disabled: ro, 'data-testid': 'settings-country' }, countries.map(({ c, name }) => h('option', { value: c, selected: c === s.default_country }, `${name} (${c})`)));
	const tzList = zones();
	if (s.timezone && !tzList.includes(s.timezone)) tzList.unshift(s.timezone);
	const tz = h('select', { class: 'select', name: 'timezone', disabled: ro, 'data-testid': 'settings-timezone' }, tzList.map((z) => h('option', { value: z, selected: z === s.timezone }, z.replace(/_/g, ' '))));
	const senderName = h('input', { class: 'input', name: 'sender_name', value: s.sender_name || '', disabled: ro, autocomplete: 'off', placeholder: t('general.sender_name_placeholder'), 'data-testid': 'settings-sender-name' });
	const senderEmail = h('input', { class: 'input', type: 'email', name: 'sender_email', value: s.sender_email || '', disabled: ro, autocomplete: 'off', placeholder: 'news@example.co.jp', 'data-testid': 'settings-sender-email' });
	const replyTo = h('input', { class: 'input', type: 'email', name: 'reply_to', value: s.reply_to || '', disabled: ro, autocomplete: 'off', placeholder: 'support@example.co.jp', 'data-testid': 'settings-reply-to' });
	const err = formError();
	const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'settings-save' }, t('common.save_changes'));

	const form = h('form', { novalidate: true, 'data-testid': 'settings-general-form' },
		h('div', { class: 'card-body stack' },
			ro ? h('div', { class: 'callout' }, icon('lock'), h('span', { text: t('general.read_only') })) : null,
			err,
			h('div', { class: 'settings-section' }, h('h2', { class: 'section-title', text: t('general.region') }), h('p', { class: 'section-desc', text: t('general.region_text') }),
				h('div', { class: 'form-grid' },
					field({ label: t('general.country'), control: country, hint: t('general.country_hint') }),
					field({ label: t('general.timezone'), control: tz, hint: t('general.timezone_hint') }))),
			h('div', { class: 'settings-section' }, h('h2', { class: 'section-title', text: t('general.sender') }), h('p', { class: 'section-desc', text: t('general.sender_text') }),
				h('div', { class: 'form-grid' },
					field({ label: t('general.sender_name'), control: senderName, span2: true }),
					field({ label: t('general.sender_email'), control: senderEmail }),
					field({ label: t('general.reply_to'), control: replyTo, hint: t('general.reply_to_hint') })))),
		ro ? null : h('div', { class: 'wizard-foot', style: { justifyContent: 'flex-end' } }, save));

	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		clearFieldErrors(form);
		const body = {
			default_country: country.value,
			timezone: tz.value,
			sender_name: senderName.value.trim(),
			sender_email: senderEmail.value.trim(),
			reply_to: replyTo.value.trim(),
		};
		for (const [k, c] of [['sender_email', senderEmail], ['reply_to', replyTo]]) {
			if (body[k] && !c.checkValidity()) return showFieldError(form, { field: k, message: t('general.email_invalid') });
		}
		save.disabled = true;
		try {
			const out = await api.patch('/settings', body, { quiet: true });
			state.settings = out || body;
			setTimeZone(state.settings.timezone);
			toast(t('general.saved'));
		} catch (x) {
			showFieldError(form, x);
		} finally {
			save.disabled = false;
		}
	});
	mount(card, form);
}
