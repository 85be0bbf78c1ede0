// journey-def.js — the journey definition as the builder sees it: step kinds (icon, colour
// family, outgoing edges), reading and rewiring a step's exits, summaries, new step ids,
// durations, and the auto-layout for definitions saved without canvas positions.
import { t, fmtNumber, fmtDateTime } from './i18n.js';

/** Every step kind of docs/journeys.md, grouped as the palette shows them. */
export const KINDS = {
	send_email: { group: 'actions', icon: 'mail', tone: 'blue' },
	send_webhook: { group: 'actions', icon: 'link', tone: 'blue' },
	notify: { group: 'actions', icon: 'user', tone: 'blue' },
	update_contact: { group: 'actions', icon: 'edit', tone: 'teal' },
	add_to_list: { group: 'actions', icon: 'plus', tone: 'teal' },
	remove_from_list: { group: 'actions', icon: 'x', tone: 'teal' },
	wait: { group: 'timing', icon: 'clock', tone: 'amber' },
	wait_until: { group: 'timing', icon: 'clock', tone: 'amber' },
	wait_for_event: { group: 'timing', icon: 'activity', tone: 'amber', fork: 'yesno' },
	condition: { group: 'flow', icon: 'filter', tone: 'violet', fork: 'yesno' },
	split: { group: 'flow', icon: 'segments', tone: 'violet', fork: 'split' },
	goal: { group: 'flow', icon: 'checkCircle', tone: 'green', end: true },
	exit: { group: 'flow', icon: 'logout', tone: 'grey', end: true },
};
export const GROUPS = ['actions', 'timing', 'flow'];

export const NODE_W = 232;
export const NODE_H = 84;
const GAP_X = 56;
const GAP_Y = 76;

/** A fresh step of `type` with sensible defaults (what a marketer would fill in first). */
export function newStep(type) {
	switch (type) {
		case 'wait': return { type, seconds: 86400 };
		case 'wait_for_event': return { type, event: 'email_opened', timeout_seconds: 3 * 86400 };
		case 'wait_until': return { type, days: ['mon', 'tue', 'wed', 'thu', 'fri'], time: '10:00' };
		case 'condition': return { type, filter: { field: 'score', op: 'gte', value: 50 } };
		case 'goal': return { type, filter: { event: 'purchase', count: { op: 'gte', value: 1 } } };
		case 'split': return { type, branches: [{ percent: 50 }, { percent: 50 }] };
		case 'update_contact': return { type, actions: [{ op: 'add_tag', tag: '' }] };
		case 'notify': return { type, to: 'owner', message: '' };
		case 'send_webhook': return { type, url: '' };
		default: return { type };
	}
}

/** A new id for a step of `type` not yet used in steps ("email_2"). */
export function newId(steps, type) {
	const base = { send_email: 'email', send_webhook: 'webhook', wait_for_event: 'wait_event', wait_until: 'wait_until', update_contact: 'update', add_to_list: 'add_list', remove_from_list: 'remove_list' }[type] || type;
	for (let i = 1; ; i++) if (!steps[`${base}_${i}`]) return `${base}_${i}`;
}

/**
 * The exits of a step: [{key, label, target}] where key names where the target is kept:
 * 'next', 'yes', 'no', or 'b0', 'b1'… for the branches of a split. Exit steps have none.
 */
export function exits(step) {
	const k = KINDS[step.type];
	if (!k || k.end) return [];
	if (k.fork === 'yesno') {
		const yes = step.type === 'wait_for_event' ? t('journeys.edge_happened') : t('journeys.edge_yes');
		const no = step.type === 'wait_for_event' ? t('journeys.edge_timeout') : t('journeys.edge_no');
		return [{ key: 'yes', label: yes, target: step.yes || null }, { key: 'no', label: no, target: step.no || null }];
	}
	if (k.fork === 'split') {
		return (step.branches || []).map((b, i) => ({ key: `b${i}`, label: `${fmtNumber(Number(b.percent) || 0)}%`, target: b.next || null }));
	}
	return [{ key: 'next', label: '', target: step.next || null }];
}

/** Point exit `key` of `step` at `target` (null disconnects). */
export function setExit(step, key, target) {
	if (key.startsWith('b')) {
		const b = step.branches[Number(key.slice(1))];
		if (!b) return;
		if (target) b.next = target;
		else delete b.next;
		return;
	}
	if (target) step[key] = target;
	else delete step[key];
}

/** Remove a step and every edge pointing at it. */
export function removeStep(def, id) {
	delete def.steps[id];
	for (const s of Object.values(def.steps)) for (const e of exits(s)) if (e.target === id) setExit(s, e.key, null);
	if (def.start === id) delete def.start;
}

/** Rename a step id, keeping every reference (start, next, yes/no, branches). */
export function renameStep(def, from, to) {
	if (from === to || def.steps[to]) return false;
	const steps = {};
	for (const [k, v] of Object.entries(def.steps)) steps[k === from ? to : k] = v;
	def.steps = steps;
	for (const s of Object.values(steps)) for (const e of exits(s)) if (e.target === from) setExit(s, e.key, to);
	if (def.start === from) def.start = to;
	return true;
}

// ---- durations -------------------------------------------------------------------

export const UNITS = [['minutes', 60], ['hours', 3600], ['days', 86400], ['weeks', 604800]];

/** 259200 → {n: 3, unit: 'days'}: the largest unit that divides the seconds. */
export function splitDuration(sec) {
	const s = Number(sec) || 0;
	for (let i = UNITS.length - 1; i >= 0; i--) if (s && s % UNITS[i][1] === 0) return { n: s / UNITS[i][1], unit: UNITS[i][0] };
	return { n: Math.round(s / 60), unit: 'minutes' };
}

export function fmtDuration(sec) {
	const { n, unit } = splitDuration(sec);
	return t(`journeys.dur_${unit}`, { n });
}

// ---- summaries ---------------------------------------------------------------------

/** A one-line description of what a step does, for the canvas card. */
export function summary(step, refs = {}) {
	const name = (list, id) => {
		const x = (list || []).find((e) => String(e.id) === String(id));
		return x ? x.name : id ? `#${id}` : '';
	};
	switch (step.type) {
		case 'send_email': return step.email_id ? name(refs.emails, step.email_id) : t('journeys.sum_pick_email');
		case 'send_webhook': return step.url || t('journeys.sum_no_url');
		case 'notify': {
			const to = step.to === 'owner' ? t('journeys.notify_to_owner') : step.to && step.to.email ? step.to.email : step.to && step.to.user_id ? userName(refs.users, step.to.user_id) : step.slack_url ? t('journeys.notify_to_slack') : '—';
			return to + (step.message ? ` · ${step.message}` : '');
		}
		case 'wait': return t('journeys.sum_wait', { d: fmtDuration(step.seconds) });
		case 'wait_until': {
			if (step.at) return t('journeys.sum_until_at', { at: fmtDateTime(step.at) });
			return t('journeys.sum_until_window', { days: daysText(step.days) || t('journeys.every_day'), time: step.time || '—' });
		}
		case 'wait_for_event': return t('journeys.sum_wait_event', { event: step.event || '—', d: fmtDuration(step.timeout_seconds) });
		case 'condition': return filterSummary(step.filter);
		case 'goal': return filterSummary(step.filter);
		case 'split': return (step.branches || []).map((b) => `${fmtNumber(Number(b.percent) || 0)}%`).join(' / ');
		case 'update_contact': {
			const acts = Array.isArray(step.actions) ? step.actions : [];
			if (!acts.length) return t('journeys.sum_no_actions');
			return acts.map((a) => actionText(a, refs)).join(' · ');
		}
		case 'add_to_list':
		case 'remove_from_list': return step.list_id ? name(refs.lists, step.list_id) : t('journeys.sum_pick_list');
		case 'exit': return t('journeys.sum_exit');
		default: return step.type;
	}
}

export const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** ['mon', 'tue'] → "Mon, Tue" / "月・火", in week order. */
export function daysText(days) {
	return DAY_NAMES.filter((d) => (days || []).includes(d)).map((d) => t(`journeys.day_${d}`)).join(t('journeys.day_sep'));
}

function userName(users, id) {
	const u = (users || []).find((x) => x.id === id);
	return u ? u.name || u.email : `#${id}`;
}

/** One change of an update_contact step, in words. */
export function actionText(a, refs = {}) {
	const op = a && a.op;
	if (!op) return '—';
	let v = '';
	if (op === 'set_field') v = `${a.field || '—'} = ${a.value ?? ''}`;
	else if (op === 'add_tag' || op === 'remove_tag') v = a.tag || '';
	else if (op === 'add_points') v = a.points > 0 ? `+${a.points}` : String(a.points ?? '');
	else if (op === 'set_stage') v = a.stage || '';
	else if (op === 'set_owner') v = a.user_id ? userName(refs.users, a.user_id) : '';
	else if (op === 'assign_owner') v = (a.users || []).map((id) => userName(refs.users, id)).join(', ');
	return `${t(`journeys.action_${op}`)}${v ? `: ${v}` : ''}`;
}

function filterSummary(f) {
	if (!f || typeof f !== 'object') return t('journeys.sum_no_filter');
	const one = (x) => {
		if (!x || typeof x !== 'object') return '';
		if (x.event) return t('journeys.sum_did', { event: x.event });
		if (x.field) return `${x.field} ${OPS[x.op] || x.op || ''} ${Array.isArray(x.value) ? x.value.join(', ') : x.value ?? ''}`.trim();
		if (x.segment || x.segment_id) return t('journeys.sum_in_segment', { id: x.segment || x.segment_id });
		if (x.not) return `¬ ${one(x.not)}`;
		if (x.all || x.any) {
			const parts = (x.all || x.any).map(one).filter(Boolean);
			return parts.length > 1 ? `${parts[0]} ${x.all ? t('journeys.sum_and') : t('journeys.sum_or')} …` : parts[0] || '';
		}
		return '';
	};
	return one(f) || t('journeys.sum_filter');
}
const OPS = { eq: '=', neq: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤', contains: '∋', in: '∈' };

// ---- layout ----------------------------------------------------------------------------

/**
 * Positions for steps without "ui": layers by the longest path from the start (back edges
 * ignored), each layer ordered by its parents' places and centred; steps not reachable go in
 * a row below. Returns {id: {x, y}} for every step (positions already set are kept).
 */
export function autoLayout(def, { all = false } = {}) {
	const steps = def.steps || {};
	const ids = Object.keys(steps);
	const depth = {};
	const onPath = new Set();
	const visit = (id, d) => {
		if (!steps[id] || onPath.has(id)) return;
		if (depth[id] !== undefined && depth[id] >= d) return;
		depth[id] = d;
		onPath.add(id);
		for (const e of exits(steps[id])) if (e.target) visit(e.target, d + 1);
		onPath.delete(id);
	};
	if (def.start) visit(def.start, 1);
	const layers = [];
	for (const id of ids) if (depth[id] !== undefined) (layers[depth[id]] ||= []).push(id);
	const pos = {};
	const order = {}; // horizontal rank of placed steps
	layers.forEach((layer, d) => {
		if (!layer) return;
		const parentRank = (id) => {
			const ranks = [];
			for (const [pid, s] of Object.entries(steps)) {
				const i = exits(s).findIndex((e) => e.target === id);
				if (i >= 0 && order[pid] !== undefined && depth[pid] < d) ranks.push(order[pid] + i * 0.01);
			}
			return ranks.length ? Math.min(...ranks) : 0;
		};
		layer.sort((a, b) => parentRank(a) - parentRank(b));
		const width = layer.length * NODE_W + (layer.length - 1) * GAP_X;
		layer.forEach((id, i) => {
			order[id] = (parentRank(id) * 10) + i;
			pos[id] = { x: Math.round(-width / 2 + i * (NODE_W + GAP_X)), y: d * (NODE_H + GAP_Y) };
		});
		// keep order comparable across layers: rank by final x
		layer.forEach((id) => { order[id] = pos[id].x; });
	});
	// goals are not reached by arrows (people jump to them): a column at the right of the top;
	// other steps nobody reaches yet: a row under the graph
	const placed = Object.values(pos);
	const right = placed.length ? Math.max(...placed.map((p) => p.x)) + NODE_W + GAP_X * 2 : NODE_W;
	const goals = ids.filter((id) => depth[id] === undefined && steps[id].type === 'goal');
	goals.forEach((id, i) => { pos[id] = { x: right, y: i * (NODE_H + GAP_Y / 2) }; });
	const loose = ids.filter((id) => depth[id] === undefined && steps[id].type !== 'goal');
	const bottom = (layers.length + 1) * (NODE_H + GAP_Y);
	loose.forEach((id, i) => { pos[id] = { x: -NODE_W / 2 + i * (NODE_W + GAP_X), y: bottom }; });
	if (!all) for (const id of ids) if (steps[id].ui && Number.isFinite(steps[id].ui.x)) pos[id] = { x: steps[id].ui.x, y: steps[id].ui.y };
	return pos;
}

/** Where the trigger card sits: above the start step (or the top of the graph). */
export function triggerPos(def, pos) {
	const s = def.start && pos[def.start];
	if (s) return { x: s.x, y: s.y - NODE_H - GAP_Y };
	const ys = Object.values(pos).map((p) => p.y);
	return { x: -NODE_W / 2, y: (ys.length ? Math.min(...ys) : NODE_H + GAP_Y) - NODE_H - GAP_Y };
}
