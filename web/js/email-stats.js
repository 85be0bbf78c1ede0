// email-stats.js — the stats of an email or broadcast as numbers and bar charts (no library).
import { h } from './dom.js';
import { t, fmtNumber } from './i18n.js';

function bar(label, n, of, testid) {
	const pct = of > 0 ? Math.round((n / of) * 1000) / 10 : 0;
	return h('div', { class: 'stat-bar', 'data-testid': testid, style: { margin: '6px 0' } },
		h('div', { class: 'row-between', style: { display: 'flex', justifyContent: 'space-between', gap: '8px' } }, h('span', { text: label }), h('strong', { text: `${fmtNumber(n)} (${pct}%)` })),
		h('div', { style: { background: 'var(--surface-2, #eef0f4)', borderRadius: '4px', height: '8px' } },
			h('div', { style: { width: `${Math.min(100, pct)}%`, background: 'var(--accent, #2f5bea)', height: '8px', borderRadius: '4px' } })));
}

/** Bars for delivered/opened/clicked/unsubscribed/bounced, then skip reasons and links. */
export function statsView(s) {
	const sent = s.sent || 0;
	const skipped = Object.entries(s.skipped || {});
	return h('div', { class: 'stack-sm' },
		h('div', { class: 'row-between', style: { display: 'flex', justifyContent: 'space-between', gap: '8px' } }, h('span', { text: t('emails.stat_sent') }), h('strong', { 'data-testid': 'stat-sent', text: fmtNumber(sent) })),
		bar(t('emails.stat_delivered'), s.delivered, sent, 'stat-delivered'),
		bar(t('emails.stat_opened'), s.opened.unique, sent, 'stat-opened'),
		bar(t('emails.stat_clicked'), s.clicked.unique, sent, 'stat-clicked'),
		bar(t('emails.stat_unsubscribed'), s.unsubscribed, sent, 'stat-unsubscribed'),
		bar(t('emails.stat_bounced'), s.bounced.hard + s.bounced.soft, sent, 'stat-bounced'),
		h('p', { class: 'hint', text: t('emails.stat_machine', { n: fmtNumber(s.opened.machine) }) }),
		skipped.length ? h('div', { 'data-testid': 'stat-skipped' }, h('strong', { text: t('emails.skipped') }),
			h('ul', null, skipped.map(([k, v]) => h('li', { text: `${t(`emails.reason_${k}`)}: ${fmtNumber(v)}` })))) : null,
		s.clicked.links && s.clicked.links.length ? h('div', null, h('strong', { text: t('emails.links') }),
			h('ul', null, s.clicked.links.map((l) => h('li', { class: 'mono', text: `${l.url} — ${fmtNumber(l.total)}` })))) : null);
}
