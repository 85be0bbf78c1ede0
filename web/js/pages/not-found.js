// not-found.js — an unknown path inside the workspace.
import { h, icon, mount } from '../dom.js';
import { t } from '../i18n.js';

export default function render(ctx) {
	ctx.setCrumbs([{ label: t('errors.not_found_page') }]);
	mount(ctx.root, h('div', { class: 'card' }, h('div', { class: 'empty', 'data-testid': 'not-found' },
		h('div', { class: 'empty-icon' }, icon('search')),
		h('h1', { tabindex: '-1', style: { fontSize: 'var(--fs-lg)' }, text: t('errors.not_found_page') }),
		h('p', { text: t('errors.not_found_text', { path: location.pathname }) }),
		h('div', { class: 'row' }, h('a', { class: 'btn btn-primary', href: '/' }, t('nav.dashboard')), h('a', { class: 'btn', href: '/contacts' }, t('nav.contacts'))))));
}
