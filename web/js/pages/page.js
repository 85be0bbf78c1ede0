// page.js — the landing page editor: blocks (hero, text, image, form, button, columns, HTML) or raw
// HTML, drag or arrows to reorder, a form picked from the list, a live preview (desktop/mobile) rendered
// by the server exactly as /p/{slug} will be, the SEO panel, publish, and the A/B test (variants with
// their own title and content, weights, visits, conversions, the winner, promote).
import { api } from '../api.js';
import { debounce, h, icon, mount } from '../dom.js';
import { t, fmtNumber } from '../i18n.js';
import { can } from '../state.js';
import { field, formError, showFieldError, clearFieldErrors, toast, confirmDialog } from '../ui.js';

const TYPES = ['hero', 'text', 'image', 'form', 'button', 'columns', 'html', 'slot'];
const FIELDS = {
	hero: ['heading', 'text', 'label', 'url', 'image'],
	text: ['heading', 'text'],
	image: ['src', 'alt'],
	form: ['form_id'],
	button: ['label', 'url'],
	columns: [],
	html: ['html'],
	slot: ['name', 'html'],
};
const LONG = new Set(['text', 'html']);

export default async function render(ctx) {
	const id = Number(ctx.params.id);
	const back = { label: t('nav.pages'), href: '/pages' };
	ctx.setCrumbs([back, { label: t('common.loading') }]);
	let page, forms, sites;
	try {
		[page, forms, sites] = await Promise.all([
			api.get(`/pages/${id}`, null, { signal: ctx.signal, quiet: true }),
			api.get('/forms', null, { signal: ctx.signal, quiet: true }).then((r) => r.data),
			api.get('/sites', null, { signal: ctx.signal, quiet: true }).then((r) => r.data).catch(() => []),
		]);
	} catch {
		ctx.setCrumbs([back, { label: t('lp.not_found') }]);
		mount(ctx.root, h('p', { text: t('lp.not_found') }));
		return;
	}
	if (!ctx.alive) return;
	ctx.setCrumbs([back, { label: page.title }]);
	const writable = can('manage_fields');

	/* the working copy: the page ("a") and its variants, each with title and content */
	const draft = {
		a: { title: page.title, blocks: page.blocks ? structuredClone(page.blocks) : null, html: page.html ?? null },
		variants: (page.variants || []).map((v) => ({ ...structuredClone(v) })),
	};
	let editing = 'a';
	const current = () => (editing === 'a' ? draft.a : draft.variants.find((v) => v.key === editing));

	const err = formError();
	const inp = (name, value, props = {}) => h('input', { class: 'input', name, value: value ?? '', disabled: !writable, ...props });
	const title = inp('title', page.title, { 'data-testid': 'lp-title' });
	const slug = inp('slug', page.slug, { class: 'input mono', 'data-testid': 'lp-slug' });
	const desc = h('textarea', { class: 'textarea', name: 'description', rows: 3, disabled: !writable, 'data-testid': 'lp-description' });
	desc.value = page.description || '';
	const canonical = inp('seo', page.seo?.canonical, { placeholder: 'https://www.example.jp/seminar', 'data-testid': 'lp-canonical' });
	const ogImage = inp('seo', page.seo?.og_image, { placeholder: 'https://…/og.png', 'data-testid': 'lp-og-image' });
	const noindex = h('input', { type: 'checkbox', checked: !!page.seo?.noindex, disabled: !writable, 'data-testid': 'lp-noindex' });
	const site = h('select', { class: 'select', name: 'site_key', disabled: !writable, 'data-testid': 'lp-site' },
		h('option', { value: '', text: t('lp.no_tracking') }),
		sites.map((s) => h('option', { value: s.site_key, selected: s.site_key === page.site_key, text: s.name })));
	const html = h('textarea', { class: 'textarea mono', rows: 16, spellcheck: 'false', disabled: !writable, 'data-testid': 'lp-html' });
	const blockList = h('div', { class: 'stack-sm lp-blocks', 'data-testid': 'lp-blocks' });
	const variantBar = h('div', { class: 'chips', 'data-testid': 'variant-bar' });
	const modeBtns = ['blocks', 'html'].map((m) => h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': `lp-mode-${m}`, disabled: !writable, onclick: () => setMode(m) }, t(`lp.mode_${m}`)));
	const blocksPane = h('div', { class: 'stack-sm' },
		blockList,
		h('div', { class: 'lp-add' }, h('span', { class: 'label', text: t('lp.add_block') }),
			h('div', { class: 'chips' }, TYPES.map((ty) => h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': `lp-add-${ty}`, disabled: !writable, onclick: () => addBlock(ty) }, icon('plus', { size: 'sm' }), t(`lp.block_${ty}`))))));
	const htmlPane = h('div', { hidden: true }, field({ label: t('lp.raw_html'), control: html, hint: t('lp.raw_html_hint') }));
	const variantTitle = inp('variant_title', '', { 'data-testid': 'variant-title' });
	const variantTitleRow = h('div', { hidden: true }, field({ label: t('lp.variant_title'), control: variantTitle, hint: t('lp.variant_title_hint') }));

	/* preview */
	const frame = h('iframe', { class: 'lp-frame', title: t('lp.preview'), sandbox: 'allow-same-origin', 'data-testid': 'lp-preview' });
	const frameWrap = h('div', { class: 'lp-frame-wrap' }, frame);
	const devBtns = ['desktop', 'mobile'].map((d) => h('button', { type: 'button', class: `btn btn-sm ${d === 'desktop' ? 'btn-primary' : ''}`, 'data-testid': `lp-device-${d}`, onclick: () => {
		frameWrap.classList.toggle('lp-mobile', d === 'mobile');
		devBtns.forEach((b, i) => b.classList.toggle('btn-primary', ['desktop', 'mobile'][i] === d));
	} }, t(`lp.device_${d}`)));
	const previewNote = h('p', { class: 'small muted', 'data-testid': 'preview-note' });

	/* A/B */
	const abBox = h('div', { class: 'stack-sm', 'data-testid': 'ab-box' });

	function body() {
		const b = {
			title: title.value.trim(), slug: slug.value.trim(), description: desc.value || null,
			seo: { canonical: canonical.value.trim() || null, og_image: ogImage.value.trim() || null, noindex: noindex.checked },
			site_key: site.value || null,
			variants: draft.variants.map((v) => {
				const o = { key: v.key, weight: Number(v.weight) };
				if (v.title) o.title = v.title;
				if (v.html != null) o.html = v.html; else if (v.blocks) o.blocks = v.blocks;
				return o;
			}),
		};
		if (draft.a.html != null) b.html = draft.a.html; else b.blocks = draft.a.blocks || [];
		return b;
	}

	async function preview() {
		try {
			const r = await api.post('/pages/preview', body(), { query: { variant: editing }, quiet: true });
			previewNote.textContent = editing === 'a' ? t('lp.preview_note') : t('lp.preview_variant', { key: editing.toUpperCase() });
			previewNote.classList.remove('error');
			frame.srcdoc = r.html;
		} catch (e) {
			/* an invalid block says which one: show it where the preview is */
			previewNote.textContent = `⚠ ${e.message}${e.field ? ` (${e.field})` : ''}`;
			previewNote.classList.add('error');
		}
	}
	const schedule = debounce(preview, 250);

	function setMode(m) {
		const c = current();
		if (m === 'html' && c.html == null) { c.html = page.html && editing === 'a' ? page.html : ''; }
		if (m === 'blocks') { c.html = null; if (!c.blocks) c.blocks = []; }
		htmlPane.hidden = m !== 'html';
		blocksPane.hidden = m !== 'blocks';
		modeBtns.forEach((b, i) => b.classList.toggle('btn-primary', ['blocks', 'html'][i] === m));
		html.value = c.html ?? '';
		drawBlocks();
		schedule();
	}

	function addBlock(type) {
		const c = current();
		const b = { type };
		if (type === 'form' && forms[0]) b.form_id = forms[0].id;
		if (type === 'columns') b.columns = [[{ type: 'text', text: '' }], [{ type: 'text', text: '' }]];
		if (type === 'image') b.src = 'https://';
		if (type === 'slot') b.name = 'hero';
		(c.blocks ||= []).push(b);
		drawBlocks();
		schedule();
	}

	function blockControl(b, k) {
		if (k === 'form_id') {
			const s = h('select', { class: 'select', disabled: !writable, 'data-testid': 'lp-form-select' },
				forms.length ? forms.map((f) => h('option', { value: f.id, selected: f.id === b.form_id, text: f.name })) : h('option', { value: '', text: t('lp.no_forms') }));
			s.addEventListener('change', () => { b.form_id = Number(s.value); schedule(); });
			return s;
		}
		const c = LONG.has(k) ? h('textarea', { class: `textarea ${k === 'html' ? 'mono' : ''}`, rows: k === 'html' ? 6 : 3, disabled: !writable }) : h('input', { class: 'input', disabled: !writable });
		c.value = b[k] ?? '';
		c.setAttribute('data-testid', `lp-${b.type}-${k}`);
		c.addEventListener('input', () => { if (c.value === '') delete b[k]; else b[k] = c.value; schedule(); });
		return c;
	}

	function blockCard(list, b, i, depth) {
		const move = (d) => { const j = i + d; if (j < 0 || j >= list.length) return; list.splice(i, 1); list.splice(j, 0, b); drawBlocks(); schedule(); };
		const card = h('div', { class: 'lp-block', 'data-testid': 'lp-block', 'data-type': b.type, draggable: writable && depth === 0 ? 'true' : 'false' },
			h('div', { class: 'lp-block-head' },
				depth === 0 ? h('span', { class: 'lp-grip', 'aria-hidden': 'true', title: t('lp.drag') }, '⋮⋮') : null,
				h('strong', { text: t(`lp.block_${b.type}`) }),
				h('span', { class: 'grow' }),
				h('button', { type: 'button', class: 'btn btn-ghost btn-sm btn-icon', 'aria-label': t('lp.move_up'), disabled: !writable, onclick: () => move(-1) }, '↑'),
				h('button', { type: 'button', class: 'btn btn-ghost btn-sm btn-icon', 'aria-label': t('lp.move_down'), disabled: !writable, onclick: () => move(1) }, '↓'),
				h('button', { type: 'button', class: 'btn btn-ghost btn-sm btn-icon', 'aria-label': t('lp.remove_block'), disabled: !writable, onclick: () => { list.splice(i, 1); drawBlocks(); schedule(); } }, icon('trash', { size: 'sm' }))),
			b.type === 'columns'
				? h('div', { class: 'lp-cols' }, b.columns.map((col, ci) => h('div', { class: 'lp-col stack-sm' },
					h('span', { class: 'label', text: t('lp.column', { n: ci + 1 }) }),
					col.map((x, xi) => blockCard(col, x, xi, 1)),
					h('div', { class: 'chips' }, ['text', 'image', 'button'].map((ty) => h('button', { type: 'button', class: 'btn btn-ghost btn-sm', disabled: !writable, onclick: () => { col.push({ type: ty, ...(ty === 'image' ? { src: 'https://' } : {}) }); drawBlocks(); schedule(); } }, icon('plus', { size: 'sm' }), t(`lp.block_${ty}`)))))))
				: h('div', { class: 'form-grid' }, FIELDS[b.type].map((k) => field({ label: t(`lp.f_${k}`), control: blockControl(b, k), span2: LONG.has(k) }))));
		if (depth === 0) {
			card.addEventListener('dragstart', (e) => { e.dataTransfer.setData('text/plain', String(i)); card.classList.add('dragging'); });
			card.addEventListener('dragend', () => card.classList.remove('dragging'));
			card.addEventListener('dragover', (e) => { e.preventDefault(); card.classList.add('drop-target'); });
			card.addEventListener('dragleave', () => card.classList.remove('drop-target'));
			card.addEventListener('drop', (e) => {
				e.preventDefault();
				const from = Number(e.dataTransfer.getData('text/plain'));
				if (Number.isNaN(from) || from === i) return;
				const [moved] = list.splice(from, 1);
				list.splice(i, 0, moved);
				drawBlocks();
				schedule();
			});
		}
		return card;
	}

	function drawBlocks() {
		const c = current();
		const list = c.blocks || [];
		mount(blockList, list.length ? list.map((b, i) => blockCard(list, b, i, 0)) : h('p', { class: 'muted small', text: t('lp.no_blocks') }));
	}

	function drawVariantBar() {
		const keys = ['a', ...draft.variants.map((v) => v.key)];
		mount(variantBar,
			h('span', { class: 'label', text: t('lp.editing') }),
			keys.map((k) => h('button', { type: 'button', class: `btn btn-sm ${k === editing ? 'btn-primary' : ''}`, 'data-testid': `lp-edit-${k}`, onclick: () => selectVariant(k) },
				k === 'a' ? t('lp.variant_a') : t('lp.variant_n', { key: k.toUpperCase() }))));
	}

	function selectVariant(k) {
		editing = k;
		const c = current();
		variantTitleRow.hidden = k === 'a';
		variantTitle.value = c.title || '';
		drawVariantBar();
		setMode(c.html != null ? 'html' : 'blocks');
	}
	variantTitle.addEventListener('input', () => { const c = current(); if (c !== draft.a) { c.title = variantTitle.value || undefined; schedule(); } });
	html.addEventListener('input', () => { current().html = html.value; schedule(); });
	for (const c of [title, desc, canonical, ogImage]) c.addEventListener('input', schedule);
	noindex.addEventListener('change', schedule);
	title.addEventListener('input', () => { draft.a.title = title.value; });

	function addVariant() {
		const used = new Set(draft.variants.map((v) => v.key));
		const key = 'bcde'.split('').find((k) => !used.has(k));
		if (!key) return;
		const share = Math.floor(100 / (draft.variants.length + 2));
		draft.variants.forEach((v) => { v.weight = share; });
		draft.variants.push({ key, weight: share, title: title.value, blocks: structuredClone(draft.a.blocks || []), html: draft.a.html });
		drawAb();
		selectVariant(key);
	}

	function drawAb() {
		const report = page.ab;
		const rows = report ? Object.fromEntries(report.variants.map((r) => [r.key, r])) : {};
		const weightA = 100 - draft.variants.reduce((s, v) => s + Number(v.weight || 0), 0);
		const pct = (x) => (x == null ? '—' : `${(x * 100).toFixed(1)}%`);
		const row = (key, weightCtl) => {
			const r = rows[key] || {};
			const win = report && report.winner === key;
			return h('tr', { 'data-testid': 'ab-row', 'data-key': key },
				h('td', null, h('strong', { title: key === 'a' ? t('lp.variant_a') : t('lp.variant_n', { key: key.toUpperCase() }), text: key.toUpperCase() }), win ? h('span', { class: 'badge badge-success', style: { marginLeft: '6px' }, text: t('lp.winner') }) : null),
				h('td', null, weightCtl),
				h('td', { class: 'num', text: fmtNumber(r.visits || 0) }),
				h('td', { class: 'num', text: fmtNumber(r.conversions || 0) }),
				h('td', { class: 'num', 'data-testid': 'ab-rate', text: pct(r.conversion_rate) }),
				h('td', null, writable && report && key in rows ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm btn-icon', title: t('lp.promote_confirm'), 'aria-label': t('lp.promote_confirm'), 'data-testid': `ab-promote-${key}`, onclick: () => promote(key) }, icon('check', { size: 'sm' })) : null));
		};
		const weightInput = (v) => {
			const c = h('input', { class: 'input input-sm', type: 'number', min: 1, max: 99, value: v.weight, disabled: !writable, style: { width: '5.5em' }, 'aria-label': t('lp.weight') });
			c.addEventListener('input', () => { v.weight = Number(c.value); drawAbSoon(); });
			return h('span', { class: 'nowrap' }, c, ' %');
		};
		const status = report ? t(`lp.ab_status_${report.status}`, { confidence: report.confidence == null ? '' : `${Math.round(report.confidence * 100)}%` }) : t('lp.ab_none');
		mount(abBox,
			h('p', { class: 'small muted', text: t('lp.ab_hint') }),
			draft.variants.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table lp-ab-table' },
				h('thead', null, h('tr', null, ['variant', 'weight', 'visits', 'conversions', 'rate', ''].map((k) => h('th', { text: k ? t(`lp.ab_${k}`) : '' })))),
				h('tbody', null, row('a', h('span', { class: weightA < 1 ? 'error' : '', text: `${weightA} %` })), draft.variants.map((v) => row(v.key, weightInput(v)))))) : null,
			h('div', { class: `callout ${report?.status === 'winner' ? 'callout-success' : ''}`, 'data-testid': 'ab-status', text: status }),
			h('div', { class: 'chips' },
				writable && draft.variants.length < 4 ? h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'ab-add', onclick: addVariant }, icon('plus', { size: 'sm' }), t('lp.add_variant')) : null,
				writable && draft.variants.length ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'ab-remove', onclick: () => { draft.variants.pop(); drawAb(); selectVariant('a'); } }, icon('trash', { size: 'sm' }), t('lp.remove_variant')) : null));
	}
	const drawAbSoon = debounce(drawAb, 400);

	async function promote(key) {
		if (!(await confirmDialog({ title: t('lp.promote_title', { key: key.toUpperCase() }), message: t('lp.promote_text'), confirmLabel: t('lp.promote_confirm'), danger: false }))) return;
		try {
			page = await api.post(`/pages/${id}/variants/${key}/promote`, {}, { quiet: true });
			toast(t('lp.promoted'));
			ctx.reload ? ctx.reload() : location.reload();
		} catch (e) {
			showFieldError(ctx.root, e);
		}
	}

	const pubBadge = h('span', { class: 'badge', 'data-testid': 'lp-status' });
	const pubBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'lp-publish', disabled: !writable, onclick: () => save(!page.published) });
	function drawPublish() {
		pubBadge.className = `badge ${page.published ? 'badge-success' : ''}`;
		pubBadge.textContent = t(page.published ? 'lp.published' : 'lp.draft');
		mount(pubBtn, icon(page.published ? 'lock' : 'globe', { size: 'sm' }), t(page.published ? 'lp.unpublish' : 'lp.publish'));
	}

	async function save(published = page.published) {
		clearFieldErrors(ctx.root);
		mount(err);
		try {
			page = await api.patch(`/pages/${id}`, { ...body(), published }, { quiet: true });
			ctx.setCrumbs([back, { label: page.title }]);
			toast(published && !page.published ? t('lp.saved') : published ? t('lp.saved_published') : t('lp.saved'));
			drawPublish();
			drawAb();
		} catch (e) {
			showFieldError(ctx.root, e);
			if (!ctx.root.querySelector('[aria-invalid="true"]')) mount(err, e.message);
		}
	}

	const liveLink = h('a', { class: 'btn btn-ghost', href: `/p/${page.slug}`, target: '_blank', rel: 'noopener', 'data-testid': 'lp-open' }, icon('link', { size: 'sm' }), t('lp.open_live'));
	mount(ctx.root,
		h('div', { class: 'page-head' },
			h('div', null, h('h1', { text: page.title }), h('p', { class: 'section-desc' }, pubBadge, ' ', h('span', { class: 'mono small', text: `/p/${page.slug}` }))),
			h('div', { class: 'page-actions' }, liveLink, pubBtn,
				writable ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'lp-save', onclick: () => save() }, t('common.save_changes')) : null)),
		err,
		h('div', { class: 'lp-editor' },
			h('div', { class: 'stack' },
				h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', { text: t('lp.content') }), h('div', { class: 'chips' }, modeBtns)),
					h('div', { class: 'card-body stack' }, variantBar, variantTitleRow, blocksPane, htmlPane)),
				h('section', { class: 'card', 'data-testid': 'seo-panel' }, h('div', { class: 'card-header' }, h('h2', { text: t('lp.seo') })),
					h('div', { class: 'card-body form-grid' },
						field({ label: t('lp.page_title'), control: title, required: true, hint: t('lp.title_hint') }),
						field({ label: t('lp.slug'), control: slug, required: true }),
						field({ label: t('lp.description'), control: desc, span2: true, hint: t('lp.description_hint') }),
						field({ label: t('lp.canonical'), control: canonical }),
						field({ label: t('lp.og_image'), control: ogImage }),
						field({ label: t('lp.tracking'), control: site, hint: t('lp.tracking_hint') }),
						h('label', { class: 'check' }, noindex, h('span', { text: t('lp.noindex') })))),
				h('section', { class: 'card', 'data-testid': 'ab-panel' }, h('div', { class: 'card-header' }, h('h2', { text: t('lp.ab') })), h('div', { class: 'card-body' }, abBox))),
			h('section', { class: 'card lp-preview-card' },
				h('div', { class: 'card-header' }, h('h2', { text: t('lp.preview') }), h('div', { class: 'chips' }, devBtns)),
				h('div', { class: 'card-body stack-sm' }, previewNote, frameWrap))));
	drawPublish();
	drawAb();
	selectVariant('a');
}
