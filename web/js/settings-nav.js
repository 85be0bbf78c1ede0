// settings-nav.js — the header and tabs shared by the Settings pages.
import { h, icon } from './dom.js';
import { t } from './i18n.js';
import { can } from './state.js';
import { pageHead } from './ui.js';

const TABS = [
	{ id: 'users', href: '/settings/users', icon: 'user', show: () => can('read_users') },
	{ id: 'api-keys', href: '/settings/api-keys', icon: 'key', show: () => can('admin') },
	{ id: 'fields', href: '/settings/fields', icon: 'fields', show: () => true },
	{ id: 'sites', href: '/settings/sites', icon: 'globe', show: () => true },
	{ id: 'email', href: '/settings/email', icon: 'mail', show: () => can('admin') },
	{ id: 'general', href: '/settings/general', icon: 'settings', show: () => true },
];

/** Page title, tabs, and breadcrumbs for settings page `active`. */
export function settingsHead(ctx, active, actions) {
	const tab = TABS.find((x) => x.id === active);
	ctx.setCrumbs([{ label: t('nav.settings'), href: '/settings' }, { label: t(`settings.tab_${active}`) }]);
	return [
		pageHead({ title: t('nav.settings'), desc: t('settings.desc'), actions, testid: 'settings-title' }),
		h('nav', { class: 'tabs', 'aria-label': t('settings.sections') },
			TABS.filter((x) => x.show()).map((x) => h('a', { href: x.href, 'aria-current': x === tab ? 'page' : null, 'data-testid': `settings-tab-${x.id}` }, icon(x.icon, { size: 'sm' }), t(`settings.tab_${x.id}`)))),
	];
}

/** Shown instead of a page the role may not open. */
export function noAccess() {
	return h('div', { class: 'card' }, h('div', { class: 'empty', 'data-testid': 'no-access' },
		h('div', { class: 'empty-icon' }, icon('lock')),
		h('h3', { text: t('settings.no_access') }),
		h('p', { text: t('settings.no_access_text') })));
}
