// visitors.js — visitors of the tracked sites, most recently seen first: anonymous ones by default.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDateTime, fmtRelative } from '../i18n.js';
import { setQuery } from '../app.js';
import { pageHead, skeletonRows, emptyState } from '../ui.js';
import { touchLabel, shortId, urlPath } from '../tracking.js';

const COLS = 5;

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.visitors') }]);
	let show = ctx.query.show === 'all' ? 'all' : 'anonymous';
	let items = [];
	let cursor = null;
	let loading = false;

	const showSel = h('select', { class: 'select', id: 'visitors-show', 'data-testid': 'visitors-show' },
		h('option', { value: 'anonymous', selected: show === 'anonymous' }, t('visitors.show_anonymous')),
		h('option', { value: 'all', selected: show === 'all' }, t('visitors.show_all')));
	showSel.addEventListener('change', () => {
		show = showSel.value;
		setQuery({ show: show === 'all' ? 'all' : null });
		load(false);
	});
	const tbody = h('tbody', { 'data-testid': 'visitor-rows' }, skeletonRows(COLS, 6));
	const footer = h('div', { class: 'table-footer', hidden: true });
	mount(ctx.root,
		pageHead({ title: t('visitors.title'), desc: t('visitors.desc'), testid: 'visitors-title' }),
		h('div', { class: 'toolbar' }, h('label', { for: 'visitors-show', class: 'sr-only', text: t('visitors.show') }), showSel),
		h('div', { class: 'card' }, h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'visitors-table', 'aria-label': t('visitors.title') },
			h('thead', null, h('tr', null,
				h('th', { scope: 'col' }, t('visitors.col_visitor')),
				h('th', { scope: 'col' }, t('visitors.col_last_seen')),
				h('th', { scope: 'col' }, t('visitors.col_source')),
				h('th', { scope: 'col' }, t('visitors.col_landing')),
				h('th', { scope: 'col' }, t('visitors.col_first_seen')))),
			tbody)), footer));

	function row(v) {
		const touch = v.last_touch || v.first_touch;
		const landing = touch && touch.landing_url;
		return h('tr', { 'data-testid': 'visitor-row' },
			h('td', null, h('div', { class: 'cell-name' },
				h('span', { class: 'avatar avatar-sm', style: { background: 'var(--c-sunken)', color: 'var(--c-text-2)' }, 'aria-hidden': 'true' }, icon(v.contact_id ? 'user' : 'globe', { size: 'sm' })),
				h('div', null,
					h('a', { class: 'name mono', href: `/visitors/${v.id}`, 'data-testid': 'visitor-link', title: v.anonymous_id || v.user_id || '', text: shortId(v) }),
					h('div', { class: 'sub' }, v.contact_id ? h('a', { href: `/contacts/${v.contact_id}`, text: t('visitors.identified') }) : t('visitors.anonymous'))))),
			h('td', { class: 'nowrap', title: fmtDateTime(v.last_seen) }, fmtRelative(v.last_seen)),
			h('td', null, touch ? h('span', { class: 'badge', text: touchLabel(touch) }) : h('span', { class: 'muted', text: '—' })),
			h('td', { class: 'truncate', title: landing || '' }, landing ? urlPath(landing) : '—'),
			h('td', { class: 'nowrap muted' }, fmtDateTime(v.first_seen)));
	}

	function paint() {
		if (!items.length) {
			mount(tbody, h('tr', null, h('td', { colspan: COLS }, emptyState({
				iconName: 'globe', title: t('visitors.empty_title'), text: t('visitors.empty_text'), testid: 'visitors-empty',
				actions: [h('a', { class: 'btn', href: '/settings/sites' }, icon('settings'), t('visitors.setup_sites'))],
			}))));
			footer.hidden = true;
			return;
		}
		mount(tbody, items.map(row));
		footer.hidden = false;
		mount(footer, h('span', { text: t('track.shown', { n: items.length }) }),
			cursor ? h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'visitors-more', onclick: () => load(true) }, icon('chevronDown', { size: 'sm' }), t('track.load_more')) : null);
	}

	async function load(more) {
		if (loading) return;
		loading = true;
		try {
			const r = await api.get('/visitors', { limit: 50, anonymous: show === 'anonymous' ? 'true' : undefined, cursor: more ? cursor : undefined }, { signal: ctx.signal });
			if (!ctx.alive) return;
			items = more ? items.concat(r.data) : r.data;
			cursor = r.next_cursor;
			paint();
		} finally {
			loading = false;
		}
	}
	await load(false);
}
