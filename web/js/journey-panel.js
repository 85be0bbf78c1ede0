// journey-panel.js — the builder's side-panel forms: each step kind's fields, the triggers,
// the journey settings (re-entry, quiet hours, send window, dates, send cap), a duration input,
// the visual filter builder with the live count of who matches (segment preview), JSON editors
// for property conditions, and the status badge.
import { api, errorMessage } from './api.js';
import { h, icon, mount, debounce, uid } from './dom.js';
import { t } from './i18n.js';
import { state } from './state.js';
import { UNITS, splitDuration, DAY_NAMES } from './journey-def.js';
import { filterBuilder } from './filter-builder.js';

export function statusBadge(status) {
	const cls = { active: 'badge-success', paused: 'badge-warning', archived: '', draft: 'badge-primary' }[status] || '';
	return h('span', { class: `badge ${cls}`, 'data-status': status }, status === 'active' ? h('span', { class: 'dot' }) : null, t(`journeys.status_${status || 'draft'}`));
}

function fieldRow(label, control, hint) {
	const id = control.id || uid('jf');
	control.id = id;
	return h('div', { class: 'field' }, h('label', { for: id, text: label }), control, hint ? h('div', { class: 'hint', text: hint }) : null);
}

function textInput(obj, key, { onChange, type = 'text', placeholder, testid, ro, number } = {}) {
	const el = h('input', { class: 'input', type, value: obj[key] ?? '', placeholder: placeholder || '', 'data-testid': testid, readOnly: ro });
	el.addEventListener('input', () => {
		const v = el.value.trim();
		if (v === '') delete obj[key];
		else obj[key] = number ? Number(v) : v;
		onChange();
	});
	return el;
}

function selectInput(obj, key, options, { onChange, testid, ro, number, empty } = {}) {
	const el = h('select', { class: 'select', 'data-testid': testid, disabled: ro },
		empty ? h('option', { value: '' }, empty) : null,
		options.map(([v, label]) => h('option', { value: String(v), selected: String(obj[key] ?? '') === String(v) }, label)));
	el.addEventListener('change', () => {
		if (el.value === '') delete obj[key];
		else obj[key] = number ? Number(el.value) : el.value;
		onChange();
	});
	return el;
}

/** A number and a unit (minutes … weeks) kept as seconds in obj[key]. */
export function durationInput(obj, key, { onChange, testid, ro }) {
	const d = splitDuration(obj[key] || 0);
	const n = h('input', { class: 'input', type: 'number', min: 0, step: 1, value: d.n, 'data-testid': testid, readOnly: ro, style: { width: '96px' } });
	const unit = h('select', { class: 'select', 'data-testid': testid && `${testid}-unit`, disabled: ro }, UNITS.map(([u]) => h('option', { value: u, selected: u === d.unit }, t(`journeys.unit_${u}`))));
	const sync = () => {
		const mult = UNITS.find(([u]) => u === unit.value)[1];
		obj[key] = Math.max(0, Math.round(Number(n.value) || 0)) * mult;
		onChange();
	};
	n.addEventListener('input', sync);
	unit.addEventListener('change', sync);
	return h('div', { class: 'row jb-duration' }, n, unit);
}

/** A JSON value (property conditions, a webhook body) edited as text, checked as you type. */
export function jsonEditor(obj, key, { onChange, testid, ro, rows = 6, fallback = {} }) {
	const ta = h('textarea', { class: 'textarea mono jb-json', rows, spellcheck: false, 'data-testid': testid, readOnly: ro });
	ta.value = JSON.stringify(obj[key] ?? fallback, null, 2);
	const note = h('div', { class: 'hint jb-json-note', 'data-testid': testid && `${testid}-note`, 'aria-live': 'polite' });
	ta.addEventListener('input', () => {
		let v;
		try {
			v = JSON.parse(ta.value);
		} catch (e) {
			ta.setAttribute('aria-invalid', 'true');
			note.className = 'hint jb-json-note bad';
			mount(note, icon('alertCircle', { size: 'sm' }), t('journeys.bad_json', { detail: e.message }));
			return;
		}
		ta.removeAttribute('aria-invalid');
		note.className = 'hint jb-json-note';
		mount(note);
		obj[key] = v;
		onChange();
	});
	return h('div', { class: 'jb-json-wrap' }, ta, note);
}

/** A contact filter in the visual builder (web/js/filter-builder.js) with the live count of who matches now. */
function visualFilter(obj, key, { onChange, testid, ro }) {
	const note = h('div', { class: 'hint jb-json-note', 'data-testid': testid && `${testid}-note`, 'aria-live': 'polite' });
	const check = debounce(async () => {
		try {
			const r = await api.post('/segments/preview', { filter: fb.value }, { quiet: true });
			note.className = 'hint jb-json-note ok';
			mount(note, icon('checkCircle', { size: 'sm' }), t('journeys.filter_matches', { n: r.count }));
		} catch (e) {
			note.className = 'hint jb-json-note bad';
			mount(note, icon('alertCircle', { size: 'sm' }), errorMessage(e));
			if (e.field && e.field.startsWith('/filter')) fb.showError(e.field.slice('/filter'.length), errorMessage(e));
		}
	}, 400);
	const fb = filterBuilder({ value: obj[key] || { all: [] }, onChange: (v) => { if (ro) return; obj[key] = v; onChange(); check(); } });
	const wrap = h('div', { class: 'jb-filter' + (ro ? ' is-readonly' : ''), 'data-testid': testid }, fb.el, note);
	if (ro) wrap.inert = true;
	check();
	return wrap;
}

const EVENTS = ['form_submitted', 'asset_downloaded', 'page_view', 'email_opened', 'email_clicked', 'purchase', 'seminar_signup', 'identify'];

function eventInput(obj, key, o) {
	const el = textInput(obj, key, { ...o, placeholder: 'form_submitted' });
	const listId = uid('ev');
	el.setAttribute('list', listId);
	return [el, h('datalist', { id: listId }, EVENTS.map((e) => h('option', { value: e })))];
}

/** The fields of one step, by kind. onChange() after every edit. */
export function stepFields(s, refs, onChange, writable) {
	const ro = !writable;
	const o = { onChange, ro };
	switch (s.type) {
		case 'send_email': {
			const sel = selectInput(s, 'email_id', refs.emails.map((e) => [e.id, e.name]), { ...o, number: true, testid: 'field-email_id', empty: t('journeys.pick_email') });
			return h('div', { class: 'stack-sm' }, fieldRow(t('journeys.f_email'), sel, refs.emails.length ? t('journeys.f_email_hint') : t('journeys.no_emails')),
				s.email_id ? h('a', { class: 'small', href: `/emails/${s.email_id}`, target: '_blank', rel: 'noopener' }, icon('edit', { size: 'sm' }), t('journeys.open_email')) : null);
		}
		case 'send_webhook':
			return h('div', { class: 'stack-sm' },
				fieldRow(t('journeys.f_url'), textInput(s, 'url', { ...o, type: 'url', placeholder: 'https://', testid: 'field-url' }), t('journeys.f_url_hint')),
				h('div', { class: 'field' }, h('label', { text: t('journeys.f_body') }), jsonEditor(s, 'body', { ...o, testid: 'field-body', rows: 4, fallback: {} }), h('div', { class: 'hint', text: t('journeys.f_body_hint') })));
		case 'notify': {
			const box = h('div', { class: 'stack-sm' });
			const users = (refs.users || []).map((u) => [u.id, u.name || u.email]);
			const paint = () => {
				const mode = s.to === 'owner' ? 'owner' : s.to && s.to.user_id ? 'user' : s.to && s.to.email !== undefined ? 'email' : 'none';
				const modeSel = h('select', { class: 'select', 'data-testid': 'field-to', disabled: ro },
					[['owner', t('journeys.notify_to_owner')], ['user', t('journeys.notify_to_user')], ['email', t('journeys.notify_to_email')], ['none', t('journeys.notify_to_slack')]].map(([v, l]) => h('option', { value: v, selected: v === mode }, l)));
				modeSel.addEventListener('change', () => {
					const v = modeSel.value;
					if (v === 'owner') s.to = 'owner';
					else if (v === 'user') s.to = { user_id: users[0] ? users[0][0] : 0 };
					else if (v === 'email') s.to = { email: '' };
					else delete s.to;
					onChange();
					paint();
				});
				mount(box,
					fieldRow(t('journeys.f_notify_to'), modeSel),
					mode === 'user' ? fieldRow(t('journeys.f_user'), selectInput(s.to, 'user_id', users, { ...o, number: true, testid: 'field-user' })) : null,
					mode === 'email' ? fieldRow(t('journeys.f_notify_email'), textInput(s.to, 'email', { ...o, type: 'email', testid: 'field-notify-email', placeholder: 'sales@example.co.jp' })) : null,
					fieldRow(t('journeys.f_slack'), textInput(s, 'slack_url', { ...o, type: 'url', placeholder: 'https://hooks.slack.com/…', testid: 'field-slack_url' }), t('journeys.f_slack_hint')),
					fieldRow(t('journeys.f_message'), textInput(s, 'message', { ...o, testid: 'field-message', placeholder: t('journeys.f_message_ph') }), t('journeys.f_message_hint')));
			};
			paint();
			return box;
		}
		case 'wait':
			return fieldRow(t('journeys.f_wait'), durationInput(s, 'seconds', { ...o, testid: 'field-seconds' }));
		case 'wait_until': {
			const box = h('div', { class: 'stack-sm' });
			const paint = () => {
				const mode = s.at ? 'at' : 'window';
				const modeSel = h('select', { class: 'select', 'data-testid': 'field-until-mode', disabled: ro },
					h('option', { value: 'window', selected: mode === 'window' }, t('journeys.until_window')),
					h('option', { value: 'at', selected: mode === 'at' }, t('journeys.until_at')));
				modeSel.addEventListener('change', () => {
					if (modeSel.value === 'at') { delete s.days; delete s.time; s.at = new Date(Math.ceil(Date.now() / 3600e3) * 3600e3 + 7 * 86400e3).toISOString().replace(/\.\d{3}Z$/, 'Z'); } else { delete s.at; s.days = ['mon', 'tue', 'wed', 'thu', 'fri']; s.time = '10:00'; }
					onChange();
					paint();
				});
				let rest;
				if (mode === 'at') {
					const el = h('input', { class: 'input', type: 'datetime-local', value: toLocalInput(s.at), 'data-testid': 'field-at', readOnly: ro });
					el.addEventListener('change', () => { if (el.value) { s.at = new Date(el.value).toISOString().replace(/\.\d{3}Z$/, 'Z'); onChange(); } });
					rest = fieldRow(t('journeys.f_at'), el, t('journeys.f_at_hint'));
				} else {
					rest = [fieldRow(t('journeys.f_days'), daysInput(s, 'days', o), t('journeys.f_days_hint')),
						fieldRow(t('journeys.f_time'), textInput(s, 'time', { ...o, type: 'time', testid: 'field-time' }), t('journeys.f_time_hint'))];
				}
				mount(box, fieldRow(t('journeys.f_until_mode'), modeSel), rest);
			};
			paint();
			return box;
		}
		case 'wait_for_event':
			return h('div', { class: 'stack-sm' },
				fieldRow(t('journeys.f_event'), h('div', null, eventInput(s, 'event', { ...o, testid: 'field-event' }))),
				h('div', { class: 'field' }, h('label', { text: t('journeys.f_where') }), jsonEditor(s, 'where', { ...o, testid: 'field-where', rows: 4, fallback: [] }), h('div', { class: 'hint', text: t('journeys.f_where_hint') })),
				fieldRow(t('journeys.f_timeout'), durationInput(s, 'timeout_seconds', { ...o, testid: 'field-timeout' }), t('journeys.f_timeout_hint')));
		case 'condition':
		case 'goal':
			return h('div', { class: 'field' }, h('label', { text: s.type === 'goal' ? t('journeys.f_goal_filter') : t('journeys.f_filter') }),
				visualFilter(s, 'filter', { ...o, testid: 'field-filter' }),
				h('div', { class: 'hint', text: t('journeys.f_filter_hint') }));
		case 'split': {
			const box = h('div', { class: 'stack-sm' });
			const paint = () => {
				const sum = (s.branches || []).reduce((a, b) => a + (Number(b.percent) || 0), 0);
				mount(box, h('div', { class: 'label', text: t('journeys.f_branches') }),
					(s.branches || []).map((b, i) => {
						const el = h('input', { class: 'input', type: 'number', min: 0, max: 100, value: b.percent, 'data-testid': `field-percent-${i}`, readOnly: ro, style: { width: '88px' } });
						el.addEventListener('input', () => { b.percent = Number(el.value) || 0; onChange(); sumEl.textContent = t('journeys.split_sum', { n: s.branches.reduce((a, x) => a + (Number(x.percent) || 0), 0) }); });
						return h('div', { class: 'row' }, h('span', { class: 'jb-branch-tag', text: String.fromCharCode(65 + i) }), el, h('span', { class: 'muted', text: '%' }),
							!ro && s.branches.length > 2 ? h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('common.delete'), onclick: () => { s.branches.splice(i, 1); onChange(); paint(); } }, icon('x', { size: 'sm' })) : null);
					}),
					h('div', { class: 'row' },
						!ro && s.branches.length < 6 ? h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'add-branch', onclick: () => { s.branches.push({ percent: 0 }); onChange(); paint(); } }, icon('plus', { size: 'sm' }), t('journeys.add_branch')) : null,
						h('span', { class: 'hint' + (sum === 100 ? '' : ' bad') }, sumEl)));
			};
			const sumEl = h('span', { text: '' });
			paint();
			sumEl.textContent = t('journeys.split_sum', { n: (s.branches || []).reduce((a, b) => a + (Number(b.percent) || 0), 0) });
			return box;
		}
		case 'update_contact': {
			const box = h('div', { class: 'stack-sm', 'data-testid': 'actions' });
			const ops = ['add_tag', 'remove_tag', 'set_field', 'add_points', 'set_stage', 'set_owner', 'assign_owner'];
			const users = (refs.users || []);
			const paint = () => {
				s.actions ||= [];
				mount(box, h('div', { class: 'label', text: t('journeys.f_actions') }),
					s.actions.map((a, i) => {
						const opSel = h('select', { class: 'select', 'data-testid': `action-op-${i}`, disabled: ro }, ops.map((x) => h('option', { value: x, selected: a.op === x }, t(`journeys.action_${x}`))));
						opSel.addEventListener('change', () => { s.actions[i] = { op: opSel.value }; onChange(); paint(); });
						const so = { ...o };
						let fields = null;
						if (a.op === 'add_tag' || a.op === 'remove_tag') fields = fieldRow(t('journeys.f_tag'), textInput(a, 'tag', { ...so, testid: `action-tag-${i}` }));
						else if (a.op === 'set_field') {
							const listId = uid('fl');
							const fi = textInput(a, 'field', { ...so, testid: `action-field-${i}`, placeholder: 'fields.plan' });
							fi.setAttribute('list', listId);
							fields = [fieldRow(t('journeys.f_field'), h('div', null, fi, h('datalist', { id: listId }, ['first_name', 'last_name', 'phone', 'timezone', 'locale', ...(state.fields || []).map((f) => `fields.${f.key}`)].map((v) => h('option', { value: v })))), t('journeys.f_field_hint')),
								fieldRow(t('journeys.f_value'), textInput(a, 'value', { ...so, testid: `action-value-${i}` }))];
						} else if (a.op === 'add_points') fields = fieldRow(t('journeys.f_points'), textInput(a, 'points', { ...so, type: 'number', number: true, testid: `action-points-${i}` }), t('journeys.f_points_hint'));
						else if (a.op === 'set_stage') fields = fieldRow(t('journeys.f_stage'), textInput(a, 'stage', { ...so, testid: `action-stage-${i}`, placeholder: 'mql' }));
						else if (a.op === 'set_owner') fields = fieldRow(t('journeys.f_owner'), selectInput(a, 'user_id', users.map((u) => [u.id, u.name || u.email]), { ...so, number: true, testid: `action-user-${i}`, empty: t('journeys.pick_user') }));
						else if (a.op === 'assign_owner') {
							const chosen = new Set(a.users || []);
							fields = h('div', { class: 'field' }, h('label', { text: t('journeys.f_round_robin') }),
								h('div', { class: 'stack-sm' }, users.map((u) => {
									const cb = h('input', { type: 'checkbox', checked: chosen.has(u.id), disabled: ro });
									cb.addEventListener('change', () => { if (cb.checked) chosen.add(u.id); else chosen.delete(u.id); a.users = [...chosen]; onChange(); });
									return h('label', { class: 'check' }, cb, h('span', { text: `${u.name || u.email}` }), h('span', { class: 'muted xsmall', text: t(`roles.${u.role}`) }));
								})), h('div', { class: 'hint', text: t('journeys.f_owner_hint') }));
						}
						return h('div', { class: 'jb-trigger-card', 'data-testid': `action-${i}` },
							h('div', { class: 'row' }, h('span', { class: 'jb-branch-tag', text: String(i + 1) }), opSel,
								!ro && s.actions.length > 1 ? h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('common.delete'), title: t('common.delete'), onclick: () => { s.actions.splice(i, 1); onChange(); paint(); } }, icon('trash', { size: 'sm' })) : null),
							fields);
					}),
					!ro ? h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'add-action', onclick: () => { s.actions.push({ op: 'add_tag', tag: '' }); onChange(); paint(); } }, icon('plus', { size: 'sm' }), t('journeys.add_action')) : null);
			};
			paint();
			return box;
		}
		case 'add_to_list':
		case 'remove_from_list':
			return fieldRow(t('journeys.f_list'), selectInput(s, 'list_id', refs.lists.map((l) => [l.id, l.name]), { ...o, number: true, testid: 'field-list_id', empty: t('journeys.pick_list') }), refs.lists.length ? null : t('journeys.no_lists'));
		case 'exit':
			return h('p', { class: 'muted small', text: t('journeys.exit_help') });
		default:
			return null;
	}
}

function daysInput(obj, key, { onChange, ro }) {
	const days = new Set(obj[key] || []);
	return h('div', { class: 'jb-days', role: 'group' }, DAY_NAMES.map((d) => {
		const b = h('button', { type: 'button', class: 'jb-day', 'aria-pressed': String(days.has(d)), disabled: ro, 'data-testid': `day-${d}`, text: t(`journeys.day_${d}`) });
		b.addEventListener('click', () => {
			if (days.has(d)) days.delete(d); else days.add(d);
			b.setAttribute('aria-pressed', String(days.has(d)));
			if (days.size) obj[key] = DAY_NAMES.filter((x) => days.has(x)); else delete obj[key];
			onChange();
		});
		return b;
	}));
}

export const TRIGGER_TYPES = ['event', 'segment_entered', 'list_added', 'date', 'score', 'stage', 'manual'];

/** The triggers list: one or more, each with its own fields. */
export function triggersEditor(def, refs, onChange, writable) {
	const ro = !writable;
	const box = h('div', { class: 'stack', 'data-testid': 'triggers' });
	const paint = () => {
		mount(box,
			def.triggers.map((tr, i) => {
				const o = { onChange, ro };
				const typeSel = h('select', { class: 'select', 'data-testid': `trigger-type-${i}`, disabled: ro }, TRIGGER_TYPES.map((x) => h('option', { value: x, selected: tr.type === x }, t(`journeys.trig_${x}`))));
				typeSel.addEventListener('change', () => { def.triggers[i] = { type: typeSel.value }; onChange(); paint(); });
				let rest = null;
				if (tr.type === 'event') {
					rest = [fieldRow(t('journeys.f_event'), h('div', null, eventInput(tr, 'event', { ...o, testid: `trigger-event-${i}` }))),
						h('div', { class: 'field' }, h('label', { text: t('journeys.f_where') }), jsonEditor(tr, 'where', { ...o, testid: `trigger-where-${i}`, rows: 3, fallback: [] }), h('div', { class: 'hint', text: t('journeys.f_where_hint') }))];
				} else if (tr.type === 'segment_entered') {
					rest = fieldRow(t('journeys.f_segment'), selectInput(tr, 'segment_id', refs.segments.map((s) => [s.id, s.name]), { ...o, number: true, testid: `trigger-segment-${i}`, empty: t('journeys.pick_segment') }));
				} else if (tr.type === 'list_added') {
					rest = fieldRow(t('journeys.f_list'), selectInput(tr, 'list_id', refs.lists.map((s) => [s.id, s.name]), { ...o, number: true, testid: `trigger-list-${i}`, empty: t('journeys.pick_list') }));
				} else if (tr.type === 'date') {
					const dateFields = (state.fields || []).filter((f) => f.type === 'date');
					rest = [fieldRow(t('journeys.f_date_field'), dateFields.length
						? selectInput(tr, 'field', dateFields.map((f) => [f.key, f.label || f.key]), { ...o, testid: `trigger-field-${i}`, empty: t('journeys.pick_field') })
						: textInput(tr, 'field', { ...o, testid: `trigger-field-${i}`, placeholder: 'birthday' }), t('journeys.f_date_field_hint')),
						fieldRow(t('journeys.f_offset_days'), textInput(tr, 'offset_days', { ...o, type: 'number', number: true, testid: `trigger-offset-${i}`, placeholder: '0' }), t('journeys.f_offset_days_hint')),
						fieldRow(t('journeys.f_time'), textInput(tr, 'time', { ...o, type: 'time', testid: `trigger-time-${i}` }), t('journeys.f_time_hint'))];
				} else if (tr.type === 'score') {
					rest = [fieldRow(t('journeys.f_threshold'), textInput(tr, 'threshold', { ...o, type: 'number', number: true, testid: `trigger-threshold-${i}`, placeholder: '50' })),
						fieldRow(t('journeys.f_direction'), selectInput(tr, 'direction', [['up', t('journeys.direction_up')], ['down', t('journeys.direction_down')]], { ...o, testid: `trigger-direction-${i}` }))];
				} else if (tr.type === 'stage') {
					rest = fieldRow(t('journeys.f_stage'), textInput(tr, 'stage', { ...o, testid: `trigger-stage-${i}`, placeholder: 'mql' }));
				} else if (tr.type === 'manual') {
					rest = h('p', { class: 'muted small', text: t('journeys.trig_manual_help') });
				}
				return h('div', { class: 'jb-trigger-card', 'data-testid': `trigger-${i}` },
					h('div', { class: 'row' }, h('span', { class: 'jb-branch-tag', text: String(i + 1) }), typeSel,
						!ro ? h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('journeys.remove_trigger'), title: t('journeys.remove_trigger'), onclick: () => { def.triggers.splice(i, 1); onChange(); paint(); } }, icon('trash', { size: 'sm' })) : null),
					rest);
			}),
			def.triggers.length ? null : h('p', { class: 'muted small', text: t('journeys.no_trigger_help') }),
			!ro ? h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'add-trigger', onclick: () => { def.triggers.push({ type: 'event', event: 'form_submitted' }); onChange(); paint(); } }, icon('plus', { size: 'sm' }), t('journeys.add_trigger')) : null);
	};
	paint();
	return box;
}

/** The journey's settings: re-entry, leaving a segment, quiet hours, send window, dates, cap, webhook secret. */
export function settingsEditor(def, refs, onChange, writable) {
	const ro = !writable;
	const s = def.settings;
	const o = { onChange, ro };
	const section = (title, ...rest) => h('section', { class: 'jb-set-section' }, h('h3', { text: title }), rest);
	const toggle = (key, label, init, testid) => {
		const cb = h('input', { type: 'checkbox', checked: !!s[key], disabled: ro, 'data-testid': testid });
		const body = h('div', { class: 'stack-sm', hidden: !s[key] });
		const fill = () => mount(body, s[key] ? init(s[key]) : null);
		cb.addEventListener('change', () => {
			if (cb.checked) s[key] = s[key] || init.defaults();
			else delete s[key];
			body.hidden = !cb.checked;
			fill();
			onChange();
		});
		fill();
		return [h('label', { class: 'check' }, cb, h('span', { text: label })), body];
	};
	const range = (w, prefix) => h('div', { class: 'row jb-time-range' }, textInput(w, 'start', { ...o, type: 'time', testid: `${prefix}-start` }), h('span', { class: 'muted', text: '–' }), textInput(w, 'end', { ...o, type: 'time', testid: `${prefix}-end` }));
	const quiet = Object.assign((w) => [range(w, 'quiet'), h('div', { class: 'hint', text: t('journeys.quiet_hint') })], { defaults: () => ({ start: '21:00', end: '08:00' }) });
	const sendWin = Object.assign((w) => [daysInput(w, 'days', o), range(w, 'window'), h('div', { class: 'hint', text: t('journeys.window_hint') })], { defaults: () => ({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '18:00' }) });
	const dateInput = (key, testid) => {
		const el = h('input', { class: 'input', type: 'datetime-local', value: toLocalInput(s[key]), 'data-testid': testid, readOnly: ro });
		el.addEventListener('change', () => { if (el.value) s[key] = new Date(el.value).toISOString().replace(/\.\d{3}Z$/, 'Z'); else delete s[key]; onChange(); });
		return el;
	};
	return h('div', { class: 'stack', 'data-testid': 'settings' },
		section(t('journeys.set_entry'),
			fieldRow(t('journeys.f_reentry'), selectInput(s, 'reentry', [['never', t('journeys.reentry_never')], ['after_exit', t('journeys.reentry_after_exit')], ['every_trigger', t('journeys.reentry_every_trigger')]], { ...o, testid: 'set-reentry' })),
			fieldRow(t('journeys.f_exit_segment'), selectInput(s, 'exit_segment_id', refs.segments.map((x) => [x.id, x.name]), { ...o, number: true, testid: 'set-exit-segment', empty: t('journeys.exit_segment_none') }), t('journeys.f_exit_segment_hint'))),
		section(t('journeys.set_timing'),
			toggle('quiet_hours', t('journeys.f_quiet'), quiet, 'set-quiet'),
			toggle('send_window', t('journeys.f_window'), sendWin, 'set-window'),
			h('div', { class: 'hint', text: t('journeys.zone_hint') })),
		section(t('journeys.set_schedule'),
			fieldRow(t('journeys.f_start_at'), dateInput('start_at', 'set-start')),
			fieldRow(t('journeys.f_end_at'), dateInput('end_at', 'set-end'), t('journeys.f_end_at_hint'))),
		section(t('journeys.set_limits'),
			fieldRow(t('journeys.f_cap'), textInput(s, 'send_cap', { ...o, type: 'number', number: true, testid: 'set-cap', placeholder: t('journeys.cap_none') }), t('journeys.f_cap_hint')),
			fieldRow(t('journeys.f_secret'), textInput(s, 'webhook_secret', { ...o, testid: 'set-webhook-secret', placeholder: t('journeys.secret_default') }), t('journeys.f_secret_hint'))));
}


function toLocalInput(iso) {
	const d = new Date(iso || '');
	if (!iso || Number.isNaN(d.getTime())) return '';
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
