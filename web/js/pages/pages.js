// pages.js — landing pages: the list (status, A/B test, last change, link to the live page) and a
// dialog that starts a new page from a starter layout, then opens it in the editor.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { can } from '../state.js';
import { openDialog, field, formError, showFieldError, clearFieldErrors, skeletonRows, emptyState, pageHead } from '../ui.js';
import { navigate } from '../app.js';

/** A starter layout, in the marketer's language. */
export function starterBlocks() {
	return [
		{ type: 'hero', heading: t('lp.starter_heading'), text: t('lp.starter_text'), label: t('lp.starter_button'), url: '#form' },
		{ type: 'columns', columns: [[{ type: 'text', heading: t('lp.starter_col1'), text: t('lp.starter_col1_text') }], [{ type: 'text', heading: t('lp.starter_col2'), text: t('lp.starter_col2_text') }]] },
	];
}

export default async function render(ctx) {
	const writable = can('manage_fields');
	const createBtn = writable ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'create-page', onclick: create }, icon('plus'), t('lp.create')) : null;
	const body = h('div', { class: 'card', 'data-testid': 'pages-list' }, skeletonRows(5, 3));
	mount(ctx.root, pageHead({ title: t('lp.title'), desc: t('lp.desc'), actions: createBtn ? [createBtn] : [], testid: 'pages-head' }), body);

	function create() {
		const title = h('input', { class: 'input', name: 'title', 'data-testid': 'lp-title-new' });
		const slug = h('input', { class: 'input mono', name: 'slug', placeholder: 'spring-seminar', 'data-testid': 'lp-slug-new' });
		let touched = false;
		slug.addEventListener('input', () => { touched = true; });
		title.addEventListener('input', () => {
			if (!touched) slug.value = title.value.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);
		});
		const err = formError();
		const { el } = openDialog({
			title: t('lp.create_title'), testid: 'page-dialog', form: true,
			body: [err, field({ label: t('lp.page_title'), control: title, required: true }),
				field({ label: t('lp.slug'), control: slug, required: true, hint: t('lp.slug_hint') })],
			actions: (close) => [h('button', { type: 'button', class: 'btn', onclick: () => close() }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'lp-create-save' }, t('lp.create'))],
			onSubmit: async (close) => {
				const f = el.querySelector('form');
				clearFieldErrors(f);
				try {
					const p = await api.post('/pages', { title: title.value.trim(), slug: slug.value.trim(), published: false, blocks: starterBlocks() }, { quiet: true });
					close();
					navigate(`/pages/${p.id}`);
				} catch (e) {
					showFieldError(f, e);
				}
			},
		});
	}

	async function load() {
		const r = await api.get('/pages', null, { signal: ctx.signal });
		if (!ctx.alive) return;
		if (!r.data.length) {
			mount(body, emptyState({ iconName: 'globe', title: t('lp.empty_title'), text: t('lp.empty_text'), testid: 'pages-empty',
				actions: createBtn ? [h('button', { type: 'button', class: 'btn btn-primary', onclick: create }, icon('plus'), t('lp.create'))] : [] }));
			return;
		}
		mount(body, h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
			h('thead', null, h('tr', null, ['title', 'url', 'status', 'ab', 'updated'].map((k) => h('th', { text: t(`lp.col_${k}`) })))),
			h('tbody', null, r.data.map((p) => h('tr', { 'data-testid': 'lp-row', 'data-slug': p.slug },
				h('td', { class: 'cell-name' }, h('a', { href: `/pages/${p.id}`, text: p.title })),
				h('td', { class: 'mono small' }, h('a', { href: `/p/${p.slug}`, target: '_blank', rel: 'noopener', text: `/p/${p.slug}` })),
				h('td', null, h('span', { class: `badge ${p.published ? 'badge-success' : ''}`, text: t(p.published ? 'lp.published' : 'lp.draft') })),
				h('td', null, (p.variants || []).length ? h('span', { class: 'badge badge-primary', text: t('lp.ab_running', { n: p.variants.length + 1 }) }) : h('span', { class: 'muted', text: '—' })),
				h('td', { class: 'small muted', text: fmtDateTime(p.updated_at) })))))));
	}
	await load();
}
