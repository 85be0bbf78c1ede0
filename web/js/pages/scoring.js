// scoring.js — lead scoring: the rules (behaviour: event → points with limits; profile: a filter → points), decay, company score, thresholds, and recompute with progress.
import { api, errorMessage } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtNumber, fmtDateTime } from '../i18n.js';
import { pageHead, skeletonRows, emptyState, toast, openDialog, confirmDialog } from '../ui.js';
import { can } from '../state.js';
import { filterBuilder, describeFilter } from '../filter-builder.js';

const PROP_OPS = ['eq', 'neq', 'contains', 'not_contains', 'starts_with', 'ends_with', 'gt', 'gte', 'lt', 'lte', 'exists', 'not_exists'];
const EVENTS = ['page_view', 'form_submitted', 'email_opened', 'email_clicked', 'purchase', 'asset_downloaded'];

/** The tabs shared by the scoring and stages pages. */
export function audienceTabs(active) {
	const tabs = [{ id: 'rules', href: '/scoring', icon: 'sparkles' }, { id: 'stages', href: '/scoring/stages', icon: 'activity' }];
	return h('nav', { class: 'tabs', 'aria-label': t('scoring.sections') },
		tabs.map((x) => h('a', { href: x.href, 'aria-current': x.id === active ? 'page' : null, 'data-testid': `scoring-tab-${x.id}` }, icon(x.icon, { size: 'sm' }), t(`scoring.tab_${x.id}`))));
}

function points(n) {
	return h('span', { class: `aud-points ${n < 0 ? 'aud-points-neg' : ''}`, text: `${n > 0 ? '+' : ''}${fmtNumber(n)}` });
}

function propValue(s) {
	if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
	if (s === 'true' || s === 'false') return s === 'true';
	return s;
}

/** One line that says what a rule reacts to. */
function ruleSummary(r) {
	if (r.kind === 'profile') return h('span', { title: JSON.stringify(r.filter) }, h('span', { class: 'muted', text: `${t('scoring.when_profile')} ` }), describeFilter(r.filter));
	const where = (r.where || []).map((w) => `${w.prop} ${t(`filter_builder.op.${w.op}`)}${w.value === undefined ? '' : ` ${w.value}`}`).join(', ');
	return h('span', null, h('code', { class: 'aud-code', text: r.event }), where ? h('span', { class: 'muted', text: ` · ${where}` }) : null);
}

function limitText(l) {
	if (!l) return t('scoring.limit_none');
	return t(`scoring.limit_${l.per}`, { n: fmtNumber(l.times) });
}

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.scoring') }]);
	const editable = can('manage_segments');
	const tbody = h('tbody', { 'data-testid': 'rule-rows' }, skeletonRows(6, 3));
	const settingsBody = h('div', { class: 'card-body', 'data-testid': 'scoring-settings' });
	const progress = h('div', { class: 'aud-progress', 'data-testid': 'recompute-status', 'aria-live': 'polite' });
	let rules = [];

	const newBtn = editable ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'rule-new', onclick: () => editRule(null) }, icon('plus'), t('scoring.new_rule')) : null;
	const recomputeBtn = editable ? h('button', { type: 'button', class: 'btn', 'data-testid': 'recompute', onclick: recompute }, icon('refresh'), t('scoring.recompute')) : null;

	mount(ctx.root,
		pageHead({ title: t('scoring.title'), desc: t('scoring.desc'), actions: [recomputeBtn, newBtn].filter(Boolean), testid: 'scoring-title' }),
		audienceTabs('rules'),
		progress,
		h('section', { class: 'card', 'aria-labelledby': 'rules-h' },
			h('div', { class: 'card-header' }, h('h2', { id: 'rules-h', text: t('scoring.rules') })),
			h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'rules-table' },
				h('thead', null, h('tr', null,
					h('th', { scope: 'col' }, t('scoring.name')), h('th', { scope: 'col' }, t('scoring.kind')), h('th', { scope: 'col' }, t('scoring.condition')),
					h('th', { scope: 'col', class: 'num' }, t('scoring.points')), h('th', { scope: 'col' }, t('scoring.category')), h('th', { scope: 'col' }, t('scoring.limit')), h('th', { scope: 'col' }, ''))),
				tbody))),
		h('section', { class: 'card aud-settings', 'aria-labelledby': 'ss-h' },
			h('div', { class: 'card-header' }, h('h2', { id: 'ss-h', text: t('scoring.settings') })), settingsBody));

	async function loadRules() {
		rules = (await api.get('/scoring/rules')).data;
		if (!rules.length) {
			mount(tbody, h('tr', null, h('td', { colspan: 7 }, emptyState({ iconName: 'sparkles', title: t('scoring.empty_title'), text: t('scoring.empty_text'), testid: 'rules-empty',
				actions: newBtn ? [h('button', { type: 'button', class: 'btn btn-primary', onclick: () => editRule(null) }, icon('plus'), t('scoring.new_rule'))] : [] }))));
			return;
		}
		mount(tbody, rules.map((r) => h('tr', { 'data-testid': 'rule-row', 'data-id': r.id },
			h('td', null, h('span', { class: 'name', text: r.name })),
			h('td', null, h('span', { class: `badge ${r.kind === 'profile' ? 'badge-success' : 'badge-primary'}`, text: t(`scoring.kind_${r.kind}`) })),
			h('td', { class: 'aud-summary' }, ruleSummary(r)),
			h('td', { class: 'num', 'data-testid': 'rule-points' }, points(r.points)),
			h('td', null, h('span', { class: 'badge', text: r.category })),
			h('td', { class: 'muted' }, r.kind === 'profile' ? '—' : limitText(r.limit)),
			h('td', { class: 'actions' }, editable ? [
				h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'rule-edit', onclick: () => editRule(r) }, icon('edit', { size: 'sm' }), t('scoring.edit')),
				h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('scoring.delete'), 'data-testid': 'rule-delete', onclick: () => removeRule(r) }, icon('trash', { size: 'sm' }))] : null))));
	}

	async function removeRule(r) {
		const ok = await confirmDialog({ title: t('scoring.delete_title'), message: t('scoring.delete_text', { name: r.name }), confirmLabel: t('scoring.delete') });
		if (!ok) return;
		await api.del(`/scoring/rules/${r.id}`);
		toast(t('scoring.deleted', { name: r.name }));
		await loadRules();
	}

	function editRule(rule) {
		const r = rule || { name: '', kind: 'behaviour', event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/pricing' }], points: 5, category: 'engagement', limit: null };
		let kind = r.kind;
		const name = h('input', { class: 'input', name: 'name', 'data-testid': 'rule-name', maxlength: 200, required: true, value: r.name, autofocus: true });
		const kindSel = h('div', { class: 'aud-seg', role: 'radiogroup', 'aria-label': t('scoring.kind') });
		const behaviour = h('div', { class: 'aud-stack' });
		const profile = h('div', { class: 'aud-stack' });
		// behaviour: event + property conditions + limit
		const event = h('input', { class: 'input mono', name: 'event', list: 'aud-events', 'data-testid': 'rule-event', value: r.event || 'page_view' });
		const where = (r.where || []).map((w) => ({ ...w }));
		const whereBox = h('div', { class: 'aud-where', 'data-testid': 'rule-where' });
		const drawWhere = () => mount(whereBox, where.map((w, i) => {
			const p = h('input', { class: 'input mono', 'aria-label': t('filter_builder.prop'), 'data-testid': 'rule-prop', value: w.prop || '', list: 'aud-props', oninput: (e) => { w.prop = e.target.value.trim(); } });
			const o = h('select', { class: 'select', 'aria-label': t('filter_builder.operator'), 'data-testid': 'rule-prop-op', onchange: (e) => { w.op = e.target.value; drawWhere(); } },
				PROP_OPS.map((x) => h('option', { value: x, selected: x === w.op }, t(`filter_builder.op.${x}`))));
			const v = ['exists', 'not_exists'].includes(w.op) ? null
				: h('input', { class: 'input', 'aria-label': t('filter_builder.value'), 'data-testid': 'rule-prop-value', value: w.value ?? '', oninput: (e) => { w.value = propValue(e.target.value); } });
			return h('div', { class: 'aud-where-row' }, p, o, v, h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('filter_builder.remove'), onclick: () => { where.splice(i, 1); drawWhere(); } }, icon('x', { size: 'sm' })));
		}), h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'rule-add-where', onclick: () => { where.push({ prop: '', op: 'eq', value: '' }); drawWhere(); } }, icon('plus', { size: 'sm' }), t('filter_builder.add_where')));
		drawWhere();
		const limitOn = h('select', { class: 'select', name: 'limit', 'data-testid': 'rule-limit', 'aria-label': t('scoring.limit') },
			['none', 'day', 'week', 'ever'].map((x) => h('option', { value: x, selected: (r.limit ? r.limit.per : 'none') === x }, t(`scoring.per_${x}`))));
		const times = h('input', { class: 'input', type: 'number', min: 1, name: 'times', 'data-testid': 'rule-times', value: r.limit ? r.limit.times : 1, 'aria-label': t('scoring.times') });
		const timesWrap = h('span', { class: 'aud-inline' }, times, h('span', { class: 'muted', text: t('scoring.times_unit') }));
		const syncLimit = () => { timesWrap.hidden = limitOn.value === 'none'; };
		limitOn.addEventListener('change', syncLimit);
		syncLimit();
		mount(behaviour,
			h('div', { class: 'field' }, h('label', null, t('scoring.event')), event, h('div', { class: 'hint', text: t('scoring.event_hint') })),
			h('div', { class: 'field' }, h('span', { class: 'label', text: t('scoring.where') }), whereBox),
			h('div', { class: 'field' }, h('span', { class: 'label', text: t('scoring.limit') }), h('div', { class: 'aud-inline' }, limitOn, timesWrap)),
			h('datalist', { id: 'aud-events' }, EVENTS.map((e) => h('option', { value: e }))),
			h('datalist', { id: 'aud-props' }, ['path', 'url', 'title', 'referrer', 'form_id', 'email_id', 'asset', 'amount'].map((e) => h('option', { value: e }))));
		// profile: a filter
		const fb = filterBuilder({ value: r.filter || { all: [{ field: 'fields.title', op: 'contains', value: '部長' }] } });
		mount(profile, h('div', { class: 'field' }, h('span', { class: 'label', text: t('scoring.filter') }), fb.el, h('div', { class: 'hint', text: t('scoring.filter_hint') })));
		const drawKind = () => {
			mount(kindSel, ['behaviour', 'profile'].map((k) => h('button', { type: 'button', role: 'radio', 'aria-checked': String(k === kind), class: `aud-seg-btn ${k === kind ? 'on' : ''}`, 'data-testid': `rule-kind-${k}`,
				onclick: () => { kind = k; drawKind(); } }, h('strong', { text: t(`scoring.kind_${k}`) }), h('span', { text: t(`scoring.kind_${k}_hint`) }))));
			behaviour.hidden = kind !== 'behaviour';
			profile.hidden = kind !== 'profile';
			if (kind === 'profile' && category.value === 'engagement' && !rule) category.value = 'fit';
			if (kind === 'behaviour' && category.value === 'fit' && !rule) category.value = 'engagement';
		};
		const pts = h('input', { class: 'input', type: 'number', step: 1, name: 'points', 'data-testid': 'rule-points-input', value: r.points });
		const category = h('input', { class: 'input', name: 'category', list: 'aud-cats', 'data-testid': 'rule-category', value: r.category || 'engagement', maxlength: 64 });
		const cats = [...new Set(['engagement', 'fit', ...rules.map((x) => x.category)])];
		drawKind();
		const err = h('div', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'rule-error' });
		openDialog({
			title: rule ? t('scoring.edit_rule', { name: rule.name }) : t('scoring.new_rule'), testid: 'rule-dialog', wide: true, form: true, icon: 'sparkles',
			body: [
				h('div', { class: 'field' }, h('label', null, t('scoring.name')), name),
				h('div', { class: 'field' }, h('span', { class: 'label', text: t('scoring.kind') }), kindSel),
				behaviour, profile,
				h('div', { class: 'aud-two' },
					h('div', { class: 'field' }, h('label', null, t('scoring.points')), pts, h('div', { class: 'hint', text: t('scoring.points_hint') })),
					h('div', { class: 'field' }, h('label', null, t('scoring.category')), category, h('datalist', { id: 'aud-cats' }, cats.map((c) => h('option', { value: c }))), h('div', { class: 'hint', text: t('scoring.category_hint') }))),
				err],
			actions: (close) => [
				h('button', { type: 'button', class: 'btn', onclick: () => close(null) }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'rule-save' }, icon('check'), t('scoring.save'))],
			onSubmit: async (close) => {
				const body = { name: name.value.trim(), points: pts.value === '' ? null : Number(pts.value), category: category.value.trim() };
				if (kind === 'profile') body.filter = fb.value;
				else {
					body.event = event.value.trim();
					body.where = where.filter((w) => w.prop).map((w) => (['exists', 'not_exists'].includes(w.op) ? { prop: w.prop, op: w.op } : w));
					body.limit = limitOn.value === 'none' ? null : { times: Number(times.value), per: limitOn.value };
				}
				try {
					if (rule) await api.patch(`/scoring/rules/${rule.id}`, body, { quiet: true });
					else await api.post('/scoring/rules', body, { quiet: true });
					close(true);
					toast({ title: t(rule ? 'scoring.saved' : 'scoring.created', { name: body.name }), detail: t('scoring.recompute_hint') });
					await loadRules();
				} catch (e) {
					err.replaceChildren(icon('alertCircle'), h('span', { text: `${errorMessage(e)}${e.field ? ` (${e.field})` : ''}` }));
					err.hidden = false;
					if (e.field && e.field.startsWith('filter')) fb.showError(e.field.slice('filter'.length), errorMessage(e));
				}
			},
		});
	}

	function showStatus(s) {
		if (!s || s.status === 'idle') return mount(progress);
		const pct = s.total ? Math.round((100 * s.processed) / s.total) : 100;
		mount(progress, h('div', { class: `aud-progress-box ${s.status === 'done' ? 'done' : ''}` },
			icon(s.status === 'done' ? 'checkCircle' : 'refresh', { size: 'sm' }),
			h('span', { text: s.status === 'done' ? t('scoring.recompute_done', { n: fmtNumber(s.processed), at: fmtDateTime(s.finished_at) }) : t('scoring.recompute_running', { n: fmtNumber(s.processed), total: fmtNumber(s.total) }) }),
			h('div', { class: 'aud-bar', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('span', { style: { width: `${pct}%` } }))));
	}

	async function recompute() {
		recomputeBtn.disabled = true;
		let polling = true;
		const poll = async () => {
			while (polling) {
				try {
					const s = await api.get('/scoring/recompute', undefined, { quiet: true });
					if (polling) showStatus(s); /* a poll answered after the run's own answer is older */
				} catch { /* the next poll tries again */ }
				await new Promise((r) => setTimeout(r, 500));
			}
		};
		poll();
		try {
			const done = await api.post('/scoring/recompute', {});
			polling = false;
			showStatus(done);
		} catch {
			/* toasted */
		} finally {
			polling = false;
			recomputeBtn.disabled = false;
		}
	}

	async function loadSettings() {
		const s = await api.get('/scoring/settings');
		const decayOn = h('input', { type: 'checkbox', 'data-testid': 'decay-on', checked: !!s.decay });
		const pct = h('input', { class: 'input aud-num', type: 'number', min: 1, max: 100, 'data-testid': 'decay-percent', value: s.decay ? s.decay.percent : 25, 'aria-label': t('scoring.decay_percent') });
		const days = h('input', { class: 'input aud-num', type: 'number', min: 1, 'data-testid': 'decay-days', value: s.decay ? s.decay.days : 30, 'aria-label': t('scoring.decay_days') });
		const company = h('select', { class: 'select', 'data-testid': 'company-mode' }, ['sum', 'max'].map((m) => h('option', { value: m, selected: s.company === m }, t(`scoring.company_${m}`))));
		const thresholds = h('input', { class: 'input', 'data-testid': 'thresholds', value: (s.thresholds || []).join(', '), placeholder: '50, 100' });
		const sync = () => { pct.disabled = !decayOn.checked; days.disabled = !decayOn.checked; };
		decayOn.addEventListener('change', sync);
		sync();
		const save = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'scoring-settings-save', disabled: !editable }, icon('check'), t('scoring.save_settings'));
		save.addEventListener('click', async () => {
			const body = {
				decay: decayOn.checked ? { percent: Number(pct.value), days: Number(days.value) } : null,
				company: company.value,
				thresholds: thresholds.value.split(/[,、\s]+/).filter(Boolean).map(Number),
			};
			try {
				await api.put('/scoring/settings', body);
				toast(t('scoring.settings_saved'));
			} catch {
				/* toasted */
			}
		});
		mount(settingsBody, h('div', { class: 'aud-settings-grid' },
			h('div', { class: 'field' }, h('span', { class: 'label', text: t('scoring.decay') }),
				h('label', { class: 'aud-inline' }, decayOn, h('span', { text: t('scoring.decay_on') })),
				h('div', { class: 'aud-inline' }, h('span', { text: t('scoring.decay_lose') }), pct, h('span', { text: t('scoring.decay_per') }), days, h('span', { text: t('scoring.decay_idle') })),
				h('div', { class: 'hint', text: t('scoring.decay_hint') })),
			h('div', { class: 'field' }, h('label', null, t('scoring.company')), company, h('div', { class: 'hint', text: t('scoring.company_hint') })),
			h('div', { class: 'field' }, h('label', null, t('scoring.thresholds')), thresholds, h('div', { class: 'hint', text: t('scoring.thresholds_hint') }))),
		editable ? h('div', { class: 'aud-foot' }, save) : null);
	}

	await Promise.all([loadRules(), loadSettings(), api.get('/scoring/recompute', undefined, { quiet: true }).then(showStatus, () => {})]);
}
