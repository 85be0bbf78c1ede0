// settings-keys.js — API keys: create (the key is shown once, with copy), list, revoke.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDate, fmtRelative, fmtDateTime } from '../i18n.js';
import { settingsHead, noAccess } from '../settings-nav.js';
import { can, ROLES } from '../state.js';
import { openDialog, confirmDialog, toast, field, formError, showFieldError, clearFieldErrors, secretBox, skeletonRows, emptyState, roleBadge } from '../ui.js';

export default async function render(ctx) {
	if (!can('admin')) {
		mount(ctx.root, settingsHead(ctx, 'api-keys'), noAccess());
		return;
	}
	const createBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'create-key', onclick: () => create() }, icon('plus'), t('keys.create'));
	const tbody = h('tbody', { 'data-testid': 'keys-rows' }, skeletonRows(6, 3));
	const COLS = 7;
	mount(ctx.root, settingsHead(ctx, 'api-keys', [createBtn]),
		h('div', { class: 'callout', style: { marginBottom: '16px' } }, icon('info'), h('span', null, t('keys.intro'), ' ', h('a', { href: '/api/v1/openapi.json', target: '_blank', rel: 'noopener' }, t('keys.docs')))),
		h('div', { class: 'card' }, h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'keys-table', 'aria-label': t('settings.tab_api-keys') },
			h('thead', null, h('tr', null,
				h('th', { scope: 'col' }, t('keys.col_name')),
				h('th', { scope: 'col' }, t('keys.col_key')),
				h('th', { scope: 'col' }, t('keys.col_role')),
				h('th', { scope: 'col' }, t('keys.col_created')),
				h('th', { scope: 'col' }, t('keys.col_used')),
				h('th', { scope: 'col' }, t('keys.col_status')),
				h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('common.actions'))))),
			tbody))));

	async function load() {
		const r = await api.get('/api-keys');
		if (!ctx.alive) return;
		const keys = r.data.slice().sort((a, b) => (a.revoked_at ? 1 : 0) - (b.revoked_at ? 1 : 0) || b.id - a.id);
		if (!keys.length) {
			mount(tbody, h('tr', null, h('td', { colspan: COLS }, emptyState({ iconName: 'key', title: t('keys.empty_title'), text: t('keys.empty_text') }))));
			return;
		}
		mount(tbody, keys.map(row));
	}

	function row(k) {
		return h('tr', { 'data-testid': 'key-row', 'data-name': k.name, class: k.revoked_at ? 'muted' : '' },
			h('td', null, h('div', { class: 'name' }, k.name)),
			h('td', null, h('code', { class: 'mono' }, `${k.prefix}…`)),
			h('td', null, roleBadge(k.role)),
			h('td', { class: 'nowrap', title: fmtDateTime(k.created_at) }, fmtDate(k.created_at)),
			h('td', { class: 'nowrap', title: k.last_used_at ? fmtDateTime(k.last_used_at) : '' }, k.last_used_at ? fmtRelative(k.last_used_at) : t('keys.never')),
			h('td', null, k.revoked_at ? h('span', { class: 'badge badge-danger', title: fmtDateTime(k.revoked_at) }, t('keys.revoked')) : h('span', { class: 'badge badge-success' }, h('span', { class: 'dot' }), t('keys.active'))),
			h('td', { class: 'num' }, k.revoked_at ? null : h('button', { type: 'button', class: 'btn btn-sm btn-danger-ghost', 'data-testid': 'key-revoke', onclick: () => revoke(k) }, t('keys.revoke'))));
	}

	async function revoke(k) {
		const ok = await confirmDialog({
			title: t('keys.revoke_title', { name: k.name }),
			message: t('keys.revoke_text'),
			confirmLabel: t('keys.revoke'),
			testid: 'revoke-dialog',
		});
		if (!ok) return;
		try {
			await api.del(`/api-keys/${k.id}`);
			toast(t('keys.revoked_toast', { name: k.name }));
			await load();
		} catch {
			/* toasted */
		}
	}

	function create() {
		const name = h('input', { class: 'input', name: 'name', autocomplete: 'off', placeholder: t('keys.name_placeholder'), 'data-testid': 'key-name' });
		const role = h('select', { class: 'select', name: 'role', 'data-testid': 'key-role' }, ROLES.map((r) => h('option', { value: r, selected: r === 'marketer' }, `${t(`roles.${r}`)} — ${t(`roles.${r}_desc`)}`)));
		const err = formError();
		const { el } = openDialog({
			title: t('keys.create_title'),
			testid: 'create-key-dialog',
			form: true,
			body: [err, field({ label: t('keys.col_name'), control: name, required: true, hint: t('keys.name_hint') }), field({ label: t('keys.col_role'), control: role, hint: t('keys.role_hint') })],
			actions: (close) => [
				h('button', { type: 'button', class: 'btn', onclick: () => close() }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'create-key-submit' }, t('keys.create')),
			],
			onSubmit: async (close) => {
				const form = el.querySelector('form');
				clearFieldErrors(form);
				if (!name.value.trim()) return showFieldError(form, { field: 'name', message: t('keys.name_required') });
				try {
					const k = await api.post('/api-keys', { name: name.value.trim(), role: role.value }, { quiet: true });
					close();
					await load();
					showKey(k);
				} catch (e) {
					showFieldError(form, e);
				}
			},
		});
	}

	function showKey(k) {
		const example = `curl -H "Authorization: Bearer ${k.key}" ${location.origin}/api/v1/contacts?limit=1`;
		openDialog({
			title: t('keys.created_title'),
			testid: 'key-created-dialog',
			wide: true,
			body: [
				h('p', { text: t('keys.created_text', { name: k.name }) }),
				secretBox(k.key, 'api-key-secret'),
				h('div', { class: 'callout callout-warning' }, icon('alert'), h('span', { text: t('keys.once') })),
				h('div', { class: 'field' }, h('span', { class: 'label' }, t('keys.try_it')), h('div', { class: 'secret' }, h('code', { text: example }))),
			],
			actions: (close) => [h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'key-done', onclick: () => close() }, t('keys.saved_it'))],
		});
	}

	await load();
}
