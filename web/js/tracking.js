// tracking.js — shared pieces of the tracking screens: one event as a timeline entry, sources, short ids.
import { h, icon } from './dom.js';
import { t, fmtDateTime, fmtRelative } from './i18n.js';

export const EVENT_TYPES = ['page', 'track', 'identify', 'alias'];
const TYPE_ICON = { page: 'file', track: 'activity', identify: 'user', alias: 'link' };

/** The path of a URL ("/pricing"), or the URL itself when it cannot be parsed. */
export function urlPath(u) {
	if (!u) return '';
	try {
		const x = new URL(u);
		return x.pathname + x.search;
	} catch {
		return u;
	}
}

/** A visit's source as shown: "(direct)" becomes the catalogue's word for it. */
export function sourceLabel(s) {
	if (!s || s === '(direct)') return t('track.direct');
	return s;
}

export function touchLabel(touch) {
	if (!touch) return '';
	const parts = [sourceLabel(touch.source)];
	if (touch.medium && touch.medium !== '(none)') parts.push(touch.medium);
	return parts.join(' / ');
}

/** A short form of a visitor's id for lists ("3f1c6c9e…"). */
export function shortId(v) {
	const s = v.anonymous_id || v.user_id || String(v.id);
	return s.length > 12 ? `${s.slice(0, 8)}…` : s;
}

function propChips(obj) {
	const entries = Object.entries(obj || {}).filter(([, v]) => v !== null && v !== undefined && v !== '');
	if (!entries.length) return null;
	return h('div', { class: 'tl-props' }, entries.slice(0, 12).map(([k, v]) =>
		h('span', { class: 'tl-prop' }, h('span', { class: 'k', text: k }), h('span', { class: 'v', text: typeof v === 'object' ? JSON.stringify(v) : String(v) }))));
}

/** One event as an <li> of a .tl list: icon, what happened, details, when (workspace time zone). */
export function eventItem(ev) {
	const c = ev.context || {};
	let title;
	let detail = null;
	if (ev.type === 'page') {
		title = c.title || urlPath(c.url) || t('track.page_view');
		detail = c.url ? h('a', { class: 'tl-url', href: c.url, target: '_blank', rel: 'noopener noreferrer', 'data-external': '', text: c.url }) : null;
	} else if (ev.type === 'identify') {
		const traits = (ev.properties && (ev.properties.traits || ev.properties)) || {};
		title = traits.email ? t('track.identified_as', { email: traits.email }) : t('track.identified');
		detail = propChips(traits);
	} else if (ev.type === 'alias') {
		title = t('track.alias');
	} else {
		title = ev.name;
		detail = propChips(ev.properties);
	}
	return h('li', { class: `tl-item tl-${ev.type}`, 'data-testid': 'timeline-event', 'data-type': ev.type },
		h('span', { class: 'tl-dot', 'aria-hidden': 'true' }, icon(TYPE_ICON[ev.type] || 'info', { size: 'sm' })),
		h('div', { class: 'tl-body' },
			h('div', { class: 'tl-head' },
				h('span', { class: 'badge tl-kind', text: t(`track.type_${ev.type}`) }),
				h('strong', { class: 'tl-title', text: title }),
				h('time', { class: 'tl-time', datetime: ev.occurred_at, title: fmtRelative(ev.occurred_at), text: fmtDateTime(ev.occurred_at) })),
			detail));
}

/** A <select> of event kinds (all + each type); onChange(type|''). */
export function kindFilter({ id, value, onChange, testid }) {
	const sel = h('select', { class: 'select input-sm', id, 'data-testid': testid || 'kind-filter' },
		h('option', { value: '' }, t('track.all_kinds')),
		EVENT_TYPES.map((k) => h('option', { value: k, selected: k === value }, t(`track.type_${k}`))));
	sel.addEventListener('change', () => onChange(sel.value));
	return h('div', { class: 'tl-filter' }, h('label', { for: id, class: 'sr-only', text: t('track.filter_kind') }), sel);
}
