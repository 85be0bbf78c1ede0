// company.js — one company: name and domain edited in place, its contacts, delete.
import { api, errorMessage } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDateTime, fmtRelative } from '../i18n.js';
import { inlineRow } from '../inline.js';
import { can, companyInitial, contactName, contactKana, initials, avatarColor, userLabel, loadUsers } from '../state.js';
import { confirmDialog, toast, skeletonBlock, skeletonRows, emptyState } from '../ui.js';

export default async function render(ctx) {
	const id = Number(ctx.params.id);
	const back = { label: t('nav.companies'), href: '/companies' };
	ctx.setCrumbs([back, { label: t('common.loading') }]);
	mount(ctx.root, h('div', { class: 'card' }, h('div', { class: 'card-body' }, skeletonBlock(6))));
	let company;
	try {
		if (!Number.isInteger(id) || id <= 0) throw Object.assign(new Error('not found'), { status: 404 });
		[company] = await Promise.all([api.get(`/companies/${id}`, null, { quiet: true, signal: ctx.signal }), loadUsers()]);
	} catch (e) {
		if (e.status === 404) {
			ctx.setCrumbs([back, { label: t('company.not_found') }]);
			mount(ctx.root, h('div', { class: 'card' }, emptyState({ iconName: 'search', title: t('company.not_found'), text: t('company.not_found_text'), testid: 'company-not-found', actions: [h('a', { class: 'btn', href: '/companies' }, icon('arrowLeft'), t('company.back'))] })));
			return;
		}
		throw e;
	}
	if (!ctx.alive) return;
	const writable = can('write_contacts');
	const contacts = { rows: [], cursor: null };
	const tbody = h('tbody', { 'data-testid': 'company-contacts' });
	const moreBtn = h('button', { type: 'button', class: 'btn btn-sm', hidden: true, onclick: () => loadContacts(true), 'data-testid': 'load-more' }, t('contacts.load_more'));
	const countEl = h('span', { class: 'muted xsmall', 'aria-live': 'polite' });

	function save(key) {
		return async (v) => {
			if ((company[key] || null) !== v) {
				if (key === 'name' && !v) throw new Error(t('companies.name_required'));
				company = await api.patch(`/companies/${id}`, { [key]: v }, { quiet: true });
				toast(t('contact.saved'));
			}
			renderHead();
			renderProfile();
			const b = ctx.root.querySelector(`[data-testid="field-${key}"]`);
			if (b) b.focus();
		};
	}

	function textRow(key, label, hint) {
		return inlineRow({
			key,
			label,
			readonly: !writable,
			display: () => company[key] || '',
			editor: (eid) => {
				const el = h('input', { class: 'input', id: eid, name: key, value: company[key] || '', placeholder: hint || '', 'data-testid': `edit-${key}` });
				return { el, read: () => el.value.trim() || null, focus: () => { el.focus(); el.select(); } };
			},
			save: save(key),
		});
	}

	const headEl = h('div');
	const profileBody = h('div', { class: 'card-body' });
	const metaBody = h('div', { class: 'card-body' });

	function renderHead() {
		ctx.setCrumbs([back, { label: company.name }]);
		mount(headEl, h('div', { class: 'record-head' },
			h('span', { class: 'avatar avatar-lg', style: { background: avatarColor('co' + company.id), borderRadius: '12px' }, 'aria-hidden': 'true' }, companyInitial(company.name)),
			h('div', { class: 'titles' },
				h('h1', { tabindex: '-1', 'data-testid': 'company-name' }, company.name),
				h('div', { class: 'sub' }, company.domain ? h('span', null, icon('globe', { size: 'sm' }), h('a', { href: `https://${company.domain}`, target: '_blank', rel: 'noopener noreferrer', 'data-external': '' }, company.domain)) : null)),
			writable ? h('div', { class: 'page-actions' }, h('button', { type: 'button', class: 'btn btn-danger-ghost', 'data-testid': 'company-delete', onclick: remove }, icon('trash'), t('common.delete'))) : null));
	}

	function renderProfile() {
		mount(profileBody, h('dl', { class: 'props' }, textRow('name', t('companies.col_name')), textRow('domain', t('companies.col_domain'), 'example.co.jp')));
		mount(metaBody, h('dl', { class: 'meta' },
			h('dt', null, t('contact.id')), h('dd', { class: 'mono' }, String(company.id)),
			h('dt', null, t('contact.created')), h('dd', { title: fmtDateTime(company.created_at) }, fmtRelative(company.created_at)),
			h('dt', null, t('contact.updated')), h('dd', { title: fmtDateTime(company.updated_at) }, fmtRelative(company.updated_at))));
	}

	function contactRow(c) {
		const kana = contactKana(c);
		const tr = h('tr', { class: 'clickable', 'data-testid': 'contact-row' },
			h('td', null, h('div', { class: 'cell-name' },
				h('span', { class: 'avatar', style: { background: avatarColor(c.id) }, 'aria-hidden': 'true' }, initials(c)),
				h('div', null, h('a', { class: 'name', href: `/contacts/${c.id}` }, contactName(c)), kana ? h('div', { class: 'sub', text: kana }) : null))),
			h('td', { class: 'truncate' }, c.email || ''),
			h('td', { title: c.tags.join(', ') }, h('div', { class: 'chips chips-nowrap' }, c.tags.slice(0, 2).map((x) => h('span', { class: 'chip' }, x)), c.tags.length > 2 ? h('span', { class: 'badge' }, `+${c.tags.length - 2}`) : null)),
			h('td', { class: 'nowrap' }, c.owner ? userLabel(c.owner) : h('span', { class: 'muted' }, '—')));
		tr.addEventListener('click', (e) => {
			if (!e.target.closest('a')) ctx.navigate(`/contacts/${c.id}`);
		});
		return tr;
	}

	async function loadContacts(append) {
		if (!append) mount(tbody, skeletonRows(4, 4));
		moreBtn.disabled = true;
		try {
			const r = await api.get('/contacts', { company_id: id, sort: 'last_name', limit: 50, cursor: append ? contacts.cursor : undefined }, { signal: ctx.signal });
			if (!ctx.alive) return;
			contacts.rows = append ? contacts.rows.concat(r.data) : r.data;
			contacts.cursor = r.next_cursor;
			if (!contacts.rows.length) {
				mount(tbody, h('tr', null, h('td', { colspan: 4 }, emptyState({ iconName: 'contacts', compact: true, title: t('company.no_contacts'), text: t('company.no_contacts_text'), testid: 'company-no-contacts' }))));
			} else if (append) tbody.append(...r.data.map(contactRow));
			else mount(tbody, contacts.rows.map(contactRow));
			countEl.textContent = contacts.cursor ? t('contacts.showing_more', { n: contacts.rows.length }) : t('contacts.showing', { n: contacts.rows.length });
			moreBtn.hidden = !contacts.cursor;
		} catch (e) {
			if (e.name !== 'AbortError') mount(tbody, h('tr', null, h('td', { colspan: 4 }, h('p', { class: 'muted small', text: errorMessage(e) }))));
		} finally {
			moreBtn.disabled = false;
		}
	}

	async function remove() {
		const ok = await confirmDialog({
			title: t('company.delete_title'),
			message: t('company.delete_text', { name: company.name }),
			confirmLabel: t('company.delete_confirm'),
			testid: 'delete-company-dialog',
		});
		if (!ok) return;
		try {
			await api.del(`/companies/${id}`);
			toast(t('company.deleted', { name: company.name }));
			ctx.navigate('/companies');
		} catch {
			/* toasted */
		}
	}

	renderHead();
	renderProfile();
	mount(ctx.root, headEl,
		h('div', { class: 'record-grid' },
			h('section', { class: 'card', 'aria-labelledby': 'cc-h' },
				h('div', { class: 'card-header' }, h('h2', { id: 'cc-h', text: t('company.contacts') }), countEl),
				h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'aria-labelledby': 'cc-h' },
					h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('contacts.col_name')), h('th', { scope: 'col' }, t('contacts.col_email')), h('th', { scope: 'col' }, t('contacts.col_tags')), h('th', { scope: 'col' }, t('contacts.col_owner')))),
					tbody)),
				h('div', { class: 'table-footer' }, h('span'), moreBtn)),
			h('div', { class: 'side-stack' },
				h('section', { class: 'card', 'aria-labelledby': 'cp-h', 'data-testid': 'company-profile' }, h('div', { class: 'card-header' }, h('h2', { id: 'cp-h', text: t('company.profile') })), profileBody),
				h('section', { class: 'card', 'aria-labelledby': 'cm-h' }, h('div', { class: 'card-header' }, h('h2', { id: 'cm-h', text: t('contact.details') })), metaBody))));
	await loadContacts(false);
}
