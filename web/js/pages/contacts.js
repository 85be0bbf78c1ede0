// contacts.js — the contact list: keyset paging, search as you type, tag/owner filters,
// sortable columns, a column chooser for custom fields, bulk tag/delete, and "new contact".
import { api, errorMessage } from '../api.js';
import { setQuery } from '../app.js';
import { h, icon, mount, debounce } from '../dom.js';
import { t, fmtNumber, fmtRelative, fmtDateTime } from '../i18n.js';
import { formatValue, fmtPhone } from '../fields.js';
import { state, can, loadFields, loadUsers, userLabel, contactName, contactKana, initials, avatarColor } from '../state.js';
import { pageHead, emptyState, skeletonRows, confirmDialog, openDialog, toast, field, formError, showFieldError, clearFieldErrors } from '../ui.js';

const COLS_KEY = 'kz_contact_cols';
const PAGE = 50;
const SORTABLE = { name: 'last_name', email: 'email', updated_at: 'updated_at', created_at: 'created_at' };

function savedCols() {
	try {
		const v = JSON.parse(localStorage.getItem(COLS_KEY) || 'null');
		return Array.isArray(v) ? v : [];
	} catch {
		return [];
	}
}

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.contacts') }]);
	const writable = can('write_contacts');
	const openNew = ctx.query.new === '1' && writable; // /contacts?new=1 (dashboard quick link)
	if (ctx.query.new) setQuery({ new: null });
	const st = {
		q: ctx.query.q || '',
		tag: ctx.query.tag || '',
		owner: ctx.query.owner || '',
		sort: ctx.query.sort || '-created_at',
		cols: savedCols(),
		rows: [],
		cursor: null,
		loading: false,
		selected: new Set(),
		seq: 0,
		controller: null,
	};
	let fields = [];
	let users = [];
	let tags = [];

	// ---- controls ----
	const search = h('input', { class: 'input', type: 'search', id: 'contacts-search', value: st.q, placeholder: t('contacts.search_placeholder'), 'data-testid': 'contacts-search', autocomplete: 'off' });
	const tagSel = h('select', { class: 'select', id: 'filter-tag', 'data-testid': 'filter-tag' }, h('option', { value: '' }, t('contacts.all_tags')));
	const ownerSel = h('select', { class: 'select', id: 'filter-owner', 'data-testid': 'filter-owner' }, h('option', { value: '' }, t('contacts.all_owners')));
	const colsBtn = h('button', { type: 'button', class: 'btn', 'aria-haspopup': 'true', 'aria-expanded': 'false', 'data-testid': 'columns-button' }, icon('columns'), t('contacts.columns'));
	const colsPop = h('div', { class: 'popover', hidden: true, style: { right: '0', top: 'calc(100% + 6px)' }, 'data-testid': 'columns-popover', role: 'group', 'aria-label': t('contacts.columns') });
	const clearBtn = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true, 'data-testid': 'clear-filters' }, icon('x', { size: 'sm' }), t('contacts.clear_filters'));

	const toolbar = h('div', { class: 'toolbar', 'data-testid': 'contacts-toolbar' },
		h('div', { class: 'search input-with-icon' }, h('label', { for: 'contacts-search', class: 'sr-only' }, t('contacts.search_label')), icon('search'), search),
		h('label', { for: 'filter-tag', class: 'sr-only' }, t('contacts.filter_tag')), tagSel,
		h('label', { for: 'filter-owner', class: 'sr-only' }, t('contacts.filter_owner')), ownerSel,
		clearBtn,
		h('div', { class: 'grow' }),
		h('div', { class: 'anchor' }, colsBtn, colsPop));

	const bulkCount = h('strong', { 'data-testid': 'bulk-count' });
	const bulkbar = h('div', { class: 'toolbar bulkbar', hidden: true, 'data-testid': 'bulk-bar', role: 'region', 'aria-label': t('contacts.bulk_actions') },
		bulkCount,
		h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'bulk-add-tag', onclick: () => bulkTag('add_tags') }, icon('tag', { size: 'sm' }), t('contacts.bulk_add_tag')),
		h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'bulk-remove-tag', onclick: () => bulkTag('remove_tags') }, icon('x', { size: 'sm' }), t('contacts.bulk_remove_tag')),
		h('button', { type: 'button', class: 'btn btn-sm btn-danger-ghost', 'data-testid': 'bulk-delete', onclick: () => bulkDelete() }, icon('trash', { size: 'sm' }), t('common.delete')),
		h('div', { class: 'grow' }),
		h('button', { type: 'button', class: 'btn btn-sm btn-ghost', 'data-testid': 'bulk-clear', onclick: () => { st.selected.clear(); syncSelection(); } }, t('contacts.clear_selection')));

	const thead = h('thead');
	const tbody = h('tbody', { 'data-testid': 'contacts-rows' });
	const table = h('table', { class: 'table', 'data-testid': 'contacts-table', 'aria-label': t('nav.contacts') }, thead, tbody);
	const status = h('span', { 'aria-live': 'polite', 'data-testid': 'contacts-status' });
	const moreBtn = h('button', { type: 'button', class: 'btn btn-sm', hidden: true, 'data-testid': 'load-more' }, t('contacts.load_more'));
	const footer = h('div', { class: 'table-footer' }, status, moreBtn);
	const body = h('div', { class: 'table-wrap' }, table);

	const newBtn = writable ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'new-contact', onclick: () => newContact() }, icon('plus'), t('contacts.new')) : null;
	mount(ctx.root,
		pageHead({ title: t('nav.contacts'), desc: t('contacts.desc'), testid: 'contacts-title', actions: [
			writable ? h('a', { class: 'btn', href: '/import', 'data-testid': 'import-link' }, icon('upload'), t('contacts.import')) : null,
			h('a', { class: 'btn', href: '/api/v1/contacts/export?format=csv', download: 'contacts.csv', 'data-testid': 'export-link' }, icon('download'), t('contacts.export')),
			newBtn,
		].filter(Boolean) }),
		h('div', { class: 'card' }, toolbar, bulkbar, body, footer));

	// ---- columns ----
	function columns() {
		const cols = [];
		if (writable) cols.push({ id: 'check', cls: 'col-check' });
		cols.push({ id: 'name', label: t('contacts.col_name'), sort: 'last_name' });
		cols.push({ id: 'email', label: t('contacts.col_email'), sort: 'email' });
		cols.push({ id: 'company', label: t('contacts.col_company') });
		if (st.cols.includes('phone')) cols.push({ id: 'phone', label: t('contacts.col_phone') });
		cols.push({ id: 'tags', label: t('contacts.col_tags') });
		cols.push({ id: 'owner', label: t('contacts.col_owner') });
		for (const f of fields) if (st.cols.includes(`fields.${f.key}`)) cols.push({ id: `fields.${f.key}`, label: f.label, def: f });
		if (st.cols.includes('created_at')) cols.push({ id: 'created_at', label: t('contacts.col_created'), sort: 'created_at' });
		cols.push({ id: 'updated_at', label: t('contacts.col_updated'), sort: 'updated_at' });
		return cols;
	}

	const selectAll = h('input', { type: 'checkbox', 'aria-label': t('contacts.select_all'), 'data-testid': 'select-all' });
	selectAll.addEventListener('change', () => {
		if (selectAll.checked) st.rows.forEach((r) => st.selected.add(r.id));
		else st.selected.clear();
		syncSelection();
	});

	function renderHead() {
		const desc = st.sort.startsWith('-');
		const key = st.sort.replace(/^-/, '');
		mount(thead, h('tr', null, columns().map((c) => {
			if (c.id === 'check') return h('th', { class: 'col-check', scope: 'col' }, selectAll);
			if (!c.sort) return h('th', { scope: 'col' }, c.label);
			const active = key === c.sort;
			const aria = active ? (desc ? 'descending' : 'ascending') : 'none';
			const btn = h('button', { type: 'button', class: 'sort-btn', 'data-testid': `sort-${c.id}` }, c.label, icon(active ? (desc ? 'sortDown' : 'sortUp') : 'sort'));
			btn.addEventListener('click', () => {
				st.sort = active && !desc ? `-${c.sort}` : c.sort;
				setQuery({ sort: st.sort });
				reload();
			});
			return h('th', { scope: 'col', 'aria-sort': aria }, btn);
		})));
	}

	function cell(c, row) {
		switch (c.id) {
			case 'check': {
				const cb = h('input', { type: 'checkbox', checked: st.selected.has(row.id), 'aria-label': t('contacts.select_row', { name: contactName(row) }), 'data-testid': 'row-check' });
				cb.addEventListener('click', (e) => e.stopPropagation());
				cb.addEventListener('change', () => {
					if (cb.checked) st.selected.add(row.id);
					else st.selected.delete(row.id);
					syncSelection();
				});
				return h('td', { class: 'col-check' }, cb);
			}
			case 'name': {
				const kana = contactKana(row);
				return h('td', null, h('div', { class: 'cell-name' },
					h('span', { class: 'avatar', style: { background: avatarColor(row.id) }, 'aria-hidden': 'true' }, initials(row)),
					h('div', null, h('a', { class: 'name', href: `/contacts/${row.id}`, 'data-testid': 'contact-link' }, contactName(row)), kana ? h('div', { class: 'sub', text: kana }) : null)));
			}
			case 'email':
				return h('td', { class: 'truncate', title: row.email || '' }, row.email || '');
			case 'company':
				return h('td', { class: 'truncate' }, row.company ? h('a', { href: `/companies/${row.company.id}`, onclick: (e) => e.stopPropagation() }, row.company.name) : '');
			case 'phone':
				return h('td', { class: 'nowrap' }, fmtPhone(row.phone));
			case 'tags':
				return h('td', { title: row.tags.join(', ') }, h('div', { class: 'chips chips-nowrap' }, row.tags.slice(0, 2).map((x) => h('span', { class: 'chip' }, x)), row.tags.length > 2 ? h('span', { class: 'badge' }, `+${row.tags.length - 2}`) : null));
			case 'owner':
				return h('td', { class: 'nowrap' }, row.owner ? userLabel(row.owner) : h('span', { class: 'muted' }, '—'));
			case 'created_at':
				return h('td', { class: 'nowrap muted', title: fmtDateTime(row.created_at) }, fmtRelative(row.created_at));
			case 'updated_at':
				return h('td', { class: 'nowrap muted', title: fmtDateTime(row.updated_at) }, fmtRelative(row.updated_at));
			default:
				return h('td', { class: 'truncate' }, formatValue(c.def, row.fields[c.def.key]));
		}
	}

	function rowEl(row, cols) {
		const tr = h('tr', { class: 'clickable' + (st.selected.has(row.id) ? ' selected' : ''), 'data-testid': 'contact-row', 'data-id': row.id }, cols.map((c) => cell(c, row)));
		tr.addEventListener('click', (e) => {
			if (e.target.closest('a, button, input, label')) return;
			ctx.navigate(`/contacts/${row.id}`);
		});
		return tr;
	}

	function renderRows(append) {
		const cols = columns();
		if (!append) mount(tbody);
		if (!st.rows.length) {
			const filtered = st.q || st.tag || st.owner;
			mount(tbody, h('tr', null, h('td', { colspan: cols.length }, filtered
				? emptyState({ iconName: 'search', title: t('contacts.no_results'), text: t('contacts.no_results_text'), actions: [h('button', { type: 'button', class: 'btn', onclick: clearFilters }, t('contacts.clear_filters'))], testid: 'contacts-no-results' })
				: emptyState({ iconName: 'contacts', title: t('contacts.empty_title'), text: t('contacts.empty_text'), testid: 'contacts-empty', actions: writable ? [h('a', { class: 'btn btn-primary', href: '/import' }, icon('upload'), t('import.title')), h('button', { type: 'button', class: 'btn', onclick: () => newContact() }, t('contacts.new'))] : [] }))));
			return;
		}
		const start = append ? tbody.querySelectorAll('tr[data-testid="contact-row"]').length : 0;
		tbody.append(...st.rows.slice(start).map((r) => rowEl(r, cols)));
	}

	function renderStatus() {
		moreBtn.hidden = !st.cursor;
		status.textContent = st.loading && !st.rows.length ? t('common.loading') : st.cursor ? t('contacts.showing_more', { n: st.rows.length }) : t('contacts.showing', { n: st.rows.length });
	}

	function syncSelection() {
		const n = st.selected.size;
		bulkbar.hidden = n === 0;
		toolbar.hidden = n > 0;
		bulkCount.textContent = t('contacts.selected', { n });
		selectAll.disabled = !st.rows.length;
		selectAll.checked = n > 0 && st.rows.every((r) => st.selected.has(r.id));
		selectAll.indeterminate = n > 0 && !selectAll.checked;
		for (const tr of tbody.querySelectorAll('tr[data-id]')) {
			const on = st.selected.has(Number(tr.dataset.id));
			tr.classList.toggle('selected', on);
			const cb = tr.querySelector('input[type="checkbox"]');
			if (cb) cb.checked = on;
		}
	}

	// ---- loading ----
	async function load(append) {
		if (st.controller) st.controller.abort();
		const controller = new AbortController();
		st.controller = controller;
		const seq = ++st.seq;
		st.loading = true;
		if (!append) {
			renderHead();
			mount(tbody, skeletonRows(columns().length, 10));
			tbody.setAttribute('aria-busy', 'true');
		}
		moreBtn.disabled = true;
		renderStatus();
		try {
			const r = await api.get('/contacts', { q: st.q, tag: st.tag, owner: st.owner, sort: st.sort, limit: PAGE, cursor: append ? st.cursor : undefined }, { signal: controller.signal });
			if (seq !== st.seq || !ctx.alive) return;
			st.rows = append ? st.rows.concat(r.data) : r.data;
			st.cursor = r.next_cursor;
			st.loading = false;
			renderRows(append);
			syncSelection();
		} catch (e) {
			if (e.name === 'AbortError' || seq !== st.seq) return;
			st.loading = false;
			if (!append) mount(tbody, h('tr', null, h('td', { colspan: columns().length }, emptyState({ iconName: 'alertCircle', title: t('errors.list_failed'), text: errorMessage(e), actions: [h('button', { type: 'button', class: 'btn', onclick: () => reload() }, icon('refresh'), t('common.retry'))] }))));
		} finally {
			if (seq === st.seq) {
				tbody.removeAttribute('aria-busy');
				moreBtn.disabled = false;
				renderStatus();
			}
		}
	}

	function reload() {
		state.lastContactsUrl = location.pathname + location.search; // the contact page's way back
		st.selected.clear();
		st.cursor = null;
		syncSelection();
		clearBtn.hidden = !(st.q || st.tag || st.owner);
		return load(false);
	}

	function clearFilters() {
		st.q = st.tag = st.owner = '';
		search.value = '';
		tagSel.value = '';
		ownerSel.value = '';
		setQuery({ q: null, tag: null, owner: null });
		reload();
		search.focus();
	}

	const onSearch = debounce(() => {
		const v = search.value.trim();
		if (v === st.q) return;
		st.q = v;
		setQuery({ q: v });
		reload();
	}, 250);
	search.addEventListener('input', onSearch);
	search.addEventListener('keydown', (e) => {
		if (e.key === 'Escape' && search.value) {
			e.preventDefault();
			search.value = '';
			onSearch();
		}
	});
	ctx.onCleanup(() => {
		onSearch.cancel();
		if (st.controller) st.controller.abort();
	});
	tagSel.addEventListener('change', () => {
		st.tag = tagSel.value;
		setQuery({ tag: st.tag });
		reload();
	});
	ownerSel.addEventListener('change', () => {
		st.owner = ownerSel.value;
		setQuery({ owner: st.owner });
		reload();
	});
	clearBtn.addEventListener('click', clearFilters);
	moreBtn.addEventListener('click', () => load(true));

	// Infinite scroll: load the next page as the footer comes into view.
	const io = new IntersectionObserver((entries) => {
		if (entries.some((e) => e.isIntersecting) && st.cursor && !st.loading && st.rows.length) load(true);
	}, { rootMargin: '200px' });
	io.observe(footer);
	ctx.onCleanup(() => io.disconnect());

	// ---- column chooser ----
	function renderColsPop() {
		const opt = (id, label) => {
			const cb = h('input', { type: 'checkbox', checked: st.cols.includes(id), 'data-testid': `col-${id}` });
			cb.addEventListener('change', () => {
				st.cols = cb.checked ? [...st.cols, id] : st.cols.filter((x) => x !== id);
				localStorage.setItem(COLS_KEY, JSON.stringify(st.cols));
				renderHead();
				renderRows(false);
				syncSelection();
			});
			return h('label', { class: 'check' }, cb, label);
		};
		mount(colsPop,
			h('div', { class: 'popover-title', text: t('contacts.cols_standard') }),
			opt('phone', t('contacts.col_phone')),
			opt('created_at', t('contacts.col_created')),
			h('div', { class: 'popover-title', style: { marginTop: '8px' }, text: t('contacts.cols_custom') }),
			fields.length ? fields.map((f) => opt(`fields.${f.key}`, f.label)) : h('p', { class: 'muted small', style: { padding: '4px 8px' }, text: t('contacts.no_custom_fields') }));
	}
	const closePop = () => {
		colsPop.hidden = true;
		colsBtn.setAttribute('aria-expanded', 'false');
	};
	colsBtn.addEventListener('click', () => {
		const open = colsPop.hidden;
		if (open) renderColsPop();
		colsPop.hidden = !open;
		colsBtn.setAttribute('aria-expanded', String(open));
		if (open) {
			const first = colsPop.querySelector('input');
			if (first) first.focus();
		}
	});
	colsPop.addEventListener('keydown', (e) => {
		if (e.key === 'Escape') {
			closePop();
			colsBtn.focus();
		}
	});
	const outside = (e) => {
		if (!colsPop.hidden && !colsPop.contains(e.target) && e.target !== colsBtn && !colsBtn.contains(e.target)) closePop();
	};
	document.addEventListener('click', outside);
	ctx.onCleanup(() => document.removeEventListener('click', outside));

	// ---- bulk actions ----
	async function bulkTag(action) {
		const ids = [...st.selected];
		const adding = action === 'add_tags';
		const present = [...new Set(st.rows.filter((r) => st.selected.has(r.id)).flatMap((r) => r.tags))].sort();
		const input = adding
			? h('input', { class: 'input', name: 'tags', list: 'bulk-tag-list', autocomplete: 'off', 'data-testid': 'bulk-tag-input', placeholder: t('contacts.tag_placeholder') })
			: h('select', { class: 'select', name: 'tags', 'data-testid': 'bulk-tag-input' }, present.length ? present.map((x) => h('option', { value: x }, x)) : h('option', { value: '' }, t('contacts.no_tags_selected')));
		const list = h('datalist', { id: 'bulk-tag-list' }, tags.map((x) => h('option', { value: x.tag })));
		const err = formError();
		openDialog({
			title: adding ? t('contacts.bulk_add_title', { n: ids.length }) : t('contacts.bulk_remove_title', { n: ids.length }),
			testid: adding ? 'bulk-add-dialog' : 'bulk-remove-dialog',
			form: true,
			body: [err, field({ label: t('contacts.tag'), control: input, hint: adding ? t('contacts.tag_hint') : null }), list],
			actions: (close) => [
				h('button', { type: 'button', class: 'btn', onclick: () => close() }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'bulk-tag-submit' }, adding ? t('contacts.bulk_add_tag') : t('contacts.bulk_remove_tag')),
			],
			onSubmit: async (close) => {
				const values = input.value.split(/[,、，]/).map((s) => s.trim()).filter(Boolean);
				if (!values.length) {
					showFieldError(err.closest('form'), { field: 'tags', message: t('contacts.tag_required') });
					return;
				}
				try {
					const r = await api.post('/contacts/bulk', { ids, action, tags: values }, { quiet: true });
					close();
					toast(adding ? t('contacts.bulk_added', { n: r.affected, tag: values.join(', ') }) : t('contacts.bulk_removed', { n: r.affected, tag: values.join(', ') }));
					refreshTags();
					reload();
				} catch (e) {
					showFieldError(err.closest('form'), e);
				}
			},
		});
	}

	async function bulkDelete() {
		const ids = [...st.selected];
		const ok = await confirmDialog({
			title: t('contacts.bulk_delete_title', { n: ids.length }),
			message: t('contacts.bulk_delete_text', { n: ids.length }),
			confirmLabel: t('contacts.bulk_delete_confirm', { n: ids.length }),
			testid: 'bulk-delete-dialog',
		});
		if (!ok) return;
		try {
			const r = await api.post('/contacts/bulk', { ids, action: 'delete' });
			toast(t('contacts.bulk_deleted', { n: r.affected }));
			refreshTags();
			reload();
		} catch {
			/* toasted */
		}
	}

	// ---- new contact ----
	function newContact() {
		const inp = (name, type = 'text', extra = {}) => h('input', { class: 'input', type, name, 'data-testid': `new-${name}`, autocomplete: 'off', ...extra });
		const email = inp('email', 'email');
		const last = inp('last_name');
		const first = inp('first_name');
		const lastK = inp('last_name_kana');
		const firstK = inp('first_name_kana');
		const phone = inp('phone', 'tel');
		const company = inp('company');
		const err = formError();
		const { el } = openDialog({
			title: t('contacts.new_title'),
			testid: 'new-contact-dialog',
			wide: true,
			form: true,
			body: [err, h('div', { class: 'form-grid' },
				field({ label: t('contact.email'), control: email, span2: true, hint: t('contacts.email_hint') }),
				field({ label: t('contact.last_name'), control: last }),
				field({ label: t('contact.first_name'), control: first }),
				field({ label: t('contact.last_name_kana'), control: lastK }),
				field({ label: t('contact.first_name_kana'), control: firstK }),
				field({ label: t('contact.phone'), control: phone, hint: t('contact.phone_hint') }),
				field({ label: t('contact.company'), control: company, hint: t('contacts.company_hint') }))],
			actions: (close) => [
				h('button', { type: 'button', class: 'btn', onclick: () => close() }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'new-contact-submit' }, t('contacts.create')),
			],
			onSubmit: async (close) => {
				const form = el.querySelector('form');
				clearFieldErrors(form);
				const body = {};
				for (const c of [email, last, first, lastK, firstK, phone]) if (c.value.trim()) body[c.name] = c.value.trim();
				if (company.value.trim()) body.company = { name: company.value.trim() };
				if (!body.email && !body.last_name && !body.first_name) {
					showFieldError(form, { field: 'email', message: t('contacts.need_email_or_name') });
					return;
				}
				const submit = form.querySelector('[type="submit"]');
				submit.disabled = true;
				try {
					if (body.email) {
						const dup = await api.get('/contacts', { email: body.email, limit: 1 }, { quiet: true });
						if (dup.data.length) {
							showFieldError(form, { field: 'email', message: t('contacts.email_taken', { name: contactName(dup.data[0]) }) });
							return;
						}
					}
					const c = await api.post('/contacts', body, { quiet: true });
					close();
					toast(t('contacts.created', { name: contactName(c) }));
					ctx.navigate(`/contacts/${c.id}`);
				} catch (e) {
					showFieldError(form, e);
				} finally {
					submit.disabled = false;
				}
			},
		});
	}

	// ---- reference data ----
	function refreshTags() {
		return api.get('/tags', null, { quiet: true }).then((r) => {
			tags = r.data || [];
			const cur = tagSel.value || st.tag;
			mount(tagSel, h('option', { value: '' }, t('contacts.all_tags')), tags.map((x) => h('option', { value: x.tag, selected: x.tag === cur }, `${x.tag} (${fmtNumber(x.count)})`)));
			if (st.tag && !tags.some((x) => x.tag === st.tag)) tagSel.append(h('option', { value: st.tag, selected: true }, st.tag));
		}, () => {
			if (st.tag) tagSel.append(h('option', { value: st.tag, selected: true }, st.tag));
		});
	}

	renderHead();
	mount(tbody, skeletonRows(columns().length, 10));
	const [f, u] = await Promise.all([loadFields().catch(() => []), loadUsers(), refreshTags()]);
	if (!ctx.alive) return;
	fields = f;
	users = u;
	mount(ownerSel, h('option', { value: '' }, t('contacts.all_owners')), users.map((x) => h('option', { value: String(x.id), selected: String(x.id) === st.owner }, x.name || x.email)));
	if (!can('read_users')) ownerSel.title = t('contacts.owner_filter_limited');
	await reload();
	if (openNew && ctx.alive) newContact();
}
