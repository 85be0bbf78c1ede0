// journeys.js — the journey list (シナリオ): every journey with its status, version, how many
// were enrolled and are inside now, when it changed; create (blank or the step-mail preset),
// activate / pause / archive and delete from the row's menu.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtNumber, fmtRelative, fmtDateTime } from '../i18n.js';
import { can } from '../state.js';
import { confirmDialog, emptyState, openDialog, pageHead, skeletonRows, toast, field } from '../ui.js';
import { statusBadge } from '../journey-panel.js';

const STATUSES = ['', 'draft', 'active', 'paused', 'archived'];

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.journeys') }]);
	const writable = can('manage_segments');
	const tbody = h('tbody', { 'data-testid': 'journey-rows' }, skeletonRows(6, 3));
	let filter = STATUSES.includes(ctx.query.status) ? ctx.query.status : '';
	const tabs = h('div', { class: 'jl-filters', role: 'group', 'aria-label': t('journeys.col_status') });
	const paintTabs = (counts) => mount(tabs, STATUSES.map((st) => h('button', {
		type: 'button', class: 'jl-filter', 'aria-pressed': String(filter === st), 'data-testid': `filter-${st || 'all'}`,
		onclick: () => { filter = st; ctx.navigate(st ? `/journeys?status=${st}` : '/journeys', { replace: true }); },
	}, st ? t(`journeys.status_${st}`) : t('journeys.all'), counts ? h('span', { class: 'jl-count', text: fmtNumber(st ? counts[st] || 0 : counts.all) }) : null)));
	paintTabs(null);

	mount(ctx.root,
		pageHead({
			title: t('nav.journeys'), desc: t('journeys.desc'), testid: 'journeys-title',
			actions: writable ? [
				h('a', { class: 'btn', href: '/journeys/sequence', 'data-testid': 'new-sequence' }, icon('clock'), t('journeys.new_sequence')),
				h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'create-journey', onclick: create }, icon('plus'), t('journeys.create')),
			] : [],
		}),
		tabs,
		h('div', { class: 'card' }, h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'journeys-table', 'aria-label': t('nav.journeys') },
			h('thead', null, h('tr', null,
				h('th', { scope: 'col' }, t('journeys.col_name')),
				h('th', { scope: 'col' }, t('journeys.col_status')),
				h('th', { scope: 'col', class: 'num' }, t('journeys.col_enrolled')),
				h('th', { scope: 'col', class: 'num' }, t('journeys.col_active')),
				h('th', { scope: 'col', class: 'num' }, t('journeys.col_conversion')),
				h('th', { scope: 'col' }, t('journeys.col_updated')),
				h('th', { scope: 'col' }, h('span', { class: 'sr-only', text: t('common.actions') })))),
			tbody))));

	const r = await api.get('/journeys', { limit: 200 }, { signal: ctx.signal });
	if (!ctx.alive) return;
	const all = r.data || [];
	const counts = { all: all.length };
	for (const jr of all) counts[jr.status] = (counts[jr.status] || 0) + 1;
	paintTabs(counts);
	const list = all.filter((jr) => (filter ? jr.status === filter : jr.status !== 'archived'));
	if (!list.length) {
		mount(tbody, h('tr', null, h('td', { colspan: 7 }, all.length
			? emptyState({ iconName: 'filter', title: t('journeys.none_in_filter'), compact: true, testid: 'journeys-empty' })
			: emptyState({ iconName: 'journeys', title: t('journeys.empty_title'), text: t('journeys.empty_text'), testid: 'journeys-empty',
				actions: writable ? [h('a', { class: 'btn', href: '/journeys/sequence' }, icon('clock'), t('journeys.new_sequence')), h('button', { type: 'button', class: 'btn btn-primary', onclick: create }, icon('plus'), t('journeys.create'))] : [] }))));
		return;
	}
	mount(tbody, list.map(row));

	// enrolment counts come from each journey's stats (drafts have none)
	for (const jr of list) {
		if (jr.status === 'draft') continue;
		api.get(`/journeys/${jr.id}/stats`, null, { quiet: true, signal: ctx.signal }).then((st) => {
			const tr = tbody.querySelector(`tr[data-id="${jr.id}"]`);
			if (!tr || !ctx.alive) return;
			tr.querySelector('[data-testid="journey-enrolled"]').textContent = fmtNumber(st.enrolled || 0);
			tr.querySelector('[data-testid="journey-active"]').textContent = fmtNumber(st.active || 0);
			tr.querySelector('[data-testid="journey-conversion"]').textContent = st.conversion_rate === null || st.conversion_rate === undefined ? '—' : `${fmtNumber(Math.round(st.conversion_rate * 1000) / 10)}%`;
		}).catch(() => {});
	}

	function row(jr) {
		const menuBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('common.actions'), 'aria-haspopup': 'menu', 'data-testid': 'journey-menu' }, icon('more'));
		const menu = h('div', { class: 'menu', role: 'menu', hidden: true });
		const item = (what, label, ic, fn, danger) => h('button', { type: 'button', role: 'menuitem', class: danger ? 'danger' : '', 'data-testid': `journey-${what}`, onclick: (e) => { e.stopPropagation(); menu.hidden = true; fn(); } }, icon(ic), label);
		const act = (what) => async () => {
			try {
				await api.post(`/journeys/${jr.id}/${what}`, {});
				toast(t(`journeys.done_${what}`));
				ctx.navigate(location.pathname + location.search, { replace: true });
			} catch { /* toasted by api */ }
		};
		const items = [h('a', { href: `/journeys/${jr.id}`, role: 'menuitem' }, icon('edit'), t('journeys.open'))];
		if (writable) {
			if (jr.status === 'draft' || jr.status === 'paused') items.push(item('activate', t(jr.status === 'paused' ? 'journeys.resume' : 'journeys.activate'), 'sparkles', act('activate')));
			if (jr.status === 'active') items.push(item('pause', t('journeys.pause'), 'clock', act('pause')));
			if (jr.status !== 'archived') items.push(item('archive', t('journeys.archive'), 'file', act('archive')));
			if (jr.status === 'draft' || jr.status === 'archived') items.push(item('delete', t('common.delete'), 'trash', () => remove(jr), true));
		}
		mount(menu, items);
		menuBtn.addEventListener('click', (e) => {
			e.stopPropagation();
			for (const m of tbody.querySelectorAll('.menu')) if (m !== menu) m.hidden = true;
			menu.hidden = !menu.hidden;
		});
		const steps = Object.keys((jr.definition && jr.definition.steps) || {}).length;
		return h('tr', { class: 'row-link clickable', 'data-testid': 'journey-row', 'data-id': jr.id, onclick: (e) => { if (!e.target.closest('.menu, button, a')) ctx.navigate(`/journeys/${jr.id}`); } },
			h('td', null, h('div', { class: 'jl-name' },
				h('span', { class: 'jl-ic', 'aria-hidden': 'true' }, icon('journeys', { size: 'sm' })),
				h('div', null, h('a', { href: `/journeys/${jr.id}`, class: 'name', text: jr.name }),
					h('div', { class: 'muted xsmall', text: [jr.description, t('journeys.steps_n', { n: steps }), jr.version ? t('journeys.version_n', { n: jr.version }) : null].filter(Boolean).join(' · ') })))),
			h('td', null, statusBadge(jr.status)),
			h('td', { class: 'num', 'data-testid': 'journey-enrolled', text: jr.status === 'draft' ? '—' : fmtNumber(jr.enrolled ?? 0) }),
			h('td', { class: 'num', 'data-testid': 'journey-active', text: jr.status === 'draft' ? '—' : fmtNumber(jr.active ?? 0) }),
			h('td', { class: 'num', 'data-testid': 'journey-conversion', text: '—' }),
			h('td', { title: fmtDateTime(jr.updated_at), text: fmtRelative(jr.updated_at) }),
			h('td', { class: 'jl-actions' }, h('div', { class: 'user-menu' }, menuBtn, menu)));
	}

	async function remove(jr) {
		const ok = await confirmDialog({ title: t('journeys.delete_title', { name: jr.name }), message: jr.status === 'draft' ? t('journeys.delete_text_draft') : t('journeys.delete_text'), confirmLabel: t('common.delete'), testid: 'delete-journey-dialog' });
		if (!ok) return;
		try {
			await api.del(`/journeys/${jr.id}`);
			toast(t('journeys.deleted'));
			ctx.navigate(location.pathname + location.search, { replace: true });
		} catch { /* toasted */ }
	}

	function create() {
		const name = h('input', { class: 'input', name: 'name', required: true, maxlength: 200, 'data-testid': 'new-journey-name', placeholder: t('journeys.name_ph') });
		openDialog({
			title: t('journeys.create'),
			icon: 'journeys',
			testid: 'new-journey-dialog',
			form: true,
			body: [field({ label: t('journeys.name'), control: name, required: true }),
				h('p', { class: 'muted small' }, t('journeys.create_hint'), ' ', h('a', { href: '/journeys/sequence' }, t('journeys.new_sequence')))],
			onSubmit: async (close) => {
				if (!name.value.trim()) { name.setAttribute('aria-invalid', 'true'); name.focus(); return; }
				try {
					const jr = await api.post('/journeys', { name: name.value.trim(), definition: { triggers: [{ type: 'manual' }], steps: {}, settings: { reentry: 'never' } } });
					close(true);
					ctx.navigate(`/journeys/${jr.id}`);
				} catch { /* toasted */ }
			},
			actions: (close) => [
				h('button', { type: 'button', class: 'btn', onclick: () => close(null) }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'new-journey-submit' }, t('journeys.create_open')),
			],
		});
	}
}
