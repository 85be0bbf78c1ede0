// assets.js — the asset library (whitepapers): upload with type and size checks on the server, gate or
// ungate, and the number of downloads.
import { api, request, showError } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDate, fmtNumber } from '../i18n.js';
import { can } from '../state.js';
import { toast, skeletonRows, emptyState, pageHead } from '../ui.js';

export default async function render(ctx) {
	const writable = can('manage_fields');
	const file = h('input', { type: 'file', hidden: true, id: 'asset-file', 'data-testid': 'asset-file', accept: '.pdf,.png,.jpg,.jpeg,.gif,.webp,.zip,.docx,.xlsx,.pptx,.mp4,.txt,.csv', onchange: () => upload() });
	const uploadBtn = writable ? h('label', { class: 'btn btn-primary', for: 'asset-file', 'data-testid': 'asset-upload' }, icon('upload'), t('assets.upload')) : null;
	const body = h('div', { class: 'card', 'data-testid': 'assets-list' }, skeletonRows(4, 3));
	mount(ctx.root, pageHead({ title: t('assets.title'), desc: t('assets.desc'), actions: writable ? [uploadBtn, file] : [], testid: 'assets-head' }), body);

	async function upload() {
		const f = file.files[0];
		if (!f) return;
		try {
			const j = await request('POST', '/assets', { query: { name: f.name, filename: f.name }, raw: f, contentType: f.type || 'application/octet-stream', quiet: true });
			toast(t('assets.uploaded', { name: j.name }));
			await load();
		} catch (e) {
			showError(e, t('assets.upload_failed'));
		} finally {
			file.value = '';
		}
	}

	async function toggle(a) {
		await api.patch(`/assets/${a.id}`, { gated: !a.gated });
		await load();
	}

	async function load() {
		const r = await api.get('/assets', null, { signal: ctx.signal });
		if (!ctx.alive) return;
		if (!r.data.length) {
			mount(body, emptyState({ iconName: 'file', title: t('assets.empty_title'), text: t('assets.empty_text'), testid: 'assets-empty' }));
			return;
		}
		mount(body, h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
			h('thead', null, h('tr', null, ['name', 'type', 'size', 'gate', 'downloads', 'created'].map((k) => h('th', { text: t(`assets.col_${k}`) })))),
			h('tbody', null, r.data.map((a) => h('tr', { 'data-testid': 'asset-row' },
				h('td', null, h('a', { href: a.url, target: '_blank', rel: 'noopener', text: a.name })),
				h('td', { class: 'mono', text: a.content_type }),
				h('td', { text: `${fmtNumber(Math.ceil(a.size / 1024))} KB` }),
				h('td', null, writable ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', onclick: () => toggle(a) }, t(a.gated ? 'assets.gated' : 'assets.open')) : t(a.gated ? 'assets.gated' : 'assets.open')),
				h('td', { text: fmtNumber(a.downloads) }),
				h('td', { text: fmtDate(a.created_at) })))))));
	}

	await load();
}
