// broadcast.js — one broadcast: status and progress (refreshed while sending), pause, resume,
// cancel, and its stats with charts.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { t, fmtDateTime, fmtNumber } from '../i18n.js';
import { can } from '../state.js';
import { toast } from '../ui.js';
import { statsView } from '../email-stats.js';
import { progress } from './broadcasts.js';

export default async function render(ctx) {
	const id = Number(ctx.params.id);
	const back = { label: t('emails.broadcasts'), href: '/broadcasts' };
	ctx.setCrumbs([back, { label: `#${id}` }]);
	const box = h('div', { 'data-testid': 'broadcast-detail' });
	mount(ctx.root, box);
	const act = (verb) => async () => {
		try {
			await api.post(`/broadcasts/${id}/${verb}`, {}, { quiet: true });
			toast(t(`broadcasts.${{ pause: 'paused', resume: 'resumed', cancel: 'cancelled' }[verb]}`));
			await load();
		} catch (e) {
			toast({ message: e.message, kind: 'error' });
		}
	};
	async function load() {
		const b = await api.get(`/broadcasts/${id}`, null, { signal: ctx.signal });
		if (!ctx.alive) return;
		const email = await api.get(`/emails/${b.email_id}`, null, { signal: ctx.signal, quiet: true }).catch(() => ({ name: `#${b.email_id}` }));
		ctx.setCrumbs([back, { label: email.name }]);
		const w = can('manage_fields');
		mount(box,
			h('div', { class: 'page-head' }, h('h1', { text: email.name }),
				h('div', { class: 'actions' },
					w && b.status === 'sending' ? h('button', { type: 'button', class: 'btn', 'data-testid': 'broadcast-pause', onclick: act('pause') }, t('broadcasts.pause')) : null,
					w && b.status === 'paused' ? h('button', { type: 'button', class: 'btn', 'data-testid': 'broadcast-resume', onclick: act('resume') }, t('broadcasts.resume')) : null,
					w && ['scheduled', 'sending', 'paused'].includes(b.status) ? h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'broadcast-cancel', onclick: act('cancel') }, t('broadcasts.cancel')) : null)),
			h('div', { class: 'card' }, h('div', { class: 'card-body stack' },
				h('dl', { class: 'meta' },
					h('dt', null, t('broadcasts.col_status')), h('dd', { 'data-testid': 'broadcast-status', text: t(`broadcasts.status_${b.status}`) }),
					h('dt', null, t('broadcasts.col_audience')), h('dd', { text: b.all_contacts ? t('broadcasts.everyone') : t('broadcasts.tag', { tag: b.tag }) }),
					h('dt', null, t('broadcasts.col_send_at')), h('dd', { text: fmtDateTime(b.send_at) }),
					h('dt', null, t('broadcasts.col_progress')), h('dd', null, progress(b))),
				b.ab ? await abView(b) : null,
				h('h2', { text: t('emails.stats') }), statsView(b.stats))));
		if (['scheduled', 'sending'].includes(b.status)) setTimeout(() => ctx.alive && load(), 2000);
	}
	/* The A/B test: each variant's test results, the decision time, the winner. */
	async function abView(b) {
		const names = {};
		await Promise.all(b.ab.variants.map(async (v) => {
			names[v] = (await api.get(`/emails/${v}`, null, { signal: ctx.signal, quiet: true }).catch(() => ({ name: `#${v}` }))).name;
		}));
		const metric = b.ab.metric === 'click' ? 'click_rate' : 'open_rate';
		const res = Object.fromEntries((b.ab.results || []).map((r) => [r.email_id, r]));
		const pct = (x) => `${(100 * (x || 0)).toFixed(1)}%`;
		const state = b.ab.winner_email_id ? t('broadcasts.ab_won', { name: names[b.ab.winner_email_id] }) : b.ab.decide_at ? t('broadcasts.ab_deciding', { at: fmtDateTime(b.ab.decide_at) }) : t('broadcasts.ab_waiting');
		return h('div', { class: 'stack-sm', 'data-testid': 'ab-results' },
			h('h2', { text: t('broadcasts.ab') }),
			h('p', { class: 'hint', 'data-testid': 'ab-state', text: `${state} · ${t('broadcasts.ab_summary', { pct: b.ab.test_percent, metric: t(`broadcasts.ab_by_${b.ab.metric}`) })}` }),
			h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
				h('thead', null, h('tr', null, ['ab_variant', 'ab_sent', 'ab_open_rate', 'ab_click_rate'].map((k) => h('th', { scope: 'col', text: t(`broadcasts.${k}`) })))),
				h('tbody', null, b.ab.variants.map((v, i) => {
					const r = res[v] || {};
					const won = b.ab.winner_email_id === v;
					return h('tr', { 'data-testid': 'ab-row', class: won ? 'ab-winner' : null },
						h('td', null, h('span', { class: 'chip', text: String.fromCharCode(65 + i) }), ' ', names[v], won ? h('span', { class: 'badge badge-success', style: { marginLeft: '8px' }, text: t('broadcasts.ab_winner') }) : null),
						h('td', { text: fmtNumber(r.sent || 0) }),
						h('td', { class: metric === 'open_rate' ? 'strong' : null, text: pct(r.open_rate) }),
						h('td', { class: metric === 'click_rate' ? 'strong' : null, text: pct(r.click_rate) }));
				})))));
	}
	await load();
}
