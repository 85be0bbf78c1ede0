// filter-builder.js — the visual editor for the filter language (docs/filters.md): nested AND/OR groups of field, event and segment conditions, with a JSON view.
//
//   const fb = filterBuilder({ value, onChange, fields });
//   parent.append(fb.el);  fb.value → the filter JSON;  fb.value = other;  fb.showError('/all/1/op', msg)
//
// value:    a filter (any condition; a single condition is shown inside an "all" group).
// onChange: called with the filter JSON after every edit.
// fields:   optional extra fields for the picker: filter paths with a type
//           ({key: 'company.employees', label, type: 'number'}) or custom field definitions as
//           GET /api/v1/fields returns them ({key: 'plan', label, type: 'select', options}).
//           Without it the builder loads the custom fields itself.
// Self-contained: its CSS (fb-*) is web/css/filter-builder.css, loaded on first use; its
// texts are the filter_builder.* keys of web/i18n.
import { api } from './api.js';
import { h, icon, mount, uid } from './dom.js';
import { t, has } from './i18n.js';

const OPS = {
	text: ['eq', 'neq', 'contains', 'not_contains', 'starts_with', 'ends_with', 'in', 'not_in', 'exists', 'not_exists'],
	number: ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'not_in', 'exists', 'not_exists'],
	date: ['within_last', 'not_within_last', 'eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'anniversary_within', 'exists', 'not_exists'],
	boolean: ['eq', 'neq', 'exists', 'not_exists'],
	list: ['contains', 'not_contains', 'in', 'not_in', 'exists', 'not_exists'],
	stage: ['eq', 'neq', 'gte', 'gt', 'lte', 'lt', 'in', 'not_in', 'exists', 'not_exists'],
	any: ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'not_in', 'contains', 'not_contains', 'starts_with', 'ends_with', 'exists', 'not_exists', 'within_last', 'not_within_last'],
};
const NO_VALUE = new Set(['exists', 'not_exists']);
const DAYS = new Set(['within_last', 'not_within_last', 'anniversary_within']);
const MANY = new Set(['in', 'not_in']);
const COUNT_OPS = ['gte', 'lte', 'eq', 'gt', 'lt', 'neq', 'never'];
const TOUCH = ['source', 'medium', 'campaign', 'term', 'content', 'landing_url', 'referrer_domain'];
const EVENTS = ['page_view', 'form_submitted', 'email_opened', 'email_clicked', 'email_bounced', 'purchase', 'asset_downloaded', 'segment_entered', 'segment_exited', 'score_changed', 'stage_changed'];
const PROPS = ['path', 'url', 'title', 'referrer', 'email_id', 'form_id', 'asset', 'amount', 'segment_id'];
const CONSENT = ['email', 'sms', 'line', 'push'];
const OTHER_COMPANY = '__company_other';

// ---- context: what the pickers offer, loaded once per page view ---------------------

let cssLoaded = false;
function loadCss() {
	if (cssLoaded || document.querySelector('link[data-fb-css]')) return;
	cssLoaded = true;
	document.head.append(h('link', { rel: 'stylesheet', href: '/css/filter-builder.css', 'data-fb-css': '' }));
}

async function quiet(path) {
	try {
		return await api.get(path, undefined, { quiet: true });
	} catch {
		return null;
	}
}

// Several builders on one screen (stage rules, journey steps) share one load for a few seconds.
const shared = new Map();
function loadContext(withFields) {
	const key = withFields ? 'with' : 'without';
	const hit = shared.get(key);
	if (hit && Date.now() - hit.at < 5000) return hit.p;
	const p = fetchContext(withFields);
	shared.set(key, { at: Date.now(), p });
	return p;
}

async function fetchContext(withFields) {
	const [fields, tags, stages, segments, rules] = await Promise.all([
		withFields ? quiet('/fields') : null, quiet('/tags'), quiet('/stages'), quiet('/segments'), quiet('/scoring/rules')]);
	const categories = new Set();
	const events = new Set(EVENTS);
	for (const r of (rules && rules.data) || []) {
		if (r.category) categories.add(r.category);
		if (r.event) events.add(r.event);
	}
	return {
		fields: (fields && fields.data) || [],
		tags: ((tags && tags.data) || []).map((x) => x.tag),
		stages: (stages && stages.stages) || ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer', 'repeater'],
		segments: (segments && segments.data) || [],
		categories: [...categories].sort(),
		events: [...events],
	};
}

function customType(type) {
	if (type === 'number') return 'number';
	if (type === 'date' || type === 'datetime') return 'date';
	if (type === 'boolean') return 'boolean';
	if (type === 'multiselect') return 'list';
	return ['text', 'number', 'date', 'boolean', 'list', 'stage', 'any'].includes(type) ? type : 'text';
}

/** The picker's catalogue: [{group, items: [{key, label, type, options}]}]. */
function catalogue(ctx, extra) {
	const L = (k) => t(`filter_builder.f.${k}`);
	const item = (key, type, label) => ({ key, type, label: label || L(key) });
	const custom = [];
	const company = [item('company.name', 'text', L('company_name')), item('company.domain', 'text', L('company_domain'))];
	for (const f of [...ctx.fields, ...(extra || [])]) {
		const key = f.key.includes('.') ? f.key : `fields.${f.key}`;
		const it = { key, type: customType(f.type), label: f.label || f.key, options: f.options || null };
		(key.startsWith('company.') ? company : custom).push(it);
	}
	company.push({ key: OTHER_COMPANY, type: 'any', label: t('filter_builder.f.company_other') });
	return [
		{ group: t('filter_builder.g.contact'), items: [
			item('email', 'text'), item('last_name', 'text'), item('first_name', 'text'), item('last_name_kana', 'text'),
			item('first_name_kana', 'text'), item('phone', 'text'), item('tags', 'list'), item('owner', 'number'),
			item('company_id', 'number'), item('timezone', 'text'), item('locale', 'text'),
			item('created_at', 'date'), item('updated_at', 'date'), item('last_seen', 'date')] },
		{ group: t('filter_builder.g.scoring'), items: [item('stage', 'stage'), item('score', 'number'),
			...ctx.categories.map((c) => item(`score.${c}`, 'number', t('filter_builder.f.score_of', { category: c })))] },
		{ group: t('filter_builder.g.custom'), items: custom },
		{ group: t('filter_builder.g.company'), items: company },
		{ group: t('filter_builder.g.attribution'), items: [
			...TOUCH.map((k) => item(`first_touch.${k}`, 'text', `${t('filter_builder.f.first_touch')}: ${t(`filter_builder.touch.${k}`)}`)),
			...TOUCH.map((k) => item(`last_touch.${k}`, 'text', `${t('filter_builder.f.last_touch')}: ${t(`filter_builder.touch.${k}`)}`))] },
		{ group: t('filter_builder.g.consent'), items: CONSENT.map((c) => item(`consent.${c}`, 'boolean', t('filter_builder.f.consent', { channel: t(`filter_builder.channel.${c}`) }))) },
	].filter((g) => g.items.length);
}

// ---- the model: the filter JSON as a tree the UI edits in place ------------------------

let nextId = 1;
function fromJson(j) {
	const id = nextId++;
	if (j && typeof j === 'object' && !Array.isArray(j)) {
		const keys = Object.keys(j);
		if (keys.length === 1 && 'not' in j) {
			const inner = fromJson(j.not);
			inner.neg = !inner.neg;
			return inner;
		}
		if (keys.length === 1 && Array.isArray(j.all)) return { id, kind: 'group', mode: 'all', neg: false, children: j.all.map(fromJson) };
		if (keys.length === 1 && Array.isArray(j.any)) return { id, kind: 'group', mode: 'any', neg: false, children: j.any.map(fromJson) };
		if ('field' in j && keys.every((k) => ['field', 'op', 'value'].includes(k))) return { id, kind: 'field', neg: false, field: j.field, op: j.op, value: j.value };
		if ('event' in j && keys.every((k) => ['event', 'where', 'count', 'within_days'].includes(k)) && (j.where === undefined || Array.isArray(j.where))) {
			const c = j.count || { op: 'gte', value: 1 };
			return { id, kind: 'event', neg: false, event: j.event, where: (j.where || []).map((w) => ({ id: nextId++, prop: w.prop, op: w.op, value: w.value })),
				countOp: c.op === 'eq' && c.value === 0 ? 'never' : c.op, count: c.value, days: j.within_days ?? null };
		}
		if ('segment' in j && keys.every((k) => ['segment', 'member'].includes(k))) return { id, kind: 'segment', neg: false, segment: j.segment, member: j.member !== false };
	}
	return { id, kind: 'raw', neg: false, json: j };
}

function leafJson(n) {
	switch (n.kind) {
	case 'group': return { [n.mode]: n.children.map(toJson) };
	case 'field': {
		const o = { field: n.field, op: n.op };
		if (!NO_VALUE.has(n.op)) o.value = n.value;
		return o;
	}
	case 'event': {
		const o = { event: n.event };
		if (n.where.length) o.where = n.where.map((w) => (NO_VALUE.has(w.op) ? { prop: w.prop, op: w.op } : { prop: w.prop, op: w.op, value: w.value }));
		if (n.countOp === 'never') o.count = { op: 'eq', value: 0 };
		else if (!(n.countOp === 'gte' && n.count === 1)) o.count = { op: n.countOp, value: n.count };
		if (n.days !== null && n.days !== undefined) o.within_days = n.days;
		return o;
	}
	case 'segment': return { segment: n.segment, member: n.member };
	default: return n.json;
	}
}

function toJson(n) {
	const j = leafJson(n);
	return n.neg ? { not: j } : j;
}

function rootModel(v) {
	const m = fromJson(v ?? { all: [] });
	return m.kind === 'group' ? m : { id: nextId++, kind: 'group', mode: 'all', neg: false, children: [m] };
}

// ---- value coercion ---------------------------------------------------------------------

function scalarFor(type, s) {
	if (s === '' || s === null || s === undefined) return type === 'number' ? null : '';
	if (type === 'number') {
		const x = Number(s);
		return Number.isFinite(x) ? x : s;
	}
	if (type === 'boolean') return s === true || s === 'true';
	if (type === 'any') { // event properties and unknown company fields are typed by their value
		if (/^-?\d+(\.\d+)?$/.test(String(s))) return Number(s);
		if (s === 'true' || s === 'false') return s === 'true';
	}
	return s;
}

function defaultValue(type, op) {
	if (NO_VALUE.has(op)) return undefined;
	if (DAYS.has(op)) return { days: op === 'anniversary_within' ? 7 : 30 };
	if (op === 'between') return [null, null];
	if (MANY.has(op)) return [];
	if (type === 'boolean') return true;
	if (type === 'number') return null;
	return '';
}

function valueShape(op) {
	if (NO_VALUE.has(op)) return 'none';
	if (DAYS.has(op)) return 'days';
	if (op === 'between') return 'pair';
	if (MANY.has(op)) return 'many';
	return 'one';
}

// ---- a one-line description, for lists (scoring rules, stage rules, journey steps) ----------

function fieldLabel(key) {
	if (has(`filter_builder.f.${key}`)) return t(`filter_builder.f.${key}`);
	if (key.startsWith('score.')) return t('filter_builder.f.score_of', { category: key.slice(6) });
	return key;
}

function valueText(v) {
	if (v === undefined) return '';
	if (Array.isArray(v)) return v.map(valueText).join(', ');
	if (v && typeof v === 'object' && 'days' in v) return `${v.days} ${t('filter_builder.days_unit')}`;
	return String(v);
}

/** "Tags includes vip AND (did page_view at least 3 times in the last 30 days …)". */
export function describeFilter(f, { segments = {} } = {}) {
	const d = (n, nested) => {
		if (!n || typeof n !== 'object') return '?';
		if (Array.isArray(n.all) || Array.isArray(n.any)) {
			const list = n.all || n.any;
			const s = list.map((c) => d(c, true)).join(` ${t(n.all ? 'filter_builder.join_and' : 'filter_builder.join_or')} `);
			return nested && list.length > 1 ? `(${s})` : s;
		}
		if ('not' in n) return `${t('filter_builder.not')} ${d(n.not, true)}`;
		if ('field' in n) {
			const type = n.field === 'tags' ? 'list' : /(_at|last_seen)$/.test(n.field) ? 'date' : n.field === 'stage' ? 'stage' : 'x';
			const k = `filter_builder.op_${type}.${n.op}`;
			return `${fieldLabel(n.field)} ${has(k) ? t(k) : t(`filter_builder.op.${n.op}`)} ${valueText(n.value)}`.trim();
		}
		if ('event' in n) {
			const c = n.count || { op: 'gte', value: 1 };
			const where = (n.where || []).map((w) => `${w.prop} ${t(`filter_builder.op.${w.op}`)} ${valueText(w.value)}`.trim()).join(', ');
			const count = c.op === 'eq' && c.value === 0 ? t('filter_builder.count_op.never') : `${t(`filter_builder.count_op.${c.op}`)} ${c.value} ${t('filter_builder.times_unit')}`;
			const win = n.within_days ? ` ${t('filter_builder.window_last')} ${n.within_days} ${t('filter_builder.days_unit')}` : '';
			return `${t('filter_builder.did')} ${n.event}${where ? ` [${where}]` : ''} ${count}${win}`;
		}
		if ('segment' in n) return `${t(n.member === false ? 'filter_builder.member_out' : 'filter_builder.member_in')} ${segments[n.segment] || `#${n.segment}`}`;
		return JSON.stringify(n);
	};
	return d(f, false);
}

// ---- the component ----------------------------------------------------------------------

export function filterBuilder({ value, onChange, fields } = {}) {
	loadCss();
	let root = rootModel(value);
	let ctx = { fields: [], tags: [], stages: ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer', 'repeater'], segments: [], categories: [], events: EVENTS };
	let cat = catalogue(ctx, fields);
	let mode = 'visual';
	const paths = new Map(); // JSON pointer → element, for showError
	const listId = uid('fb-dl');

	const tree = h('div', { class: 'fb-tree', 'data-testid': 'fb-tree' });
	const jsonArea = h('textarea', { class: 'fb-json', rows: 14, spellcheck: false, 'data-testid': 'fb-json', 'aria-label': t('filter_builder.json_label'), hidden: true });
	const jsonMsg = h('div', { class: 'fb-json-msg', role: 'status', hidden: true });
	const btnVisual = h('button', { type: 'button', class: 'fb-mode fb-mode-on', 'aria-pressed': 'true', 'data-testid': 'fb-mode-visual' }, t('filter_builder.visual'));
	const btnJson = h('button', { type: 'button', class: 'fb-mode', 'aria-pressed': 'false', 'data-testid': 'fb-mode-json' }, icon('fields', { size: 'sm' }), 'JSON');
	const lists = h('div', { hidden: true });
	const el = h('div', { class: 'fb', 'data-testid': 'filter-builder' },
		h('div', { class: 'fb-bar' }, h('div', { class: 'fb-modes', role: 'group', 'aria-label': t('filter_builder.view') }, btnVisual, btnJson)),
		tree, jsonArea, jsonMsg, lists);

	const changed = () => {
		clearError();
		if (onChange) onChange(toJson(root));
	};

	btnVisual.addEventListener('click', () => setMode('visual'));
	btnJson.addEventListener('click', () => setMode('json'));
	jsonArea.addEventListener('input', () => {
		let j;
		try {
			j = JSON.parse(jsonArea.value);
		} catch {
			jsonMsg.textContent = t('filter_builder.bad_json');
			jsonMsg.hidden = false;
			return;
		}
		jsonMsg.hidden = true;
		root = rootModel(j);
		if (onChange) onChange(toJson(root));
	});

	function setMode(m) {
		if (m === mode) return;
		if (m === 'visual' && !jsonMsg.hidden) return; // keep the JSON until it parses
		mode = m;
		btnVisual.classList.toggle('fb-mode-on', m === 'visual');
		btnJson.classList.toggle('fb-mode-on', m === 'json');
		btnVisual.setAttribute('aria-pressed', String(m === 'visual'));
		btnJson.setAttribute('aria-pressed', String(m === 'json'));
		tree.hidden = m !== 'visual';
		jsonArea.hidden = m !== 'json';
		if (m === 'json') jsonArea.value = JSON.stringify(toJson(root), null, 2);
		else {
			const p = pending;
			render();
			if (p) showError(p.pointer, p.message);
		}
	}

	// ---- datalists shared by the inputs
	function renderLists() {
		mount(lists,
			h('datalist', { id: `${listId}-events` }, ctx.events.map((e) => h('option', { value: e }))),
			h('datalist', { id: `${listId}-props` }, PROPS.map((p) => h('option', { value: p }))),
			h('datalist', { id: `${listId}-tags` }, ctx.tags.map((x) => h('option', { value: x }))));
	}

	function fieldInfo(key) {
		for (const g of cat) for (const it of g.items) if (it.key === key) return it;
		if (key && key.startsWith('score.')) return { key, type: 'number', label: key };
		if (key && key.startsWith('company.')) return { key, type: 'any', label: key, other: true };
		return { key, type: 'any', label: key || '' };
	}

	// ---- value editors
	function scalarInput(type, info, get, set, testid) {
		if (type === 'boolean') {
			const s = h('select', { class: 'fb-input', 'data-testid': testid, 'aria-label': t('filter_builder.value') },
				h('option', { value: 'true' }, t('filter_builder.yes')), h('option', { value: 'false' }, t('filter_builder.no')));
			s.value = String(get() !== false);
			s.addEventListener('change', () => { set(s.value === 'true'); changed(); });
			return s;
		}
		if (type === 'stage') {
			const cur = get();
			const s = h('select', { class: 'fb-input', 'data-testid': testid, 'aria-label': t('filter_builder.value') },
				ctx.stages.includes(cur) || !cur ? null : h('option', { value: cur }, cur),
				ctx.stages.map((st) => h('option', { value: st }, has(`filter_builder.stage.${st}`) ? t(`filter_builder.stage.${st}`) : st)));
			if (!cur) set(ctx.stages[0]);
			s.value = get();
			s.addEventListener('change', () => { set(s.value); changed(); });
			return s;
		}
		if (info && info.options && info.options.length) {
			const cur = get();
			const s = h('select', { class: 'fb-input', 'data-testid': testid, 'aria-label': t('filter_builder.value') },
				info.options.includes(cur) || cur === '' || cur === null ? null : h('option', { value: cur }, cur),
				info.options.map((o) => h('option', { value: o }, o)));
			if (cur === '' || cur === null || cur === undefined) set(info.options[0]);
			s.value = get();
			s.addEventListener('change', () => { set(s.value); changed(); });
			return s;
		}
		const cur = get();
		const isDay = type === 'date' && (cur === '' || cur === null || /^\d{4}-\d{2}-\d{2}$/.test(String(cur)));
		const inp = h('input', {
			class: 'fb-input', 'data-testid': testid, 'aria-label': t('filter_builder.value'),
			type: type === 'number' ? 'number' : isDay ? 'date' : 'text',
			placeholder: type === 'date' && !isDay ? '2026-11-24T09:00:00+09:00' : t('filter_builder.value_ph'),
			list: info && info.key === 'tags' ? `${listId}-tags` : null,
		});
		inp.value = cur === null || cur === undefined ? '' : String(cur);
		inp.addEventListener('input', () => { set(scalarFor(type, inp.value)); changed(); });
		return inp;
	}

	function chipsInput(type, info, arr, testid) {
		const wrap = h('div', { class: 'fb-chips', 'data-testid': testid });
		const draw = () => {
			const chips = arr.map((v, i) => h('span', { class: 'fb-chip' }, h('span', { text: String(v) }),
				h('button', { type: 'button', class: 'fb-chip-x', 'aria-label': t('filter_builder.remove_value', { value: String(v) }),
					onclick: () => { arr.splice(i, 1); draw(); changed(); } }, icon('x', { size: 'sm' }))));
			let adder;
			if (type === 'stage' || (info && info.options && info.options.length)) {
				const opts = type === 'stage' ? ctx.stages : info.options;
				adder = h('select', { class: 'fb-chip-add', 'aria-label': t('filter_builder.add_value') },
					h('option', { value: '' }, t('filter_builder.add_value')), opts.filter((o) => !arr.includes(o)).map((o) => h('option', { value: o }, o)));
				adder.addEventListener('change', () => { if (adder.value) { arr.push(adder.value); draw(); changed(); } });
			} else {
				adder = h('input', { class: 'fb-chip-add', type: 'text', placeholder: t('filter_builder.add_value_ph'), 'aria-label': t('filter_builder.add_value'),
					list: info && info.key === 'tags' ? `${listId}-tags` : null });
				const commit = () => {
					const parts = adder.value.split(/[,、\n]/).map((s) => s.trim()).filter(Boolean);
					if (!parts.length) return;
					for (const p of parts) arr.push(scalarFor(type, p));
					adder.value = '';
					draw();
					changed();
					wrap.querySelector('.fb-chip-add').focus();
				};
				adder.addEventListener('keydown', (e) => {
					if (e.key === 'Enter' || e.key === ',') { e.preventDefault(); commit(); } else if (e.key === 'Backspace' && !adder.value && arr.length) { arr.pop(); draw(); changed(); wrap.querySelector('.fb-chip-add').focus(); }
				});
				adder.addEventListener('blur', commit);
			}
			mount(wrap, chips, adder);
		};
		draw();
		return wrap;
	}

	/** The value editor of {op, value} for a type; holder is the model object owning .value. */
	function valueEditor(type, info, holder, testid) {
		const shape = valueShape(holder.op);
		if (shape === 'none') return null;
		if (shape === 'days') {
			if (!holder.value || typeof holder.value !== 'object' || Array.isArray(holder.value)) holder.value = { days: 30 };
			const inp = h('input', { class: 'fb-input fb-num', type: 'number', min: 1, max: holder.op === 'anniversary_within' ? 366 : 3650, 'data-testid': testid, 'aria-label': t('filter_builder.days') });
			inp.value = holder.value.days ?? '';
			inp.addEventListener('input', () => { holder.value = { days: inp.value === '' ? null : Number(inp.value) }; changed(); });
			return h('span', { class: 'fb-inline' }, inp, h('span', { class: 'fb-unit', text: t('filter_builder.days_unit') }));
		}
		if (shape === 'pair') {
			if (!Array.isArray(holder.value) || holder.value.length !== 2) holder.value = [null, null];
			const a = scalarInput(type, info, () => holder.value[0], (v) => { holder.value[0] = v; }, `${testid}-low`);
			const b = scalarInput(type, info, () => holder.value[1], (v) => { holder.value[1] = v; }, `${testid}-high`);
			return h('span', { class: 'fb-inline' }, a, h('span', { class: 'fb-unit', text: t('filter_builder.and') }), b);
		}
		if (shape === 'many') {
			if (!Array.isArray(holder.value)) holder.value = holder.value === '' || holder.value == null ? [] : [holder.value];
			return chipsInput(type, info, holder.value, testid);
		}
		if (holder.value !== null && typeof holder.value === 'object') holder.value = defaultValue(type, holder.op);
		return scalarInput(type, info, () => holder.value, (v) => { holder.value = v; }, testid);
	}

	function opLabel(type, op) {
		const k = `filter_builder.op_${type}.${op}`;
		return has(k) ? t(k) : t(`filter_builder.op.${op}`);
	}

	function opSelect(type, holder, onPick, testid) {
		const ops = OPS[type] || OPS.any;
		const s = h('select', { class: 'fb-input fb-op', 'data-testid': testid, 'aria-label': t('filter_builder.operator') },
			ops.includes(holder.op) ? null : h('option', { value: holder.op || '' }, holder.op || '—'),
			ops.map((o) => h('option', { value: o }, opLabel(type, o))));
		s.value = holder.op || '';
		s.addEventListener('change', () => {
			const before = valueShape(holder.op);
			holder.op = s.value;
			if (valueShape(holder.op) !== before) holder.value = defaultValue(type, holder.op);
			onPick();
		});
		return s;
	}

	// ---- rows
	function removeBtn(parent, node) {
		return h('button', { type: 'button', class: 'fb-icon-btn fb-remove', 'aria-label': t('filter_builder.remove'), title: t('filter_builder.remove'), 'data-testid': 'fb-remove',
			onclick: () => { parent.children.splice(parent.children.indexOf(node), 1); render(); changed(); } }, icon('trash', { size: 'sm' }));
	}

	function negBadge(node) {
		if (!node.neg || node.kind === 'group') return null;
		return h('button', { type: 'button', class: 'fb-not', title: t('filter_builder.not_remove'), 'data-testid': 'fb-not',
			onclick: () => { node.neg = false; render(); changed(); } }, t('filter_builder.not'), icon('x', { size: 'sm' }));
	}

	function fieldRow(node, path) {
		const info = fieldInfo(node.field);
		const pick = h('select', { class: 'fb-input fb-field', 'data-testid': 'fb-field', 'aria-label': t('filter_builder.field') },
			cat.map((g) => h('optgroup', { label: g.group }, g.items.map((it) => h('option', { value: it.key }, it.label)))));
		const known = cat.some((g) => g.items.some((it) => it.key === node.field));
		if (!known && !info.other) pick.prepend(h('option', { value: node.field || '' }, node.field || '—'));
		pick.value = info.other ? OTHER_COMPANY : node.field;
		pick.addEventListener('change', () => {
			const next = pick.value === OTHER_COMPANY ? { key: 'company.', type: 'any' } : fieldInfo(pick.value);
			const prevType = fieldInfo(node.field).type;
			node.field = next.key;
			const ops = OPS[next.type] || OPS.any;
			if (!ops.includes(node.op)) node.op = ops[0];
			if (next.type !== prevType || (next.options && next.options.length)) node.value = defaultValue(next.type, node.op);
			render();
			changed();
		});
		let other = null;
		if (info.other) {
			other = h('input', { class: 'fb-input fb-key', type: 'text', placeholder: t('filter_builder.company_key_ph'), 'data-testid': 'fb-company-key', 'aria-label': t('filter_builder.company_key') });
			other.value = node.field.slice('company.'.length);
			other.addEventListener('input', () => { node.field = `company.${other.value.trim()}`; changed(); });
		}
		return h('div', { class: 'fb-row fb-row-field', 'data-testid': 'fb-condition', 'data-kind': 'field', 'data-fb-path': path },
			h('span', { class: 'fb-kind', title: t('filter_builder.kind_field') }, icon('user', { size: 'sm' })),
			negBadge(node), pick, other,
			opSelect(info.type, node, () => { render(); changed(); }, 'fb-op'),
			valueEditor(info.type, info, node, 'fb-value'),
			h('span', { class: 'fb-spacer' }));
	}

	function eventRow(node, path) {
		const name = h('input', { class: 'fb-input fb-event', type: 'text', list: `${listId}-events`, placeholder: 'page_view', 'data-testid': 'fb-event', 'aria-label': t('filter_builder.event') });
		name.value = node.event || '';
		name.addEventListener('input', () => { node.event = name.value.trim(); changed(); });
		const cop = h('select', { class: 'fb-input fb-op', 'data-testid': 'fb-count-op', 'aria-label': t('filter_builder.count') },
			COUNT_OPS.map((o) => h('option', { value: o }, t(`filter_builder.count_op.${o}`))));
		cop.value = node.countOp;
		cop.addEventListener('change', () => {
			node.countOp = cop.value;
			if (node.countOp !== 'never' && (node.count === 0 || node.count === undefined || node.count === null)) node.count = 1;
			render();
			changed();
		});
		let cnt = null;
		if (node.countOp !== 'never') {
			const n = h('input', { class: 'fb-input fb-num', type: 'number', min: 0, 'data-testid': 'fb-count', 'aria-label': t('filter_builder.times') });
			n.value = node.count ?? 1;
			n.addEventListener('input', () => { node.count = n.value === '' ? null : Number(n.value); changed(); });
			cnt = h('span', { class: 'fb-inline' }, n, h('span', { class: 'fb-unit', text: t('filter_builder.times_unit') }));
		}
		const win = h('select', { class: 'fb-input', 'data-testid': 'fb-window', 'aria-label': t('filter_builder.window') },
			h('option', { value: 'ever' }, t('filter_builder.window_ever')), h('option', { value: 'last' }, t('filter_builder.window_last')));
		win.value = node.days === null || node.days === undefined ? 'ever' : 'last';
		win.addEventListener('change', () => { node.days = win.value === 'ever' ? null : 30; render(); changed(); });
		let days = null;
		if (win.value === 'last') {
			const d = h('input', { class: 'fb-input fb-num', type: 'number', min: 1, max: 3650, 'data-testid': 'fb-days', 'aria-label': t('filter_builder.days') });
			d.value = node.days;
			d.addEventListener('input', () => { node.days = d.value === '' ? null : Number(d.value); changed(); });
			days = h('span', { class: 'fb-inline' }, d, h('span', { class: 'fb-unit', text: t('filter_builder.days_unit') }));
		}
		const props = node.where.map((w, i) => {
			const p = h('input', { class: 'fb-input fb-prop', type: 'text', list: `${listId}-props`, placeholder: 'path', 'data-testid': 'fb-prop', 'aria-label': t('filter_builder.prop') });
			p.value = w.prop || '';
			p.addEventListener('input', () => { w.prop = p.value.trim(); changed(); });
			return h('div', { class: 'fb-prop-row', 'data-testid': 'fb-where', 'data-fb-path': `${path}/where/${i}` },
				h('span', { class: 'fb-where-label', text: i === 0 ? t('filter_builder.where') : t('filter_builder.and_where') }),
				p, opSelect('any', w, () => { render(); changed(); }, 'fb-prop-op'), valueEditor('any', null, w, 'fb-prop-value'),
				h('span', { class: 'fb-spacer' }),
				h('button', { type: 'button', class: 'fb-icon-btn', 'aria-label': t('filter_builder.remove'), 'data-testid': 'fb-where-remove',
					onclick: () => { node.where.splice(i, 1); render(); changed(); } }, icon('x', { size: 'sm' })));
		});
		const addProp = h('button', { type: 'button', class: 'fb-link', 'data-testid': 'fb-add-where',
			onclick: () => { node.where.push({ id: nextId++, prop: node.event === 'page_view' ? 'path' : '', op: 'eq', value: '' }); render(); changed(); } },
		icon('plus', { size: 'sm' }), t('filter_builder.add_where'));
		return h('div', { class: 'fb-row fb-row-event', 'data-testid': 'fb-condition', 'data-kind': 'event', 'data-fb-path': path },
			h('div', { class: 'fb-line' },
				h('span', { class: 'fb-kind fb-kind-event', title: t('filter_builder.kind_event') }, icon('activity', { size: 'sm' })),
				negBadge(node), h('span', { class: 'fb-word', text: t('filter_builder.did') }), name, cop, cnt, win, days, h('span', { class: 'fb-spacer' })),
			props.length ? h('div', { class: 'fb-props' }, props) : null,
			h('div', { class: 'fb-props-foot' }, addProp));
	}

	function segmentRow(node, path) {
		const mem = h('select', { class: 'fb-input', 'data-testid': 'fb-member', 'aria-label': t('filter_builder.membership') },
			h('option', { value: 'true' }, t('filter_builder.member_in')), h('option', { value: 'false' }, t('filter_builder.member_out')));
		mem.value = String(node.member);
		mem.addEventListener('change', () => { node.member = mem.value === 'true'; changed(); });
		const seg = h('select', { class: 'fb-input fb-segment', 'data-testid': 'fb-segment', 'aria-label': t('filter_builder.segment') },
			ctx.segments.some((s) => s.id === node.segment) ? null : h('option', { value: String(node.segment ?? '') }, node.segment ? `#${node.segment}` : t('filter_builder.pick_segment')),
			ctx.segments.map((s) => h('option', { value: String(s.id) }, `${s.name}${s.type === 'static' ? ` (${t('filter_builder.list')})` : ''}`)));
		seg.value = String(node.segment ?? '');
		seg.addEventListener('change', () => { node.segment = Number(seg.value) || null; changed(); });
		return h('div', { class: 'fb-row', 'data-testid': 'fb-condition', 'data-kind': 'segment', 'data-fb-path': path },
			h('span', { class: 'fb-kind fb-kind-segment', title: t('filter_builder.kind_segment') }, icon('segments', { size: 'sm' })),
			negBadge(node), h('span', { class: 'fb-word', text: t('filter_builder.contact_is') }), mem, seg, h('span', { class: 'fb-spacer' }));
	}

	function rawRow(node, path) {
		const ta = h('textarea', { class: 'fb-input fb-raw', rows: 3, spellcheck: false, 'data-testid': 'fb-raw', 'aria-label': t('filter_builder.raw') });
		ta.value = JSON.stringify(node.json);
		ta.addEventListener('input', () => {
			try {
				node.json = JSON.parse(ta.value);
				ta.removeAttribute('aria-invalid');
				changed();
			} catch {
				ta.setAttribute('aria-invalid', 'true');
			}
		});
		return h('div', { class: 'fb-row', 'data-testid': 'fb-condition', 'data-kind': 'raw', 'data-fb-path': path },
			h('span', { class: 'fb-kind' }, icon('fields', { size: 'sm' })), negBadge(node), ta);
	}

	function groupEl(node, path, parent, depth) {
		const inner = node.neg ? `${path}/not` : path;
		const match = h('select', { class: 'fb-input fb-match', 'data-testid': 'fb-match', 'aria-label': t('filter_builder.match') },
			['all', 'any', 'none', 'notall'].map((m) => h('option', { value: m }, t(`filter_builder.match_${m}`))));
		match.value = node.neg ? (node.mode === 'any' ? 'none' : 'notall') : node.mode;
		match.addEventListener('change', () => {
			node.mode = match.value === 'all' || match.value === 'notall' ? 'all' : 'any';
			node.neg = match.value === 'none' || match.value === 'notall';
			render();
			changed();
		});
		const joiner = node.mode === 'all' ? t('filter_builder.join_and') : t('filter_builder.join_or');
		const items = [];
		node.children.forEach((c, i) => {
			if (i > 0) items.push(h('div', { class: `fb-join fb-join-${node.mode}`, 'aria-hidden': 'true' }, h('span', { text: joiner })));
			const p = `${inner}/${node.mode}/${i}`;
			const child = c.kind === 'group' ? groupEl(c, p, node, depth + 1)
				: c.kind === 'field' ? fieldRow(c, p) : c.kind === 'event' ? eventRow(c, p) : c.kind === 'segment' ? segmentRow(c, p) : rawRow(c, p);
			if (c.kind !== 'group') child.append(removeBtn(node, c));
			if (c.neg && c.kind !== 'group') paths.set(`${p}/not`, child);
			paths.set(p, child);
			items.push(child);
		});
		const add = (kind) => () => {
			const fresh = kind === 'group' ? { id: nextId++, kind: 'group', mode: node.mode === 'all' ? 'any' : 'all', neg: false, children: [newField()] }
				: kind === 'event' ? fromJson({ event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '' }], count: { op: 'gte', value: 1 }, within_days: 30 })
					: kind === 'segment' ? { id: nextId++, kind: 'segment', neg: false, segment: ctx.segments[0] ? ctx.segments[0].id : null, member: true } : newField();
			node.children.push(fresh);
			render();
			changed();
			const rows = tree.querySelectorAll(`[data-fb-group="${node.id}"] > .fb-body > [data-testid="fb-condition"], [data-fb-group="${node.id}"] > .fb-body > .fb-group`);
			const last = rows[rows.length - 1];
			const focusable = last && last.querySelector('input, select');
			if (focusable) focusable.focus();
		};
		const foot = h('div', { class: 'fb-foot' },
			h('button', { type: 'button', class: 'fb-add', 'data-testid': 'fb-add-field', onclick: add('field') }, icon('plus', { size: 'sm' }), t('filter_builder.add_field')),
			h('button', { type: 'button', class: 'fb-add', 'data-testid': 'fb-add-event', onclick: add('event') }, icon('plus', { size: 'sm' }), t('filter_builder.add_event')),
			h('button', { type: 'button', class: 'fb-add', 'data-testid': 'fb-add-segment', onclick: add('segment') }, icon('plus', { size: 'sm' }), t('filter_builder.add_segment')),
			depth < 31 ? h('button', { type: 'button', class: 'fb-add fb-add-group', 'data-testid': 'fb-add-group', onclick: add('group') }, icon('plus', { size: 'sm' }), t('filter_builder.add_group')) : null);
		const head = h('div', { class: 'fb-head' }, match, h('span', { class: 'fb-word', text: t('filter_builder.of_these') }), h('span', { class: 'fb-spacer' }),
			parent ? h('button', { type: 'button', class: 'fb-icon-btn fb-remove', 'aria-label': t('filter_builder.remove_group'), title: t('filter_builder.remove_group'), 'data-testid': 'fb-remove-group',
				onclick: () => { parent.children.splice(parent.children.indexOf(node), 1); render(); changed(); } }, icon('trash', { size: 'sm' })) : null);
		const body = h('div', { class: 'fb-body' }, items.length ? items : h('div', { class: 'fb-empty', 'data-testid': 'fb-empty', text: t('filter_builder.empty') }));
		const g = h('div', { class: `fb-group fb-depth-${depth % 4}${node.neg ? ' fb-neg' : ''}`, 'data-testid': 'fb-group', 'data-fb-group': node.id, 'data-fb-path': path }, head, body, foot);
		paths.set(path, g);
		if (node.neg) paths.set(inner, g);
		return g;
	}

	function newField() {
		return { id: nextId++, kind: 'field', neg: false, field: 'email', op: 'contains', value: '' };
	}

	function render() {
		paths.clear();
		mount(tree, groupEl(root, '', null, 0));
	}

	let errorEl = null;
	let pending = null; // the last error, shown again when the visual view comes back
	function clearError() {
		pending = null;
		if (!errorEl) return;
		for (const x of el.querySelectorAll('.fb-invalid')) x.classList.remove('fb-invalid');
		errorEl.remove();
		errorEl = null;
	}

	/** Mark the node a server error points at (err.field without the "/filter" prefix). */
	function showError(pointer, message) {
		clearError();
		if (pointer === undefined || pointer === null) return;
		pending = { pointer, message };
		if (mode !== 'visual') return;
		let p = String(pointer);
		while (p && !paths.has(p)) p = p.slice(0, Math.max(0, p.lastIndexOf('/')));
		const target = paths.get(p) || paths.get('');
		if (!target) return;
		target.classList.add('fb-invalid');
		errorEl = h('div', { class: 'fb-error', role: 'alert', 'data-testid': 'fb-error' }, icon('alertCircle', { size: 'sm' }), h('span', { text: message }));
		if (target.classList.contains('fb-group')) target.querySelector('.fb-head').after(errorEl);
		else target.append(errorEl);
	}

	render();
	renderLists();
	loadContext(!fields).then((c) => {
		ctx = c;
		cat = catalogue(ctx, fields);
		renderLists();
		if (mode === 'visual') render();
	});

	return {
		el,
		get value() {
			if (mode === 'json' && jsonMsg.hidden) {
				try {
					return JSON.parse(jsonArea.value);
				} catch {
					/* fall through to the model */
				}
			}
			return toJson(root);
		},
		set value(v) {
			root = rootModel(v);
			if (mode === 'json') jsonArea.value = JSON.stringify(toJson(root), null, 2);
			else render();
		},
		/** true while the builder holds no condition (an empty top group). */
		get empty() {
			return root.children.length === 0 && !root.neg;
		},
		showError,
	};
}
