// visitor.js — one visitor: who (device, contact), its visits with their sources, and its events.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDateTime, fmtRelative, fmtNumber } from '../i18n.js';
import { skeletonBlock, emptyState } from '../ui.js';
import { eventItem, touchLabel, sourceLabel, shortId, urlPath } from '../tracking.js';

export default async function render(ctx) {
	const id = Number(ctx.params.id);
	const back = { label: t('nav.visitors'), href: '/visitors' };
	ctx.setCrumbs([back, { label: t('common.loading') }]);
	mount(ctx.root, h('div', { class: 'card' }, h('div', { class: 'card-body' }, skeletonBlock(6))));
	if (!Number.isInteger(id) || id <= 0) throw Object.assign(new Error(t('visitors.not_found')), { status: 404 });
	let v;
	try {
		v = await api.get(`/visitors/${id}`, null, { quiet: true, signal: ctx.signal });
	} catch (e) {
		if (e.status === 404) {
			ctx.setCrumbs([back, { label: t('visitors.not_found') }]);
			mount(ctx.root, h('div', { class: 'card' }, emptyState({ iconName: 'search', title: t('visitors.not_found'), testid: 'visitor-not-found', actions: [h('a', { class: 'btn', href: '/visitors' }, icon('arrowLeft'), t('visitors.back'))] })));
			return;
		}
		throw e;
	}
	if (!ctx.alive) return;
	const name = t('visitors.visitor_n', { id: shortId(v) });
	ctx.setCrumbs([back, { label: name }]);

	const sessions = v.sessions.length
		? h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'visitor-sessions', 'aria-label': t('visitors.sessions') },
			h('thead', null, h('tr', null,
				h('th', { scope: 'col' }, t('visitors.col_started')),
				h('th', { scope: 'col' }, t('visitors.col_source')),
				h('th', { scope: 'col' }, t('visitors.col_landing')),
				h('th', { scope: 'col', class: 'num' }, t('visitors.col_pages')))),
			h('tbody', null, v.sessions.map((s) => h('tr', { 'data-testid': 'visitor-session' },
				h('td', { class: 'nowrap' }, fmtDateTime(s.started_at)),
				h('td', null, h('span', { class: 'badge', text: [sourceLabel(s.source), s.medium && s.medium !== '(none)' ? s.medium : null].filter(Boolean).join(' / ') }), s.campaign ? h('span', { class: 'muted xsmall', text: ` ${s.campaign}` }) : null),
				h('td', { class: 'truncate', title: s.landing_url || '' }, s.landing_url ? urlPath(s.landing_url) : '—'),
				h('td', { class: 'num' }, fmtNumber(s.page_count)))))))
		: h('div', { class: 'card-body' }, h('p', { class: 'muted small', text: t('visitors.no_sessions') }));

	const events = v.events.length
		? h('ol', { class: 'tl', 'data-testid': 'timeline-events', 'aria-label': t('visitors.events') }, v.events.map(eventItem))
		: h('div', { class: 'card-body' }, h('p', { class: 'muted small', text: t('visitors.no_events') }));

	const dd = (x) => (x === null || x === undefined || x === '' ? '—' : x);
	mount(ctx.root,
		h('div', { class: 'record-head' },
			h('span', { class: 'avatar avatar-lg', style: { background: 'var(--c-sunken)', color: 'var(--c-text-2)' }, 'aria-hidden': 'true' }, icon(v.contact_id ? 'user' : 'globe')),
			h('div', { class: 'titles' },
				h('h1', { tabindex: '-1', 'data-testid': 'visitor-name', text: name }),
				h('div', { class: 'sub' },
					h('span', { text: v.contact_id ? t('visitors.identified') : t('visitors.anonymous') }),
					h('span', null, icon('clock', { size: 'sm' }), t('visitors.last_seen_ago', { when: fmtRelative(v.last_seen) })))),
			v.contact_id ? h('div', { class: 'page-actions' }, h('a', { class: 'btn', href: `/contacts/${v.contact_id}`, 'data-testid': 'visitor-contact' }, icon('user'), t('visitors.open_contact'))) : null),
		h('div', { class: 'record-grid' },
			h('div', { class: 'stack' },
				h('section', { class: 'card', 'aria-labelledby': 'vs-h' }, h('div', { class: 'card-header' }, h('h2', { id: 'vs-h', text: t('visitors.sessions') }), h('span', { class: 'muted xsmall', text: fmtNumber(v.sessions.length) })), sessions),
				h('section', { class: 'card', 'aria-labelledby': 've-h' }, h('div', { class: 'card-header' }, h('h2', { id: 've-h', text: t('visitors.events') }), h('span', { class: 'muted xsmall', text: fmtNumber(v.events.length) })), events)),
			h('div', { class: 'side-stack' },
				h('section', { class: 'card', 'aria-labelledby': 'vd-h' },
					h('div', { class: 'card-header' }, h('h2', { id: 'vd-h', text: t('visitors.details') })),
					h('div', { class: 'card-body' }, h('dl', { class: 'meta' },
						h('dt', null, t('visitors.visitor_id')), h('dd', { class: 'mono', style: { overflowWrap: 'anywhere' } }, dd(v.anonymous_id || v.user_id)),
						h('dt', null, t('visitors.col_first_seen')), h('dd', null, fmtDateTime(v.first_seen)),
						h('dt', null, t('visitors.col_last_seen')), h('dd', null, fmtDateTime(v.last_seen)),
						h('dt', null, t('visitors.first_touch')), h('dd', null, dd(touchLabel(v.first_touch))),
						h('dt', null, t('visitors.last_touch')), h('dd', null, dd(touchLabel(v.last_touch))),
						h('dt', null, t('visitors.ip')), h('dd', { class: 'mono' }, dd(v.ip)),
						h('dt', null, t('visitors.user_agent')), h('dd', { class: 'xsmall', style: { overflowWrap: 'anywhere' } }, dd(v.user_agent))))))));
}
