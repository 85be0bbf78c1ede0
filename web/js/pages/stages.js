// stages.js — lifecycle stage settings: the ordered stages and the automatic forward transitions ("move to mql when score ≥ 50"), each a filter.
import { api, errorMessage } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, has } from '../i18n.js';
import { pageHead, skeletonBlock, toast } from '../ui.js';
import { can } from '../state.js';
import { filterBuilder } from '../filter-builder.js';
import { audienceTabs } from './scoring.js';

export function stageLabel(s) {
	return has(`filter_builder.stage.${s}`) ? t(`filter_builder.stage.${s}`) : s;
}

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.scoring'), href: '/scoring' }, { label: t('scoring.tab_stages') }]);
	const editable = can('admin');
	const stagesBox = h('div', { class: 'card-body' }, skeletonBlock(3));
	const rulesBox = h('div', { class: 'card-body aud-stack' }, skeletonBlock(3));
	const err = h('div', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'stages-error' });
	const save = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'stages-save', disabled: !editable }, icon('check'), t('stages.save'));

	mount(ctx.root,
		pageHead({ title: t('scoring.title'), desc: t('scoring.desc'), testid: 'stages-title' }),
		audienceTabs('stages'),
		h('section', { class: 'card', 'aria-labelledby': 'st-h' },
			h('div', { class: 'card-header' }, h('h2', { id: 'st-h', text: t('stages.stages') }), h('span', { class: 'muted xsmall', text: t('stages.stages_hint') })), stagesBox),
		h('section', { class: 'card', 'aria-labelledby': 'sr-h', style: { marginTop: '16px' } },
			h('div', { class: 'card-header' }, h('h2', { id: 'sr-h', text: t('stages.rules') }), h('span', { class: 'muted xsmall', text: t('stages.rules_hint') })), rulesBox),
		editable ? h('div', { class: 'aud-foot aud-foot-page' }, err, save) : h('p', { class: 'muted small', text: t('stages.admin_only') }));

	const cfg = await api.get('/stages');
	const stages = [...cfg.stages];
	const rules = cfg.rules.map((r) => ({ to: r.to, when: r.when, fb: null }));

	function drawStages() {
		const items = stages.map((s, i) => {
			const input = h('input', { class: 'input aud-stage-name mono', value: s, 'aria-label': t('stages.name'), 'data-testid': 'stage-name', disabled: !editable, maxlength: 64,
				oninput: (e) => {
					const old = stages[i];
					stages[i] = e.target.value.trim();
					for (const r of rules) if (r.to === old) r.to = stages[i];
				},
				onchange: () => drawRules() });
			const move = (d) => () => { const j = i + d; [stages[i], stages[j]] = [stages[j], stages[i]]; drawStages(); drawRules(); };
			return h('li', { class: 'aud-stage', 'data-testid': 'stage-item' },
				h('span', { class: 'aud-stage-n', text: String(i + 1) }),
				h('span', { class: 'aud-stage-label', text: stageLabel(s) }),
				input,
				editable ? h('span', { class: 'aud-stage-tools' },
					h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('stages.up'), disabled: i === 0, onclick: move(-1) }, icon('chevronUp', { size: 'sm' })),
					h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('stages.down'), disabled: i === stages.length - 1, onclick: move(1) }, icon('chevronDown', { size: 'sm' })),
					h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('stages.remove'), 'data-testid': 'stage-remove', disabled: stages.length <= 1,
						onclick: () => { stages.splice(i, 1); drawStages(); drawRules(); } }, icon('trash', { size: 'sm' }))) : null);
		});
		const add = editable ? h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'stage-add',
			onclick: () => { let n = 'stage'; let k = stages.length + 1; while (stages.includes(`${n}_${k}`)) k++; stages.push(`${n}_${k}`); drawStages(); drawRules(); } }, icon('plus', { size: 'sm' }), t('stages.add')) : null;
		mount(stagesBox, h('ol', { class: 'aud-stages' }, items), add);
	}

	function drawRules() {
		const rows = rules.map((r, i) => {
			if (!r.fb) r.fb = filterBuilder({ value: r.when, onChange: (v) => { r.when = v; } });
			const to = h('select', { class: 'select aud-to', 'data-testid': 'stage-rule-to', disabled: !editable, 'aria-label': t('stages.to') },
				stages.includes(r.to) ? null : h('option', { value: r.to }, r.to),
				stages.map((s) => h('option', { value: s, selected: s === r.to }, stageLabel(s))));
			to.addEventListener('change', () => { r.to = to.value; });
			return h('div', { class: 'aud-rule', 'data-testid': 'stage-rule' },
				h('div', { class: 'aud-rule-head' },
					h('span', { class: 'aud-rule-n', text: String(i + 1) }),
					h('span', { text: t('stages.move_to') }), to, h('span', { text: t('stages.when') }), h('span', { class: 'fb-spacer', style: { flex: '1' } }),
					editable ? h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('stages.remove_rule'), 'data-testid': 'stage-rule-remove',
						onclick: () => { rules.splice(i, 1); drawRules(); } }, icon('trash', { size: 'sm' })) : null),
				r.fb.el);
		});
		const add = editable ? h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'stage-rule-add',
			onclick: () => { rules.push({ to: stages[Math.min(2, stages.length - 1)], when: { all: [{ field: 'score', op: 'gte', value: 50 }] }, fb: null }); drawRules(); } }, icon('plus', { size: 'sm' }), t('stages.add_rule')) : null;
		mount(rulesBox, rows.length ? rows : h('p', { class: 'muted small', text: t('stages.no_rules') }), add);
	}

	save.addEventListener('click', async () => {
		err.hidden = true;
		const body = { stages, rules: rules.map((r) => ({ to: r.to, when: r.fb ? r.fb.value : r.when })) };
		try {
			await api.put('/stages', body, { quiet: true });
			toast(t('stages.saved'));
		} catch (e) {
			err.replaceChildren(icon('alertCircle'), h('span', { text: `${errorMessage(e)}${e.field ? ` (${e.field})` : ''}` }));
			err.hidden = false;
			const m = e.field && /^\/?rules\/(\d+)\/when(.*)$/.exec(e.field);
			if (m && rules[Number(m[1])] && rules[Number(m[1])].fb) rules[Number(m[1])].fb.showError(m[2], errorMessage(e));
		}
	});

	drawStages();
	drawRules();
}
