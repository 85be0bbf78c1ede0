// settings-users.js — the people who sign in: invite (password shown once), role, deactivate.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { settingsHead, noAccess } from '../settings-nav.js';
import { state, can, ROLES, avatarColor } from '../state.js';
import { openDialog, confirmDialog, toast, field, formError, showFieldError, clearFieldErrors, secretBox, skeletonRows, roleBadge } from '../ui.js';

export default async function render(ctx) {
	const admin = can('admin');
	if (!can('read_users')) {
		mount(ctx.root, settingsHead(ctx, 'users'), noAccess());
		return;
	}
	const inviteBtn = admin ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'invite-user', onclick: () => invite() }, icon('userPlus'), t('users.invite')) : null;
	const tbody = h('tbody', { 'data-testid': 'users-rows' }, skeletonRows(5, 3));
	mount(ctx.root, settingsHead(ctx, 'users', inviteBtn ? [inviteBtn] : []),
		!admin ? h('div', { class: 'callout', style: { marginBottom: '16px' } }, icon('info'), h('span', { text: t('users.read_only') })) : null,
		h('div', { class: 'card' }, h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'users-table', 'aria-label': t('settings.tab_users') },
			h('thead', null, h('tr', null,
				h('th', { scope: 'col' }, t('users.col_user')),
				h('th', { scope: 'col' }, t('users.col_role')),
				h('th', { scope: 'col' }, t('users.col_status')),
				h('th', { scope: 'col' }, t('users.col_added')),
				h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('common.actions'))))),
			tbody))),
		h('p', { class: 'muted small', style: { marginTop: '12px' }, text: t('users.roles_help') }));

	let users = [];
	async function load() {
		const r = await api.get('/users');
		users = r.data;
		state.users = users;
		if (ctx.alive) mount(tbody, users.map(row));
	}

	function row(u) {
		const self = u.id === state.user.id;
		let roleCell = roleBadge(u.role);
		if (admin && !self) {
			const sel = h('select', { class: 'select input-sm', style: { width: 'auto' }, 'aria-label': t('users.role_for', { name: u.name || u.email }), 'data-testid': 'user-role' }, ROLES.map((r) => h('option', { value: r, selected: r === u.role }, t(`roles.${r}`))));
			sel.addEventListener('change', async () => {
				try {
					await api.patch(`/users/${u.id}`, { role: sel.value });
					u.role = sel.value;
					toast(t('users.role_changed', { name: u.name || u.email, role: t(`roles.${sel.value}`) }));
				} catch {
					sel.value = u.role;
				}
			});
			roleCell = sel;
		}
		const actions = [];
		if (admin && !self) {
			actions.push(u.active
				? h('button', { type: 'button', class: 'btn btn-sm btn-danger-ghost', 'data-testid': 'user-deactivate', onclick: () => setActive(u, false) }, t('users.deactivate'))
				: h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'user-reactivate', onclick: () => setActive(u, true) }, t('users.reactivate')));
		}
		return h('tr', { 'data-testid': 'user-row', 'data-email': u.email },
			h('td', null, h('div', { class: 'cell-name' },
				h('span', { class: 'avatar', style: { background: u.active ? avatarColor('u' + u.id) : 'var(--c-border-strong)' }, 'aria-hidden': 'true' }, (u.name || u.email).slice(0, 1).toUpperCase()),
				h('div', null, h('div', { class: 'name' }, u.name || u.email, self ? h('span', { class: 'badge', style: { marginLeft: '8px' } }, t('users.you')) : null), h('div', { class: 'sub', text: u.email })))),
			h('td', null, roleCell),
			h('td', null, u.active ? h('span', { class: 'badge badge-success' }, h('span', { class: 'dot' }), t('users.active')) : h('span', { class: 'badge' }, h('span', { class: 'dot' }), t('users.inactive'))),
			h('td', { class: 'muted nowrap' }, fmtDate(u.created_at)),
			h('td', { class: 'num' }, actions));
	}

	async function setActive(u, active) {
		if (!active) {
			const ok = await confirmDialog({
				title: t('users.deactivate_title', { name: u.name || u.email }),
				message: t('users.deactivate_text'),
				confirmLabel: t('users.deactivate'),
				testid: 'deactivate-dialog',
			});
			if (!ok) return;
		}
		try {
			await api.patch(`/users/${u.id}`, { active });
			toast(active ? t('users.reactivated', { name: u.name || u.email }) : t('users.deactivated', { name: u.name || u.email }));
			await load();
		} catch {
			/* toasted */
		}
	}

	function invite() {
		const email = h('input', { class: 'input', type: 'email', name: 'email', autocomplete: 'off', 'data-testid': 'invite-email' });
		const name = h('input', { class: 'input', name: 'name', autocomplete: 'off', 'data-testid': 'invite-name' });
		const role = h('select', { class: 'select', name: 'role', 'data-testid': 'invite-role' }, ROLES.map((r) => h('option', { value: r, selected: r === 'marketer' }, `${t(`roles.${r}`)} — ${t(`roles.${r}_desc`)}`)));
		const err = formError();
		const { el } = openDialog({
			title: t('users.invite_title'),
			testid: 'invite-dialog',
			form: true,
			body: [err, field({ label: t('users.email'), control: email, required: true }), field({ label: t('users.name'), control: name }), field({ label: t('users.role'), control: role }),
				h('p', { class: 'small', text: t('users.invite_hint') })],
			actions: (close) => [
				h('button', { type: 'button', class: 'btn', onclick: () => close() }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'invite-submit' }, t('users.invite_submit')),
			],
			onSubmit: async (close) => {
				const form = el.querySelector('form');
				clearFieldErrors(form);
				if (!email.value.trim()) return showFieldError(form, { field: 'email', message: t('users.email_required') });
				try {
					const body = { email: email.value.trim(), role: role.value };
					if (name.value.trim()) body.name = name.value.trim();
					const u = await api.post('/users', body, { quiet: true });
					close();
					await load();
					showPassword(u);
				} catch (e) {
					showFieldError(form, e);
				}
			},
		});
	}

	function showPassword(u) {
		openDialog({
			title: t('users.created_title'),
			testid: 'invite-result-dialog',
			body: [
				h('p', { text: t('users.created_text', { name: u.name || u.email }) }),
				h('div', { class: 'field' }, h('span', { class: 'label' }, t('users.email')), h('div', { class: 'secret' }, h('code', { 'data-testid': 'invite-result-email', text: u.email }))),
				h('div', { class: 'field' }, h('span', { class: 'label' }, t('users.password')), secretBox(u.password || '', 'invite-password')),
				h('div', { class: 'callout callout-warning' }, icon('alert'), h('span', { text: t('users.password_once') })),
			],
			actions: (close) => [h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'invite-done', onclick: () => close() }, t('common.done'))],
		});
	}

	await load();
}
