// dashboard.js — the landing page: counts, the live view of tracking, recently added contacts, popular tags, quick links.
import { api, errorMessage } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtNumber, fmtRelative, fmtDate, fmtTime, hourNow } from '../i18n.js';
import { state, can, contactName, initials, avatarColor, loadFields } from '../state.js';
import { pageHead, emptyState, skeletonBlock } from '../ui.js';
import { sourceLabel } from '../tracking.js';

const LIVE_REFRESH_MS = 30_000;

/** Events per minute as a bar chart in plain SVG (60 bars, oldest left). */
function perMinuteChart(perMinute) {
	const ns = 'http://www.w3.org/2000/svg';
	const W = 600;
	const H = 96;
	const max = Math.max(1, ...perMinute.map((m) => m.count));
	const total = perMinute.reduce((a, m) => a + m.count, 0);
	const svg = document.createElementNS(ns, 'svg');
	svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
	svg.setAttribute('preserveAspectRatio', 'none');
	svg.setAttribute('class', 'live-chart');
	svg.setAttribute('role', 'img');
	svg.setAttribute('aria-label', t('live.chart_label', { n: total }));
	const bw = W / perMinute.length;
	perMinute.forEach((m, i) => {
		const bh = m.count ? Math.max(3, (m.count / max) * (H - 4)) : 1;
		const r = document.createElementNS(ns, 'rect');
		r.setAttribute('x', String(i * bw + 1));
		r.setAttribute('y', String(H - bh));
		r.setAttribute('width', String(Math.max(1, bw - 2)));
		r.setAttribute('height', String(bh));
		r.setAttribute('rx', '1.5');
		r.setAttribute('class', m.count ? 'bar' : 'bar bar-zero');
		const title = document.createElementNS(ns, 'title');
		title.textContent = `${fmtTime(m.minute)} · ${t('live.events_n', { n: m.count })}`;
		r.append(title);
		svg.append(r);
	});
	return svg;
}

/** A ranked list with a proportional bar behind each count. */
function rankList(items, label, testid, empty) {
	if (!items.length) return h('p', { class: 'muted small', 'data-testid': `${testid}-empty`, text: empty });
	const max = Math.max(...items.map((x) => x.count));
	return h('ol', { class: 'rank', 'data-testid': testid }, items.map((x) => {
		const l = label(x);
		return h('li', null,
			h('span', { class: 'rank-bar', style: { width: `${Math.round((x.count / max) * 100)}%` }, 'aria-hidden': 'true' }),
			h('span', { class: 'rank-label' }, h('strong', { text: l.main, title: l.title || l.main }), l.sub ? h('span', { class: 'mono', text: l.sub }) : null),
			h('span', { class: 'rank-count', text: fmtNumber(x.count) }));
	}));
}

function statCard({ id, label, iconName, href, foot }) {
	const value = h('div', { class: 'value', 'data-testid': `stat-${id}` }, h('span', { class: 'skeleton skeleton-xl', style: { width: '80px' } }));
	const footEl = h('div', { class: 'foot', text: foot || '' });
	const card = h(href ? 'a' : 'div', { class: 'card stat', href }, h('div', { class: 'label' }, icon(iconName), label), value, footEl);
	return {
		card,
		set(v, more, foot2) {
			value.textContent = v === null ? '—' : fmtNumber(v) + (more ? '+' : '');
			if (foot2 !== undefined) footEl.textContent = foot2;
		},
	};
}

function greeting() {
	const hr = hourNow();
	return hr < 11 ? t('dashboard.morning') : hr < 18 ? t('dashboard.afternoon') : t('dashboard.evening');
}

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.dashboard') }]);
	const name = state.user.name || state.user.email;
	const stats = {
		contacts: statCard({ id: 'contacts', label: t('nav.contacts'), iconName: 'contacts', href: '/contacts' }),
		companies: statCard({ id: 'companies', label: t('nav.companies'), iconName: 'companies', href: '/companies' }),
		tags: statCard({ id: 'tags', label: t('dashboard.tags_in_use'), iconName: 'tag', href: '/contacts' }),
		fields: statCard({ id: 'fields', label: t('dashboard.custom_fields'), iconName: 'fields', href: '/settings/fields' }),
	};
	const recentBody = h('div', { class: 'card-body' }, skeletonBlock(5));
	const liveTotal = h('span', { class: 'muted xsmall', 'data-testid': 'live-total' });
	const liveBody = h('div', { class: 'card-body' }, skeletonBlock(3));
	const liveCard = h('section', { class: 'card live', 'aria-labelledby': 'live-h', 'data-testid': 'live' },
		h('div', { class: 'card-header' }, h('h2', { id: 'live-h' }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), t('live.title')), liveTotal),
		liveBody);
	const tagsBody = h('div', { class: 'card-body' }, skeletonBlock(2));

	const quick = [
		can('write_contacts') && { href: '/import', icon: 'upload', label: t('dashboard.q_import') },
		can('write_contacts') && { href: '/contacts?new=1', icon: 'userPlus', label: t('dashboard.q_add_contact') },
		{ href: '/companies', icon: 'companies', label: t('dashboard.q_companies') },
		{ href: '/settings/fields', icon: 'fields', label: t('dashboard.q_fields') },
		can('admin') && { href: '/settings/users', icon: 'user', label: t('dashboard.q_invite') },
		can('admin') && { href: '/settings/api-keys', icon: 'key', label: t('dashboard.q_keys') },
		{ href: '/segments', icon: 'segments', label: t('dashboard.q_segments') },
		{ href: '/api/v1/openapi.json', icon: 'book', label: t('dashboard.q_api'), external: true },
	].filter(Boolean);

	mount(ctx.root,
		pageHead({ title: t('dashboard.title', { name }), desc: `${greeting()} · ${fmtDate(new Date())}`, testid: 'dashboard-title' }),
		h('div', { class: 'stats' }, Object.values(stats).map((s) => s.card)),
		liveCard,
		h('div', { class: 'dash-grid' },
			h('section', { class: 'card', 'aria-labelledby': 'recent-h' },
				h('div', { class: 'card-header' }, h('h2', { id: 'recent-h', text: t('dashboard.recent') }), h('a', { href: '/contacts?sort=-created_at', class: 'btn btn-ghost btn-sm' }, t('common.view_all'), icon('arrowRight', { size: 'sm' }))),
				recentBody),
			h('div', { class: 'side-stack' },
				h('section', { class: 'card', 'aria-labelledby': 'quick-h' },
					h('div', { class: 'card-header' }, h('h2', { id: 'quick-h', text: t('dashboard.quick_links') })),
					h('div', { class: 'card-body' }, h('div', { class: 'quick' }, quick.map((q) =>
						h('a', { href: q.href, target: q.external ? '_blank' : null, rel: q.external ? 'noopener' : null, 'data-testid': `quick-${q.href.replace(/[^a-z]/g, '')}` }, icon(q.icon), q.label))))),
				h('section', { class: 'card', 'aria-labelledby': 'tags-h' },
					h('div', { class: 'card-header' }, h('h2', { id: 'tags-h', text: t('dashboard.popular_tags') })),
					tagsBody))));

	const sig = ctx.signal;
	async function loadLive() {
		try {
			const r = await api.get('/live', null, { quiet: true, signal: sig });
			if (!ctx.alive) return;
			const total = r.per_minute.reduce((a, m) => a + m.count, 0);
			liveTotal.textContent = t('live.total', { n: total });
			mount(liveBody, h('div', { class: 'live-grid' },
				h('div', { class: 'live-minutes' },
					h('h3', { class: 'live-sub', text: t('live.per_minute') }),
					perMinuteChart(r.per_minute),
					h('div', { class: 'live-axis', 'aria-hidden': 'true' }, h('span', { text: t('live.ago_60') }), h('span', { text: t('live.now') }))),
				h('div', null,
					h('h3', { class: 'live-sub', text: t('live.top_pages') }),
					rankList(r.top_pages, (p) => ({ main: p.title || p.path, sub: p.title ? p.path : null, title: p.path }), 'live-pages', t('live.no_pages'))),
				h('div', null,
					h('h3', { class: 'live-sub', text: t('live.top_sources') }),
					rankList(r.top_sources, (x) => ({ main: sourceLabel(x.source) }), 'live-sources', t('live.no_sources')))));
		} catch (e) {
			if (e.name === 'AbortError' || !ctx.alive) return;
			mount(liveBody, h('p', { class: 'muted small', text: t('live.unavailable') }));
		}
	}
	loadLive();
	const liveTimer = setInterval(loadLive, LIVE_REFRESH_MS);
	ctx.onCleanup(() => clearInterval(liveTimer));
	api.get('/stats', null, { quiet: true, signal: sig }).then(
		(r) => {
			stats.contacts.set(r.contacts, false);
			stats.companies.set(r.companies, false);
		},
		() => {
			stats.contacts.set(null);
			stats.companies.set(null);
		});
	loadFields().then((f) => stats.fields.set(f.length), () => stats.fields.set(null));

	api.get('/tags', null, { quiet: true, signal: sig }).then((r) => {
		const tags = (r.data || []).slice().sort((a, b) => b.count - a.count);
		stats.tags.set(tags.length);
		if (!ctx.alive) return;
		if (!tags.length) {
			mount(tagsBody, h('p', { class: 'muted small', text: t('dashboard.no_tags') }));
			return;
		}
		mount(tagsBody, h('div', { class: 'chips' }, tags.slice(0, 16).map((x) =>
			h('a', { class: 'chip', href: `/contacts?tag=${encodeURIComponent(x.tag)}` }, x.tag, h('span', { class: 'muted', style: { marginLeft: '6px' } }, fmtNumber(x.count))))));
	}, () => {
		stats.tags.set(null);
		if (ctx.alive) mount(tagsBody, h('p', { class: 'muted small', text: t('dashboard.tags_unavailable') }));
	});

	try {
		const r = await api.get('/contacts', { sort: '-created_at', limit: 8 }, { signal: sig });
		if (!ctx.alive) return;
		if (!r.data.length) {
			mount(recentBody, emptyState({
				iconName: 'contacts',
				title: t('dashboard.empty_title'),
				text: t('dashboard.empty_text'),
				compact: true,
				actions: can('write_contacts') ? [h('a', { class: 'btn btn-primary', href: '/import' }, icon('upload'), t('import.title')), h('a', { class: 'btn', href: '/contacts?new=1' }, t('contacts.new'))] : [],
			}));
			return;
		}
		recentBody.className = 'card-body flush';
		mount(recentBody, h('ul', { class: 'list', 'data-testid': 'recent-contacts' }, r.data.map((c) =>
			h('li', null, h('a', { class: 'list-item', href: `/contacts/${c.id}` },
				h('span', { class: 'avatar', style: { background: avatarColor(c.id) } }, initials(c)),
				h('span', { class: 'main' }, h('strong', { text: contactName(c) }), h('span', { text: [c.company && c.company.name, c.email].filter(Boolean).join(' · ') })),
				h('span', { class: 'muted xsmall nowrap', title: c.created_at, text: fmtRelative(c.created_at) }))))));
	} catch (e) {
		if (e.name === 'AbortError') return;
		mount(recentBody, h('p', { class: 'muted small', text: errorMessage(e) }));
	}
}
