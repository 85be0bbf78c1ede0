// inline.js — edit-in-place rows for record pages, and a searchable combobox (company picker).
import { h, icon, mount, uid, debounce } from './dom.js';
import { t } from './i18n.js';
import { errorMessage } from './api.js';

/**
 * One property row of a <dl class="props">: shows the value; clicking it (or Enter) turns it
 * into an editor with Save/Cancel. Enter saves, Escape cancels. save(value) may throw an
 * ApiError whose message is shown under the control.
 *   inlineRow({key, label, display: () => node|string, editor: (id) => {el, read, focus}, save, readonly})
 * Returns [dt, dd].
 */
export function inlineRow({ key, label, display, editor, save, readonly }) {
	const labelId = uid('lbl');
	const dt = h('dt', { id: labelId }, label);
	const dd = h('dd', { 'data-testid': `prop-${key}` });

	function view() {
		const shown = display();
		const empty = shown === '' || shown === null || shown === undefined;
		const content = empty ? h('span', { class: 'placeholder', text: readonly ? '—' : t('common.add_value') }) : shown;
		if (readonly) {
			mount(dd, h('div', { class: 'inline-value readonly', 'data-testid': `field-${key}` }, content));
			return;
		}
		const btn = h('button', { type: 'button', class: 'inline-value', 'aria-describedby': labelId, 'data-testid': `field-${key}`, title: t('common.click_to_edit') }, content, icon('edit', { size: 'sm' }));
		btn.setAttribute('aria-label', `${t('common.edit')}: ${label}`);
		btn.addEventListener('click', (e) => {
			if (e.target.closest('a')) return; // let links (mailto:, tel:) work
			edit();
		});
		mount(dd, btn);
	}

	function edit() {
		const id = uid('inp');
		const ed = editor(id);
		const err = h('div', { class: 'error small', role: 'alert', hidden: true, 'data-testid': `error-${key}` });
		const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary btn-sm', 'data-testid': `save-${key}` }, t('common.save'));
		const cancelBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': `cancel-${key}` }, t('common.cancel'));
		if (ed.el.tagName !== 'DIV') ed.el.setAttribute('aria-labelledby', labelId);
		const form = h('form', { class: 'inline-form', novalidate: true }, h('div', { class: 'row' }, ed.el, saveBtn, cancelBtn), err);
		const cancel = () => {
			view();
			const b = dd.querySelector('button');
			if (b) b.focus();
		};
		cancelBtn.addEventListener('click', cancel);
		form.addEventListener('keydown', (e) => {
			if (e.key === 'Escape') {
				e.preventDefault();
				e.stopPropagation();
				cancel();
			}
		});
		form.addEventListener('submit', async (e) => {
			e.preventDefault();
			err.hidden = true;
			saveBtn.disabled = true;
			ed.el.removeAttribute && ed.el.removeAttribute('aria-invalid');
			try {
				await save(ed.read());
			} catch (x) {
				saveBtn.disabled = false;
				if (x && x.name === 'AbortError') return;
				err.textContent = errorMessage(x);
				err.hidden = false;
				ed.el.setAttribute('aria-invalid', 'true');
				ed.focus();
			}
		});
		mount(dd, form);
		ed.focus();
	}

	view();
	return [dt, dd];
}

/**
 * A combobox: type to search (search(q) → [{id, label, sub}]), arrows to move, Enter to pick.
 * allowCreate adds "Create “text”" as the last option (onPick({create: text})).
 */
export function combobox({ id, label, placeholder, search, onPick, allowCreate, testid }) {
	const listId = uid('lb');
	const input = h('input', { class: 'input', id, type: 'text', role: 'combobox', 'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId, placeholder, autocomplete: 'off', 'data-testid': testid, 'aria-label': id ? null : label });
	const list = h('ul', { class: 'combo-list', id: listId, role: 'listbox', hidden: true, 'data-testid': testid ? `${testid}-options` : null });
	let items = [];
	let active = -1;
	let seq = 0;

	function close() {
		list.hidden = true;
		input.setAttribute('aria-expanded', 'false');
		input.removeAttribute('aria-activedescendant');
	}
	function paint() {
		mount(list, items.map((it, i) => {
			const li = h('li', { id: `${listId}-${i}`, role: 'option', 'aria-selected': String(i === active) }, it.create ? t('common.create_named', { name: it.create }) : it.label, it.sub ? h('span', { text: it.sub }) : null);
			li.addEventListener('mousedown', (e) => {
				e.preventDefault();
				pick(i);
			});
			return li;
		}));
		list.hidden = items.length === 0;
		input.setAttribute('aria-expanded', String(!list.hidden));
		if (active >= 0) input.setAttribute('aria-activedescendant', `${listId}-${active}`);
		else input.removeAttribute('aria-activedescendant');
	}
	function pick(i) {
		const it = items[i];
		if (!it) return;
		close();
		onPick(it);
	}
	const run = debounce(async () => {
		const q = input.value.trim();
		const my = ++seq;
		let found = [];
		try {
			found = await search(q);
		} catch {
			found = [];
		}
		if (my !== seq) return;
		items = found.slice(0, 8);
		if (allowCreate && q && !items.some((x) => x.label.toLowerCase() === q.toLowerCase())) items.push({ create: q });
		active = items.length ? 0 : -1;
		paint();
	}, 200);
	input.addEventListener('input', run);
	input.addEventListener('focus', run);
	input.addEventListener('blur', () => setTimeout(close, 100));
	input.addEventListener('keydown', (e) => {
		if (e.key === 'ArrowDown' && items.length) {
			e.preventDefault();
			active = (active + 1) % items.length;
			paint();
		} else if (e.key === 'ArrowUp' && items.length) {
			e.preventDefault();
			active = (active - 1 + items.length) % items.length;
			paint();
		} else if (e.key === 'Enter') {
			if (!list.hidden && active >= 0) {
				e.preventDefault();
				pick(active);
			}
		} else if (e.key === 'Escape' && !list.hidden) {
			e.preventDefault();
			e.stopPropagation();
			close();
		}
	});
	return { el: h('div', { class: 'combo' }, input, list), input };
}
