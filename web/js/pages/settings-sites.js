// settings-sites.js — tracked web sites: list, create, edit (origins, bot filter, IP anonymization, DNT),
// each with the embed snippet to copy into the site's pages.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDate, fmtDateTime, fmtNumber } from '../i18n.js';
import { settingsHead } from '../settings-nav.js';
import { can } from '../state.js';
import { openDialog, toast, field, formError, showFieldError, clearFieldErrors, secretBox, skeletonBlock, emptyState } from '../ui.js';

const FLAGS = ['bot_filter', 'anonymize_ip', 'respect_dnt'];

export default async function render(ctx) {
	const writable = can('manage_fields'); // marketer and admin
	const createBtn = writable ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'create-site', onclick: () => edit(null) }, icon('plus'), t('sites.create')) : null;
	const list = h('div', { class: 'stack', 'data-testid': 'sites-list' }, h('div', { class: 'card' }, h('div', { class: 'card-body' }, skeletonBlock(4))));
	mount(ctx.root, settingsHead(ctx, 'sites', createBtn ? [createBtn] : []),
		h('div', { class: 'callout', style: { marginBottom: '16px' } }, icon('info'), h('span', { text: t('sites.intro') })),
		list);

	async function load() {
		const r = await api.get('/sites', null, { signal: ctx.signal });
		if (!ctx.alive) return;
		if (!r.data.length) {
			mount(list, h('div', { class: 'card' }, emptyState({
				iconName: 'globe', title: t('sites.empty_title'), text: t('sites.empty_text'), testid: 'sites-empty',
				actions: createBtn ? [h('button', { type: 'button', class: 'btn btn-primary', onclick: () => edit(null) }, icon('plus'), t('sites.create'))] : [],
			})));
			return;
		}
		mount(list, r.data.map(card));
	}

	function card(s) {
		const flag = (k) => h('span', { class: `badge ${s[k] ? 'badge-success' : ''}`, 'data-testid': `site-${k}` }, s[k] ? icon('check', { size: 'sm' }) : icon('x', { size: 'sm' }), t(`sites.${k}`));
		return h('section', { class: 'card', 'data-testid': 'site-card', 'data-name': s.name, 'aria-labelledby': `site-h-${s.id}` },
			h('div', { class: 'card-header' },
				h('h2', { id: `site-h-${s.id}`, text: s.name }),
				writable ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'site-edit', onclick: () => edit(s) }, icon('edit', { size: 'sm' }), t('common.edit')) : null),
			h('div', { class: 'card-body stack' },
				h('dl', { class: 'meta site-meta' },
					h('dt', null, t('sites.site_key')), h('dd', { class: 'mono', 'data-testid': 'site-key', text: s.site_key }),
					h('dt', null, t('sites.allowed_origins')), h('dd', { 'data-testid': 'site-origins' }, s.allowed_origins.length ? h('div', { class: 'chips' }, s.allowed_origins.map((o) => h('span', { class: 'chip mono', text: o }))) : h('span', { class: 'muted', text: t('sites.any_origin') })),
					h('dt', null, t('sites.privacy')), h('dd', null, h('div', { class: 'chips' }, FLAGS.map(flag))),
					h('dt', null, t('sites.retention_days')), h('dd', null, t('sites.days', { n: s.retention_days })),
					h('dt', null, t('sites.created')), h('dd', { title: fmtDateTime(s.created_at) }, fmtDate(s.created_at))),
				h('div', { class: 'field' }, h('span', { class: 'label', text: t('sites.snippet') }), h('p', { class: 'hint', text: t('sites.snippet_hint') }),
					h('div', { class: 'snippet' }, secretBox(s.snippet, 'site-snippet')))));
	}

	function edit(site) {
		const name = h('input', { class: 'input', name: 'name', autocomplete: 'off', value: site ? site.name : '', placeholder: t('sites.name_placeholder'), 'data-testid': 'site-name' });
		const origins = h('textarea', { class: 'textarea mono', name: 'allowed_origins', rows: 3, placeholder: 'https://www.example.co.jp', 'data-testid': 'site-origins-input' });
		origins.value = site ? site.allowed_origins.join('\n') : '';
		const retention = h('input', { class: 'input', type: 'number', min: 1, max: 3650, name: 'retention_days', value: String(site ? site.retention_days : 400), 'data-testid': 'site-retention' });
		const boxes = {};
		const checks = FLAGS.map((k) => {
			boxes[k] = h('input', { type: 'checkbox', name: k, checked: site ? site[k] : k === 'bot_filter', 'data-testid': `site-${k}-input` });
			return h('label', { class: 'check check-block' }, boxes[k], h('span', null, h('strong', { text: t(`sites.${k}`) }), h('span', { class: 'hint', style: { display: 'block' }, text: t(`sites.${k}_hint`) })));
		});
		const err = formError();
		const { el } = openDialog({
			title: site ? t('sites.edit_title', { name: site.name }) : t('sites.create_title'),
			testid: 'site-dialog',
			wide: true,
			form: true,
			body: [err,
				field({ label: t('sites.name'), control: name, required: true }),
				field({ label: t('sites.allowed_origins'), control: origins, hint: t('sites.origins_hint') }),
				h('fieldset', { class: 'stack-sm', style: { border: 0, padding: 0, margin: 0 } }, h('legend', { class: 'label', text: t('sites.privacy') }), checks),
				field({ label: t('sites.retention_days'), control: retention, hint: t('sites.retention_hint') })],
			actions: (close) => [
				h('button', { type: 'button', class: 'btn', onclick: () => close() }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'site-save' }, site ? t('common.save_changes') : t('sites.create')),
			],
			onSubmit: async (close) => {
				const form = el.querySelector('form');
				clearFieldErrors(form);
				if (!name.value.trim()) return showFieldError(form, { field: 'name', message: t('sites.name_required') });
				const body = {
					name: name.value.trim(),
					allowed_origins: origins.value.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean),
					retention_days: Number(retention.value) || 400,
				};
				for (const k of FLAGS) body[k] = boxes[k].checked;
				try {
					const out = site ? await api.patch(`/sites/${site.id}`, body, { quiet: true }) : await api.post('/sites', body, { quiet: true });
					close();
					toast(site ? t('sites.saved', { name: out.name }) : t('sites.created_toast', { name: out.name }));
					await load();
				} catch (e) {
					showFieldError(form, e);
				}
			},
		});
	}

	await load();
}
