// companies.js — the company list: search as you type, keyset paging, new company.
import { api, errorMessage } from '../api.js';
import { setQuery } from '../app.js';
import { h, icon, mount, debounce } from '../dom.js';
import { t, fmtDateTime, fmtRelative } from '../i18n.js';
import { can, avatarColor, companyInitial } from '../state.js';
import { pageHead, emptyState, skeletonRows, openDialog, toast, field, formError, showFieldError, clearFieldErrors } from '../ui.js';

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.companies') }]);
	const writable = can('write_contacts');
	const st = { q: ctx.query.q || '', rows: [], cursor: null, seq: 0, controller: null, loading: false };

	const search = h('input', { class: 'input', type: 'search', id: 'companies-search', value: st.q, placeholder: t('companies.search_placeholder'), 'data-testid': 'companies-search', autocomplete: 'off' });
	const tbody = h('tbody', { 'data-testid': 'companies-rows' });
	const status = h('span', { 'aria-live': 'polite' });
	const moreBtn = h('button', { type: 'button', class: 'btn btn-sm', hidden: true, 'data-testid': 'load-more', onclick: () => load(true) }, t('contacts.load_more'));
	const COLS = 4;

	mount(ctx.root,
		pageHead({ title: t('nav.companies'), desc: t('companies.desc'), testid: 'companies-title', actions: writable ? [h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'new-company', onclick: () => newCompany() }, icon('plus'), t('companies.new'))] : [] }),
		h('div', { class: 'card' },
			h('div', { class: 'toolbar' }, h('div', { class: 'search input-with-icon' }, h('label', { for: 'companies-search', class: 'sr-only' }, t('companies.search_label')), icon('search'), search)),
			h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'companies-table', 'aria-label': t('nav.companies') },
				h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('companies.col_name')), h('th', { scope: 'col' }, t('companies.col_domain')), h('th', { scope: 'col' }, t('companies.col_created')), h('th', { scope: 'col' }, t('companies.col_updated')))),
				tbody)),
			h('div', { class: 'table-footer' }, status, moreBtn)));

	function row(c) {
		const tr = h('tr', { class: 'clickable', 'data-testid': 'company-row', 'data-id': c.id },
			h('td', null, h('div', { class: 'cell-name' },
				h('span', { class: 'avatar', style: { background: avatarColor('co' + c.id), borderRadius: '8px' }, 'aria-hidden': 'true' }, companyInitial(c.name)),
				h('a', { class: 'name', href: `/companies/${c.id}`, 'data-testid': 'company-link' }, c.name))),
			h('td', { class: 'muted' }, c.domain || '—'),
			h('td', { class: 'muted nowrap', title: fmtDateTime(c.created_at) }, fmtRelative(c.created_at)),
			h('td', { class: 'muted nowrap', title: fmtDateTime(c.updated_at) }, fmtRelative(c.updated_at)));
		tr.addEventListener('click', (e) => {
			if (!e.target.closest('a')) ctx.navigate(`/companies/${c.id}`);
		});
		return tr;
	}

	async function load(append) {
		if (st.controller) st.controller.abort();
		const controller = new AbortController();
		st.controller = controller;
		const seq = ++st.seq;
		st.loading = true;
		if (!append) mount(tbody, skeletonRows(COLS, 8));
		moreBtn.disabled = true;
		try {
			const r = await api.get('/companies', { q: st.q, limit: 50, cursor: append ? st.cursor : undefined }, { signal: controller.signal });
			if (seq !== st.seq || !ctx.alive) return;
			st.rows = append ? st.rows.concat(r.data) : r.data;
			st.cursor = r.next_cursor;
			if (!st.rows.length) {
				mount(tbody, h('tr', null, h('td', { colspan: COLS }, st.q
					? emptyState({ iconName: 'search', title: t('companies.no_results'), text: t('companies.no_results_text'), testid: 'companies-no-results' })
					: emptyState({ iconName: 'companies', title: t('companies.empty_title'), text: t('companies.empty_text'), testid: 'companies-empty', actions: writable ? [h('button', { type: 'button', class: 'btn btn-primary', onclick: () => newCompany() }, icon('plus'), t('companies.new'))] : [] }))));
			} else if (append) {
				tbody.append(...r.data.map(row));
			} else {
				mount(tbody, st.rows.map(row));
			}
		} catch (e) {
			if (e.name === 'AbortError' || seq !== st.seq) return;
			if (!append) mount(tbody, h('tr', null, h('td', { colspan: COLS }, emptyState({ iconName: 'alertCircle', title: t('errors.list_failed'), text: errorMessage(e) }))));
		} finally {
			if (seq === st.seq) {
				st.loading = false;
				moreBtn.disabled = false;
				moreBtn.hidden = !st.cursor;
				status.textContent = st.cursor ? t('companies.showing_more', { n: st.rows.length }) : t('companies.showing', { n: st.rows.length });
			}
		}
	}

	const onSearch = debounce(() => {
		const v = search.value.trim();
		if (v === st.q) return;
		st.q = v;
		setQuery({ q: v });
		load(false);
	}, 250);
	search.addEventListener('input', onSearch);
	ctx.onCleanup(() => {
		onSearch.cancel();
		if (st.controller) st.controller.abort();
	});

	function newCompany() {
		const name = h('input', { class: 'input', name: 'name', 'data-testid': 'new-company-name', autocomplete: 'off' });
		const domain = h('input', { class: 'input', name: 'domain', 'data-testid': 'new-company-domain', autocomplete: 'off', placeholder: 'example.co.jp' });
		const err = formError();
		const { el } = openDialog({
			title: t('companies.new_title'),
			testid: 'new-company-dialog',
			form: true,
			body: [err, field({ label: t('companies.col_name'), control: name, required: true }), field({ label: t('companies.col_domain'), control: domain, hint: t('companies.domain_hint') })],
			actions: (close) => [
				h('button', { type: 'button', class: 'btn', onclick: () => close() }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'new-company-submit' }, t('companies.create')),
			],
			onSubmit: async (close) => {
				const form = el.querySelector('form');
				clearFieldErrors(form);
				if (!name.value.trim()) return showFieldError(form, { field: 'name', message: t('companies.name_required') });
				try {
					const body = { name: name.value.trim() };
					if (domain.value.trim()) body.domain = domain.value.trim();
					const c = await api.post('/companies', body, { quiet: true });
					close();
					toast(t('companies.created', { name: c.name }));
					ctx.navigate(`/companies/${c.id}`);
				} catch (e) {
					showFieldError(form, e);
				}
			},
		});
	}

	await load(false);
}
