// coming-soon.js — the designed placeholder for sections not built yet (segments, emails,
// journeys, forms, reports): what the section will do, so the page is never a dead end.
import { h, icon, mount } from '../dom.js';
import { t } from '../i18n.js';

const ART = {
	segments: ['filter', 'tag', 'contacts'],
	emails: ['mail', 'clock', 'reports'],
	journeys: ['forms', 'clock', 'mail'],
	forms: ['forms', 'check', 'contacts'],
	reports: ['reports', 'activity', 'segments'],
};

export default function render(ctx) {
	const id = ctx.nav;
	ctx.setCrumbs([{ label: t(`nav.${id}`) }]);
	const points = [1, 2, 3].map((n) => t(`soon.${id}_${n}`));
	const art = ART[id] || ART.reports;
	mount(ctx.root,
		h('div', { class: 'card', 'data-testid': 'coming-soon', 'data-section': id },
			h('div', { class: 'soon-hero' },
				h('div', null,
					h('span', { class: 'badge badge-primary' }, icon('sparkles', { size: 'sm' }), t('soon.badge')),
					h('h1', { tabindex: '-1', 'data-testid': 'page-title' }, t(`soon.${id}_title`)),
					h('p', { class: 'lead', text: t(`soon.${id}_lead`) }),
					h('ul', null, points.map((p) => h('li', null, icon('checkCircle'), h('span', { text: p })))),
					h('div', { class: 'row' },
						h('a', { class: 'btn btn-primary', href: '/contacts' }, icon('contacts'), t('soon.go_contacts')),
						h('a', { class: 'btn btn-ghost', href: '/' }, t('soon.go_dashboard')))),
				h('div', { class: 'soon-art', 'aria-hidden': 'true' },
					art.map((ic, i) => [
						i ? h('div', { class: 'connector' }) : null,
						h('div', { class: 'ghost-card' }, icon(ic), h('div', { class: 'bars' }, h('span', { style: { width: `${60 + i * 10}%` } }), h('span', { style: { width: `${40 + i * 15}%` } }))),
					])))));
}
