// settings-fields.js — custom fields: create with a type (and options for select types), edit, delete.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { settingsHead } from '../settings-nav.js';
import { state, can, FIELD_TYPES, loadFields } from '../state.js';
import { openDialog, confirmDialog, toast, field, formError, showFieldError, clearFieldErrors, skeletonRows, emptyState } from '../ui.js';

/** "Seminar date" → "seminar_date"; non-ASCII labels give no suggestion. */
function keyFrom(label) {
	const k = label.normalize('NFKC').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').replace(/^[0-9_]+/, '');
	return k.slice(0, 63);
}

export default async function render(ctx) {
	const manage = can('manage_fields');
	const newBtn = manage ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'create-field', onclick: () => edit(null) }, icon('plus'), t('fields.create')) : null;
	const tbody = h('tbody', { 'data-testid': 'fields-rows' }, skeletonRows(5, 3));
	const COLS = 6;
	mount(ctx.root, settingsHead(ctx, 'fields', newBtn ? [newBtn] : []),
		h('p', { class: 'section-desc', text: t('fields.intro') }),
		h('div', { class: 'card' }, h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'fields-table', 'aria-label': t('settings.tab_fields') },
			h('thead', null, h('tr', null,
				h('th', { scope: 'col' }, t('fields.col_label')),
				h('th', { scope: 'col' }, t('fields.col_key')),
				h('th', { scope: 'col' }, t('fields.col_type')),
				h('th', { scope: 'col' }, t('fields.col_options')),
				h('th', { scope: 'col' }, t('fields.col_created')),
				h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('common.actions'))))),
			tbody))));

	async function load() {
		const list = await loadFields(true);
		if (!ctx.alive) return;
		if (!list.length) {
			mount(tbody, h('tr', null, h('td', { colspan: COLS }, emptyState({ iconName: 'fields', title: t('fields.empty_title'), text: t('fields.empty_text'), actions: manage ? [h('button', { type: 'button', class: 'btn btn-primary', onclick: () => edit(null) }, icon('plus'), t('fields.create'))] : [] }))));
			return;
		}
		mount(tbody, list.map((f) => h('tr', { 'data-testid': 'field-row', 'data-key': f.key },
			h('td', null, h('span', { class: 'name' }, f.label)),
			h('td', null, h('code', { class: 'mono' }, f.key)),
			h('td', null, h('span', { class: 'badge badge-primary' }, t(`fields.type_${f.type}`))),
			h('td', null, f.options && f.options.length ? h('div', { class: 'chips' }, f.options.slice(0, 6).map((o) => h('span', { class: 'chip' }, o)), f.options.length > 6 ? h('span', { class: 'badge' }, `+${f.options.length - 6}`) : null) : h('span', { class: 'muted' }, '—')),
			h('td', { class: 'muted nowrap' }, fmtDate(f.created_at)),
			h('td', { class: 'num nowrap' }, manage ? [
				h('button', { type: 'button', class: 'btn btn-sm btn-ghost', 'data-testid': 'field-edit', 'aria-label': `${t('common.edit')}: ${f.label}`, onclick: () => edit(f) }, icon('edit', { size: 'sm' }), t('common.edit')),
				h('button', { type: 'button', class: 'btn btn-sm btn-danger-ghost', 'data-testid': 'field-delete', 'aria-label': `${t('common.delete')}: ${f.label}`, onclick: () => remove(f) }, t('common.delete')),
			] : null))));
	}

	function edit(f) {
		const creating = !f;
		const label = h('input', { class: 'input', name: 'label', value: f ? f.label : '', autocomplete: 'off', 'data-testid': 'field-label' });
		const key = h('input', { class: 'input mono', name: 'key', value: f ? f.key : '', autocomplete: 'off', disabled: !creating, 'data-testid': 'field-key', placeholder: 'seminar_date' });
		const type = h('select', { class: 'select', name: 'type', disabled: !creating, 'data-testid': 'field-type' }, FIELD_TYPES.map((x) => h('option', { value: x, selected: f ? f.type === x : x === 'text' }, t(`fields.type_${x}`))));
		const options = h('textarea', { class: 'textarea', name: 'options', 'data-testid': 'field-options', placeholder: t('fields.options_placeholder') });
		options.value = f && f.options ? f.options.join('\n') : '';
		const optionsField = field({ label: t('fields.col_options'), control: options, hint: t('fields.options_hint') });
		let keyTouched = !creating;
		key.addEventListener('input', () => {
			keyTouched = true;
		});
		label.addEventListener('input', () => {
			if (!keyTouched) key.value = keyFrom(label.value);
		});
		const syncType = () => {
			optionsField.hidden = !['select', 'multiselect'].includes(type.value);
		};
		type.addEventListener('change', syncType);
		syncType();
		const err = formError();
		const { el } = openDialog({
			title: creating ? t('fields.create_title') : t('fields.edit_title', { label: f.label }),
			testid: creating ? 'create-field-dialog' : 'edit-field-dialog',
			form: true,
			body: [err,
				field({ label: t('fields.col_label'), control: label, required: true, hint: t('fields.label_hint') }),
				field({ label: t('fields.col_key'), control: key, required: true, hint: creating ? t('fields.key_hint') : t('fields.key_fixed') }),
				field({ label: t('fields.col_type'), control: type, hint: creating ? null : t('fields.type_fixed') }),
				optionsField],
			actions: (close) => [
				h('button', { type: 'button', class: 'btn', onclick: () => close() }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'field-submit' }, creating ? t('fields.create') : t('common.save')),
			],
			onSubmit: async (close) => {
				const form = el.querySelector('form');
				clearFieldErrors(form);
				const body = { label: label.value.trim() };
				if (!body.label) return showFieldError(form, { field: 'label', message: t('fields.label_required') });
				if (creating) {
					body.key = key.value.trim();
					body.type = type.value;
					if (!/^[a-z][a-z0-9_]{0,62}$/.test(body.key)) return showFieldError(form, { field: 'key', message: t('fields.key_invalid') });
				}
				if (['select', 'multiselect'].includes(type.value)) {
					body.options = [...new Set(options.value.split(/\r?\n/).map((s) => s.trim()).filter(Boolean))];
					if (!body.options.length) return showFieldError(form, { field: 'options', message: t('fields.options_required') });
				}
				try {
					if (creating) await api.post('/fields', body, { quiet: true });
					else await api.patch(`/fields/${encodeURIComponent(f.key)}`, body, { quiet: true });
					close();
					toast(creating ? t('fields.created', { label: body.label }) : t('fields.saved', { label: body.label }));
					await load();
				} catch (e) {
					showFieldError(form, e);
				}
			},
		});
	}

	async function remove(f) {
		const ok = await confirmDialog({
			title: t('fields.delete_title', { label: f.label }),
			message: t('fields.delete_text'),
			confirmLabel: t('common.delete'),
			testid: 'delete-field-dialog',
		});
		if (!ok) return;
		try {
			await api.del(`/fields/${encodeURIComponent(f.key)}`);
			toast(t('fields.deleted', { label: f.label }));
			state.fields = null;
			await load();
		} catch {
			/* toasted */
		}
	}

	await load();
}
