// personalize.js — web personalization: content slots (any data-kz-slot element on a page with kz.js)
// and pop-ups (modal, slide-in, bar with a trigger and a frequency cap); each has variants with
// targeting rules (new or returning visitor, visits, known, segment or list, stage, score, UTM) and
// a default; impressions, clicks and the click rate per variant.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtNumber } from '../i18n.js';
import { can } from '../state.js';
import { openDialog, field, formError, showFieldError, clearFieldErrors, secretBox, skeletonBlock, emptyState, pageHead, toast } from '../ui.js';

const pct = (x) => (x == null ? '—' : `${(x * 100).toFixed(1)}%`);

export default async function render(ctx) {
	const writable = can('manage_fields');
	const createBtn = writable ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'create-slot', onclick: () => edit(null) }, icon('plus'), t('pz.create')) : null;
	const list = h('div', { class: 'stack', 'data-testid': 'slots-list' }, h('div', { class: 'card' }, h('div', { class: 'card-body' }, skeletonBlock(4))));
	mount(ctx.root, pageHead({ title: t('pz.title'), desc: t('pz.desc'), actions: createBtn ? [createBtn] : [], testid: 'slots-head' }), list);
	const [forms, segments, stages] = await Promise.all([
		api.get('/forms', null, { signal: ctx.signal, quiet: true }).then((r) => r.data).catch(() => []),
		api.get('/segments', null, { signal: ctx.signal, quiet: true }).then((r) => r.data).catch(() => []),
		api.get('/stages', null, { signal: ctx.signal, quiet: true }).then((r) => r.stages || []).catch(() => []),
	]);
	if (!ctx.alive) return;

	function ruleText(rule) {
		if (!rule || !Object.keys(rule).length) return t('pz.rule_everyone');
		const parts = [];
		if (rule.visitor) parts.push(t(`pz.rule_${rule.visitor}`));
		if (rule.known === true) parts.push(t('pz.rule_known'));
		if (rule.known === false) parts.push(t('pz.rule_unknown'));
		if (rule.min_visits) parts.push(t('pz.rule_min_visits', { n: rule.min_visits }));
		if (rule.segment_id) parts.push(t('pz.rule_segment', { name: segments.find((s) => s.id === rule.segment_id)?.name ?? `#${rule.segment_id}` }));
		if (rule.stage) parts.push(t('pz.rule_stage', { stage: [].concat(rule.stage).join(' / ') }));
		if (rule.min_score != null) parts.push(t('pz.rule_min_score', { n: rule.min_score }));
		if (rule.utm_source) parts.push(`utm_source = ${rule.utm_source}`);
		if (rule.utm_campaign) parts.push(`utm_campaign = ${rule.utm_campaign}`);
		return parts.join(' · ');
	}

	function card(s) {
		const popup = s.kind === 'popup';
		const row = (key, label, rule) => {
			const st = s.stats?.[key] || {};
			return h('tr', { 'data-testid': 'slot-variant', 'data-key': key },
				h('td', null, h('strong', { text: label }), h('div', { class: 'small muted', text: rule })),
				h('td', { class: 'num', 'data-testid': 'slot-impressions', text: fmtNumber(st.impressions || 0) }),
				h('td', { class: 'num', text: fmtNumber(st.clicks || 0) }),
				h('td', { class: 'num', text: pct(st.click_rate) }));
		};
		const snippet = `<div data-kz-slot="${s.name}">…</div>`;
		return h('section', { class: 'card', 'data-testid': 'slot-card', 'data-name': s.name },
			h('div', { class: 'card-header' },
				h('h2', null, h('span', { class: 'mono', text: s.name })),
				h('div', { class: 'chips' },
					h('span', { class: `badge ${popup ? 'badge-primary' : ''}`, text: popup ? t(`pz.style_${s.popup.style}`) : t('pz.kind_inline') }),
					h('span', { class: `badge ${s.active ? 'badge-success' : ''}`, text: t(s.active ? 'pz.active' : 'pz.paused') }),
					writable ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'slot-toggle', onclick: () => toggle(s) }, t(s.active ? 'pz.pause' : 'pz.resume')) : null,
					writable ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'slot-edit', onclick: () => edit(s) }, icon('edit', { size: 'sm' }), t('common.edit')) : null)),
			h('div', { class: 'card-body stack' },
				s.description ? h('p', { class: 'muted', text: s.description }) : null,
				popup ? h('p', { class: 'small muted', text: t('pz.popup_summary', { trigger: triggerText(s.popup.trigger), max: s.popup.frequency.max, days: s.popup.frequency.days ? t('pz.per_days', { n: s.popup.frequency.days }) : t('pz.ever') }) })
					: h('div', { class: 'field' }, h('span', { class: 'label', text: t('pz.snippet') }), h('p', { class: 'hint', text: t('pz.snippet_hint') }), h('div', { class: 'snippet' }, secretBox(snippet, 'slot-snippet'))),
				h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
					h('thead', null, h('tr', null, h('th', { text: t('pz.variant') }), h('th', { class: 'num', text: t('pz.impressions') }), h('th', { class: 'num', text: t('pz.clicks') }), h('th', { class: 'num', text: t('pz.ctr') }))),
					h('tbody', null,
						s.variants.map((v) => row(v.key, v.label || v.key, ruleText(v.rule))),
						row('default', t('pz.default'), t('pz.default_hint')))))));
	}

	function triggerText(tr) {
		if (tr.type === 'time') return t('pz.trigger_time_n', { n: tr.seconds });
		if (tr.type === 'scroll') return t('pz.trigger_scroll_n', { n: tr.percent });
		return t(`pz.trigger_${tr.type}`);
	}

	async function toggle(s) {
		await api.patch(`/slots/${s.id}`, { active: !s.active });
		await load();
	}

	async function load() {
		const r = await api.get('/slots', null, { signal: ctx.signal });
		if (!ctx.alive) return;
		if (!r.data.length) {
			mount(list, h('div', { class: 'card' }, emptyState({ iconName: 'sparkles', title: t('pz.empty_title'), text: t('pz.empty_text'), testid: 'slots-empty',
				actions: createBtn ? [h('button', { type: 'button', class: 'btn btn-primary', onclick: () => edit(null) }, icon('plus'), t('pz.create'))] : [] })));
			return;
		}
		mount(list, r.data.map(card));
	}

	/** Content editor: HTML, or a form (its embed). */
	function contentEditor(c, testid) {
		const useForm = h('select', { class: 'select', 'data-testid': `${testid}-source` },
			h('option', { value: 'html', selected: c.form_id == null, text: t('pz.content_html') }),
			h('option', { value: 'form', selected: c.form_id != null, text: t('pz.content_form') }));
		const html = h('textarea', { class: 'textarea mono', rows: 3, 'data-testid': `${testid}-html` });
		html.value = c.html ?? '';
		const form = h('select', { class: 'select', 'data-testid': `${testid}-form` }, forms.map((f) => h('option', { value: f.id, selected: f.id === c.form_id, text: f.name })));
		const sync = () => { html.hidden = useForm.value !== 'html'; form.hidden = useForm.value !== 'form'; };
		useForm.addEventListener('change', sync);
		sync();
		return {
			el: h('div', { class: 'stack-sm' }, useForm, html, form),
			value: () => (useForm.value === 'form' && form.value ? { form_id: Number(form.value) } : { html: html.value }),
		};
	}

	function ruleEditor(rule = {}) {
		const sel = (opts, v, testid) => h('select', { class: 'select', 'data-testid': testid }, opts.map(([val, label]) => h('option', { value: val, selected: String(v ?? '') === val, text: label })));
		const visitor = sel([['', t('pz.any')], ['new', t('pz.rule_new')], ['returning', t('pz.rule_returning')]], rule.visitor, 'rule-visitor');
		const known = sel([['', t('pz.any')], ['true', t('pz.rule_known')], ['false', t('pz.rule_unknown')]], rule.known, 'rule-known');
		const segment = sel([['', t('pz.any')], ...segments.map((s) => [String(s.id), s.name])], rule.segment_id, 'rule-segment');
		const stage = sel([['', t('pz.any')], ...stages.map((s) => [s, s])], [].concat(rule.stage ?? [])[0], 'rule-stage');
		const num = (v, testid) => h('input', { class: 'input', type: 'number', value: v ?? '', 'data-testid': testid });
		const minVisits = num(rule.min_visits, 'rule-min-visits');
		const minScore = num(rule.min_score, 'rule-min-score');
		const txt = (v, testid) => h('input', { class: 'input', value: v ?? '', 'data-testid': testid });
		const src = txt(rule.utm_source, 'rule-utm-source');
		const camp = txt(rule.utm_campaign, 'rule-utm-campaign');
		return {
			el: h('div', { class: 'pz-rule' },
				field({ label: t('pz.r_visitor'), control: visitor }), field({ label: t('pz.r_known'), control: known }),
				field({ label: t('pz.r_segment'), control: segment }), field({ label: t('pz.r_stage'), control: stage }),
				field({ label: t('pz.r_min_visits'), control: minVisits }), field({ label: t('pz.r_min_score'), control: minScore }),
				field({ label: 'utm_source', control: src }), field({ label: 'utm_campaign', control: camp })),
			value: () => {
				const r = {};
				if (visitor.value) r.visitor = visitor.value;
				if (known.value) r.known = known.value === 'true';
				if (segment.value) r.segment_id = Number(segment.value);
				if (stage.value) r.stage = stage.value;
				if (minVisits.value) r.min_visits = Number(minVisits.value);
				if (minScore.value !== '') r.min_score = Number(minScore.value);
				if (src.value.trim()) r.utm_source = src.value.trim();
				if (camp.value.trim()) r.utm_campaign = camp.value.trim();
				return r;
			},
		};
	}

	function edit(s) {
		const name = h('input', { class: 'input mono', name: 'name', value: s?.name ?? '', placeholder: 'hero', 'data-testid': 'slot-name' });
		const kind = h('select', { class: 'select', name: 'kind', 'data-testid': 'slot-kind' },
			['inline', 'popup'].map((k) => h('option', { value: k, selected: (s?.kind ?? 'inline') === k, text: t(`pz.kind_${k}`) })));
		const desc = h('input', { class: 'input', name: 'description', value: s?.description ?? '' });
		const dflt = contentEditor(s?.default ?? { html: '' }, 'slot-default');
		const rows = [];
		const box = h('div', { class: 'stack-sm', 'data-testid': 'slot-variants' });
		const redraw = () => mount(box, rows.length ? rows.map((r) => r.el) : h('p', { class: 'muted small', text: t('pz.no_variants') }));
		const variantRow = (v) => {
			const key = h('input', { class: 'input mono input-sm', value: v.key, 'aria-label': t('pz.key'), 'data-testid': 'variant-key', style: { width: '8em' } });
			const label = h('input', { class: 'input input-sm', value: v.label ?? '', placeholder: t('pz.label'), 'aria-label': t('pz.label') });
			const content = contentEditor(v, 'variant');
			const rule = ruleEditor(v.rule);
			const row = {};
			const move = (d) => { const i = rows.indexOf(row); const j = i + d; if (j < 0 || j >= rows.length) return; rows.splice(i, 1); rows.splice(j, 0, row); redraw(); };
			row.el = h('div', { class: 'pz-variant', 'data-testid': 'variant-editor' },
				h('div', { class: 'pz-variant-head' }, key, label, h('span', { class: 'grow' }),
					h('button', { type: 'button', class: 'btn btn-ghost btn-sm btn-icon', 'aria-label': t('lp.move_up'), onclick: () => move(-1) }, '↑'),
					h('button', { type: 'button', class: 'btn btn-ghost btn-sm btn-icon', 'aria-label': t('lp.move_down'), onclick: () => move(1) }, '↓'),
					h('button', { type: 'button', class: 'btn btn-ghost btn-sm btn-icon', 'aria-label': t('pz.remove_variant'), onclick: () => { rows.splice(rows.indexOf(row), 1); redraw(); } }, icon('trash', { size: 'sm' }))),
				h('span', { class: 'label', text: t('pz.shown_when') }), rule.el,
				h('span', { class: 'label', text: t('pz.content') }), content.el);
			row.value = () => ({ key: key.value.trim(), ...(label.value.trim() ? { label: label.value.trim() } : {}), rule: rule.value(), ...content.value() });
			return row;
		};
		for (const v of s?.variants ?? []) rows.push(variantRow(v));
		redraw();
		const p = s?.popup ?? { style: 'modal', trigger: { type: 'time', seconds: 5 }, frequency: { max: 1, days: 0 } };
		const style = h('select', { class: 'select', 'data-testid': 'popup-style' }, ['modal', 'slide_in', 'bar'].map((x) => h('option', { value: x, selected: p.style === x, text: t(`pz.style_${x}`) })));
		const trig = h('select', { class: 'select', 'data-testid': 'popup-trigger' }, ['load', 'time', 'scroll', 'exit'].map((x) => h('option', { value: x, selected: p.trigger.type === x, text: t(`pz.trigger_${x}`) })));
		const trigVal = h('input', { class: 'input', type: 'number', min: 0, value: p.trigger.seconds ?? p.trigger.percent ?? '', 'data-testid': 'popup-trigger-value' });
		const maxN = h('input', { class: 'input', type: 'number', min: 1, value: p.frequency.max, 'data-testid': 'popup-max' });
		const days = h('input', { class: 'input', type: 'number', min: 0, value: p.frequency.days, 'data-testid': 'popup-days' });
		const popupBox = h('div', { class: 'form-grid', 'data-testid': 'popup-settings' },
			field({ label: t('pz.style'), control: style }), field({ label: t('pz.trigger'), control: trig }),
			field({ label: t('pz.trigger_value'), control: trigVal, hint: t('pz.trigger_value_hint') }),
			field({ label: t('pz.cap_max'), control: maxN }), field({ label: t('pz.cap_days'), control: days, hint: t('pz.cap_days_hint') }));
		const syncKind = () => { popupBox.hidden = kind.value !== 'popup'; };
		kind.addEventListener('change', syncKind);
		syncKind();
		const err = formError();
		const { el } = openDialog({
			title: s ? t('pz.edit_title', { name: s.name }) : t('pz.create_title'), testid: 'slot-dialog', wide: true, form: true,
			body: [err,
				h('div', { class: 'form-grid' }, field({ label: t('pz.name'), control: name, required: true, hint: t('pz.name_hint') }), field({ label: t('pz.kind'), control: kind })),
				field({ label: t('pz.description'), control: desc }),
				popupBox,
				h('div', { class: 'label', text: t('pz.variants') }), h('p', { class: 'hint', text: t('pz.variants_hint') }), box,
				h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'variant-add', onclick: () => { rows.push(variantRow({ key: `v${rows.length + 1}`, html: '', rule: { visitor: 'returning' } })); redraw(); } }, icon('plus', { size: 'sm' }), t('pz.add_variant')),
				field({ label: t('pz.default'), control: dflt.el, hint: t('pz.default_hint') })],
			actions: (close) => [h('button', { type: 'button', class: 'btn', onclick: () => close() }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'slot-save' }, s ? t('common.save_changes') : t('pz.create'))],
			onSubmit: async (close) => {
				const f = el.querySelector('form');
				clearFieldErrors(f);
				mount(err);
				const body = { name: name.value.trim(), kind: kind.value, description: desc.value.trim() || null, default: dflt.value(), variants: rows.map((r) => r.value()) };
				if (!body.description) delete body.description;
				if (kind.value === 'popup') {
					const tr = { type: trig.value };
					if (trig.value === 'time') tr.seconds = Number(trigVal.value || 0);
					if (trig.value === 'scroll') tr.percent = Number(trigVal.value || 50);
					body.popup = { style: style.value, trigger: tr, frequency: { max: Number(maxN.value || 1), days: Number(days.value || 0) } };
				} else if (s?.kind === 'popup') {
					body.popup = null;
				}
				try {
					const out = s ? await api.patch(`/slots/${s.id}`, body, { quiet: true }) : await api.post('/slots', body, { quiet: true });
					close();
					toast(t('pz.saved', { name: out.name }));
					await load();
				} catch (e) {
					showFieldError(f, e);
					if (!f.querySelector('[aria-invalid="true"]')) mount(err, `${e.message}${e.field ? ` (${e.field})` : ''}`);
				}
			},
		});
	}

	await load();
}
