// broadcasts.js — newsletters (メルマガ / 一斉配信): the list with progress, and a new broadcast:
// choose the email and who gets it, see the recipient count and skip reasons, send now or later.
import { api } from '../api.js';
import { debounce, h, icon, mount } from '../dom.js';
import { t, fmtDateTime, fmtNumber } from '../i18n.js';
import { can } from '../state.js';
import { emptyState, field, formError, openDialog, pageHead, showFieldError, skeletonRows, toast } from '../ui.js';

export function progress(b) {
	const s = b.stats || {};
	const done = (s.sent || 0) + (s.failed || 0);
	const pct = b.recipients ? Math.round((done / b.recipients) * 100) : (b.status === 'sent' ? 100 : 0);
	return h('div', { 'data-testid': 'broadcast-progress', title: `${pct}%` },
		h('div', { style: { background: 'var(--surface-2, #eef0f4)', borderRadius: '4px', height: '8px', minWidth: '120px' } },
			h('div', { style: { width: `${pct}%`, background: 'var(--accent, #2f5bea)', height: '8px', borderRadius: '4px' } })),
		h('span', { class: 'hint', text: `${fmtNumber(done)} / ${fmtNumber(b.recipients)}` }));
}

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.emails'), href: '/emails' }, { label: t('emails.broadcasts') }]);
	const writable = can('manage_fields');
	const tbody = h('tbody', null, skeletonRows(5, 3));
	mount(ctx.root,
		pageHead({ title: t('emails.broadcasts'), desc: t('broadcasts.desc'),
			actions: writable ? [h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'create-broadcast', onclick: create }, icon('plus'), t('broadcasts.create'))] : [] }),
		h('div', { class: 'card' }, h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'broadcasts-table', 'aria-label': t('emails.broadcasts') },
			h('thead', null, h('tr', null, ['col_email', 'col_audience', 'col_status', 'col_progress', 'col_send_at'].map((k) => h('th', { scope: 'col' }, t(`broadcasts.${k}`))))),
			tbody))));
	const emails = (await api.get('/emails', null, { signal: ctx.signal })).data;
	const segments = (await api.get('/segments', { limit: 500 }, { signal: ctx.signal }).catch(() => ({ data: [] }))).data || [];
	const segName = (id) => (segments.find((x) => x.id === id) || { name: `#${id}` }).name;
	const nameOf = (id) => (emails.find((e) => e.id === id) || { name: `#${id}` }).name;

	async function load() {
		const r = await api.get('/broadcasts', null, { signal: ctx.signal });
		if (!ctx.alive) return;
		if (!r.data.length) {
			mount(tbody, h('tr', null, h('td', { colspan: 5 }, emptyState({ iconName: 'mail', title: t('broadcasts.empty_title'), text: t('broadcasts.empty_text'), testid: 'broadcasts-empty', compact: true }))));
			return;
		}
		mount(tbody, r.data.map((b) => h('tr', { class: 'row-link', 'data-testid': 'broadcast-row', onclick: () => ctx.navigate(`/broadcasts/${b.id}`) },
			h('td', null, h('a', { href: `/broadcasts/${b.id}`, text: nameOf(b.email_id) })),
			h('td', { text: b.all_contacts ? t('broadcasts.everyone') : b.tag ? t('broadcasts.tag', { tag: b.tag }) : t('broadcasts.segment_named', { name: segName(b.segment_id) }) }),
			h('td', null, h('span', { class: `badge ${b.status === 'sent' ? 'badge-success' : ''}`, text: t(`broadcasts.status_${b.status}`) })),
			h('td', null, progress(b)),
			h('td', { text: fmtDateTime(b.send_at) }))));
	}

	function create() {
		const emailSel = h('select', { class: 'input', 'data-testid': 'broadcast-email' }, emails.map((e) => h('option', { value: String(e.id), text: e.name })));
		const who = h('select', { class: 'input', 'data-testid': 'broadcast-audience' },
			h('option', { value: 'tag', text: t('broadcasts.by_tag') }),
			segments.length ? h('option', { value: 'segment', text: t('broadcasts.by_segment') }) : null,
			h('option', { value: 'all', text: t('broadcasts.everyone') }));
		const seg = h('select', { class: 'input', 'data-testid': 'broadcast-segment' },
			segments.map((x) => h('option', { value: String(x.id), text: x.name })));
		const tag = h('input', { class: 'input', 'data-testid': 'broadcast-tag', placeholder: 'newsletter' });
		const segField = field({ label: t('broadcasts.segment_label'), control: seg });
		const tagField = field({ label: t('broadcasts.tag_label'), control: tag });
		const show = () => {
			segField.hidden = who.value !== 'segment';
			tagField.hidden = who.value !== 'tag';
		};
		who.addEventListener('input', show);
		const when = h('input', { class: 'input', type: 'datetime-local', 'data-testid': 'broadcast-send-at' });
		const est = h('div', { class: 'callout', 'data-testid': 'broadcast-estimate', text: t('broadcasts.estimate_hint') });
		// A/B test: other emails (subject or content variants) to a test share; the winner goes to the rest
		const abOn = h('input', { type: 'checkbox', 'data-testid': 'broadcast-ab' });
		const abVariants = h('div', { class: 'ab-variants', 'data-testid': 'broadcast-ab-variants' });
		const variantBox = (e) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: String(e.id), 'data-testid': `broadcast-ab-variant-${e.id}` }), h('span', { text: e.name }));
		const fillVariants = () => mount(abVariants, emails.filter((e) => String(e.id) !== emailSel.value).map(variantBox));
		const abPct = h('input', { class: 'input', type: 'number', min: 1, max: 90, value: 20, 'data-testid': 'broadcast-ab-percent' });
		const abMetric = h('select', { class: 'input', 'data-testid': 'broadcast-ab-metric' }, h('option', { value: 'open', text: t('broadcasts.ab_by_open') }), h('option', { value: 'click', text: t('broadcasts.ab_by_click') }));
		const abWait = h('input', { class: 'input', type: 'number', min: 1, step: 'any', value: 4, 'data-testid': 'broadcast-ab-wait' });
		const abBody = h('div', { class: 'stack-sm ab-body', hidden: true },
			h('div', { class: 'field' }, h('label', { text: t('broadcasts.ab_variants') }), abVariants, h('div', { class: 'hint', text: t('broadcasts.ab_variants_hint') })),
			h('div', { class: 'form-grid' },
				field({ label: t('broadcasts.ab_percent'), control: abPct, hint: t('broadcasts.ab_percent_hint') }),
				field({ label: t('broadcasts.ab_metric'), control: abMetric }),
				field({ label: t('broadcasts.ab_wait'), control: abWait, hint: t('broadcasts.ab_wait_hint') })));
		abOn.addEventListener('change', () => { abBody.hidden = !abOn.checked; });
		emailSel.addEventListener('input', fillVariants);
		fillVariants();
		const abField = h('div', { class: 'settings-section' }, h('label', { class: 'check check-block' }, abOn, h('span', null, h('strong', { text: t('broadcasts.ab') }), h('span', { class: 'hint', style: { display: 'block' }, text: t('broadcasts.ab_hint') }))), abBody);
		const err = formError();
		const body = () => {
			const b = { email_id: Number(emailSel.value) };
			if (who.value === 'all') b.all_contacts = true;
			else if (who.value === 'segment') b.segment_id = Number(seg.value);
			else b.tag = tag.value.trim();
			if (when.value) b.send_at = new Date(when.value).toISOString();
			if (abOn.checked) {
				b.ab = { variants: [...abVariants.querySelectorAll('input:checked')].map((x) => Number(x.value)), test_percent: Number(abPct.value), metric: abMetric.value, wait_minutes: Number(abWait.value) * 60 };
			}
			return b;
		};
		const estimate = debounce(async () => {
			if (who.value === 'tag' && !tag.value.trim()) return;
			try {
				const b = body();
				delete b.send_at;
				delete b.ab;
				const r = await api.post('/broadcasts/estimate', b, { quiet: true });
				const reasons = Object.entries(r.skipped).map(([k, v]) => `${t(`emails.reason_${k}`)} ${fmtNumber(v)}`).join('、');
				est.textContent = t('broadcasts.estimate', { n: fmtNumber(r.recipients), total: fmtNumber(r.total) }) + (reasons ? ` — ${t('emails.skipped')}: ${reasons}` : '');
			} catch (e) {
				est.textContent = e.message;
			}
		}, 250);
		for (const c of [emailSel, who, seg, tag]) c.addEventListener('input', estimate);
		const { el } = openDialog({
			title: t('broadcasts.create'), testid: 'broadcast-dialog', form: true, wide: true,
			body: [err, field({ label: t('broadcasts.col_email'), control: emailSel, required: true }),
				field({ label: t('broadcasts.col_audience'), control: who }), segField, tagField,
				field({ label: t('broadcasts.col_send_at'), control: when, hint: t('broadcasts.send_at_hint') }), abField, est],
			actions: (close) => [h('button', { type: 'button', class: 'btn', onclick: () => close() }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'broadcast-submit' }, t('broadcasts.send'))],
			onSubmit: async (close) => {
				try {
					const b = await api.post('/broadcasts', body(), { quiet: true });
					close();
					toast(t('broadcasts.queued'));
					ctx.navigate(`/broadcasts/${b.id}`);
				} catch (e) {
					showFieldError(el.querySelector('form'), e);
				}
			},
		});
		show();
		estimate();
	}
	await load();
}
