// journey.js — the journey builder: a zoomable canvas of steps joined by arrows (SVG), a palette
// to drag new steps from, a side panel editing the selected step, the triggers or the settings,
// validation problems painted on the offending step as you edit, save / activate / pause, and
// live stats (entered, waiting, per branch) on the canvas of a running journey.
import { api, errorMessage } from '../api.js';
import { h, icon, mount, debounce } from '../dom.js';
import { t, fmtNumber, fmtDateTime } from '../i18n.js';
import { can, loadUsers, loadFields, contactName } from '../state.js';
import { toast, confirmDialog, emptyState, openDialog } from '../ui.js';
import { KINDS, GROUPS, NODE_W, NODE_H, newStep, newId, exits, setExit, removeStep, renameStep, summary, autoLayout, triggerPos } from '../journey-def.js';
import { stepFields, triggersEditor, settingsEditor, statusBadge } from '../journey-panel.js';

const SVG = 'http://www.w3.org/2000/svg';
const TRIGGER = '__trigger';
const STATS_MS = 5000;

function svg(tag, attrs) {
	const el = document.createElementNS(SVG, tag);
	for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
	return el;
}

export default async function render(ctx) {
	const id = Number(ctx.params.id);
	const back = { label: t('nav.journeys'), href: '/journeys' };
	ctx.setCrumbs([back, { label: t('common.loading') }]);
	let j;
	let refs;
	try {
		const [jr, emails, segs, users] = await Promise.all([
			api.get(`/journeys/${id}`, null, { quiet: true, signal: ctx.signal }),
			api.get('/emails', null, { quiet: true, signal: ctx.signal }).catch(() => ({ data: [] })),
			api.get('/segments', null, { quiet: true, signal: ctx.signal }).catch(() => ({ data: [] })),
			loadUsers().catch(() => []),
			loadFields().catch(() => []),
		]);
		j = jr;
		refs = { emails: emails.data || [], segments: (segs.data || []).filter((s) => s.type !== 'static'), lists: (segs.data || []).filter((s) => s.type === 'static'), users };
	} catch (e) {
		if (e.status === 404) {
			ctx.setCrumbs([back, { label: t('journeys.not_found') }]);
			mount(ctx.root, h('div', { class: 'card' }, emptyState({ iconName: 'journeys', title: t('journeys.not_found'), text: t('journeys.not_found_text'), testid: 'journey-not-found', actions: [h('a', { class: 'btn', href: '/journeys' }, icon('arrowLeft'), t('journeys.back'))] })));
			return;
		}
		throw e;
	}
	if (!ctx.alive) return;
	ctx.setCrumbs([back, { label: j.name }]);
	const writable = can('manage_segments');

	// ---- the model ----
	const def = structuredClone(j.definition || {});
	def.triggers ||= [];
	def.steps ||= {};
	def.settings ||= {};
	let name = j.name;
	let description = j.description || '';
	let dirty = false;
	let problems = Array.isArray(j.problems) ? j.problems : [];
	let stats = null;
	let selected = null; // step id, TRIGGER, '__settings' or null (the journey)
	let selEdge = null; // {from, key}
	const view = { x: 0, y: 0, k: 1 };
	{
		const pos = autoLayout(def);
		for (const [sid, p] of Object.entries(pos)) def.steps[sid].ui = { ...(def.steps[sid].ui || {}), x: p.x, y: p.y };
	}
	let trig = triggerPos(def, positions()); // the trigger card sits above the start step

	function positions() {
		const p = {};
		for (const [sid, s] of Object.entries(def.steps)) p[sid] = { x: s.ui?.x ?? 0, y: s.ui?.y ?? 0 };
		return p;
	}

	// ---- layout of the page ----
	ctx.root.classList.add('page-full');
	ctx.onCleanup(() => ctx.root.classList.remove('page-full'));

	const nameInput = h('input', { class: 'jb-name', value: name, 'aria-label': t('journeys.name'), 'data-testid': 'journey-name', maxlength: 200, readOnly: !writable });
	nameInput.addEventListener('input', () => { name = nameInput.value; changed(false); });
	const badgeBox = h('span', { 'data-testid': 'journey-status' });
	const versionBox = h('button', { type: 'button', class: 'chip jb-version', 'data-testid': 'journey-version', title: t('journeys.versions'), onclick: () => versionsDialog() });
	const saveState = h('span', { class: 'jb-savestate', 'data-testid': 'save-state', 'aria-live': 'polite' });
	const saveBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'journey-save', onclick: () => save() }, icon('check'), t('common.save'));
	const runBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'journey-run' });
	const enrolBtn = h('button', { type: 'button', class: 'btn btn-ghost', 'data-testid': 'journey-enrol', hidden: true, onclick: () => enrolDialog() }, icon('userPlus'), t('journeys.enrol'));
	const settingsBtn = h('button', { type: 'button', class: 'btn btn-ghost', 'data-testid': 'journey-settings', onclick: () => select('__settings') }, icon('settings'), t('journeys.settings'));
	const problemPill = h('button', { type: 'button', class: 'jb-problems', hidden: true, 'data-testid': 'problem-count', onclick: () => { const p = problems.find((x) => x.step && def.steps[x.step]); if (p) { select(p.step); centerOn(p.step); } else select(null); } });
	const liveNote = h('div', { class: 'callout jb-live-note', hidden: true, 'data-testid': 'live-note' }, icon('info'), h('span', { text: t('journeys.live_edit_note') }));
	const statBar = h('div', { class: 'jb-statbar', hidden: true, 'data-testid': 'journey-stats' });

	const head = h('div', { class: 'jb-head' },
		h('a', { class: 'btn btn-ghost btn-icon', href: '/journeys', 'aria-label': t('journeys.back'), title: t('journeys.back') }, icon('arrowLeft')),
		h('div', { class: 'jb-title' }, h('h1', { class: 'sr-only', tabindex: '-1', 'data-testid': 'page-title', text: name }), nameInput, h('div', { class: 'row' }, badgeBox, versionBox, saveState)),
		h('div', { class: 'page-actions' }, problemPill, writable ? enrolBtn : null, settingsBtn, writable ? saveBtn : null, writable ? runBtn : null));

	// palette
	const palette = h('aside', { class: 'jb-palette', 'aria-label': t('journeys.palette'), 'data-testid': 'palette' },
		h('div', { class: 'jb-palette-hint', text: t('journeys.palette_hint') }),
		GROUPS.map((g) => [
			h('div', { class: 'jb-palette-group', text: t(`journeys.group_${g}`) }),
			Object.entries(KINDS).filter(([, k]) => k.group === g).map(([type, k]) =>
				h('button', { type: 'button', class: `jb-pal-item tone-${k.tone}`, 'data-testid': `palette-${type}`, 'data-type': type, disabled: !writable, title: t(`journeys.kind_desc_${type}`) },
					h('span', { class: 'jb-ic' }, icon(k.icon, { size: 'sm' })), h('span', { text: t(`journeys.kind_${type}`) }))),
		]));

	// canvas
	const edgesSvg = svg('svg', { class: 'jb-edges', width: 1, height: 1 });
	const defs = svg('defs');
	for (const [mid, cls] of [['jb-arrow', 'arrow'], ['jb-arrow-sel', 'arrow-sel'], ['jb-arrow-bad', 'arrow-bad']]) {
		const m = svg('marker', { id: mid, viewBox: '0 0 10 10', refX: 8, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
		m.append(svg('path', { d: 'M0 0 L10 5 L0 10 z', class: cls }));
		defs.append(m);
	}
	edgesSvg.append(defs);
	const edgeLayer = svg('g');
	const tempEdge = svg('path', { class: 'jb-edge jb-edge-temp', 'marker-end': 'url(#jb-arrow-sel)' });
	edgesSvg.append(edgeLayer, tempEdge);
	const labelLayer = h('div', { class: 'jb-labels' });
	const nodeLayer = h('div', { class: 'jb-nodes' });
	const world = h('div', { class: 'jb-world' }, edgesSvg, labelLayer, nodeLayer);
	const zoomLabel = h('span', { class: 'jb-zoom-label', 'data-testid': 'zoom-level' });
	const zoomBar = h('div', { class: 'jb-zoom', role: 'group', 'aria-label': t('journeys.zoom') },
		h('button', { type: 'button', class: 'btn btn-sm btn-ghost btn-icon', 'aria-label': t('journeys.zoom_out'), title: t('journeys.zoom_out'), 'data-testid': 'zoom-out', onclick: () => zoomBy(1 / 1.2) }, h('span', { class: 'jb-zoom-sign', text: '−' })),
		zoomLabel,
		h('button', { type: 'button', class: 'btn btn-sm btn-ghost btn-icon', 'aria-label': t('journeys.zoom_in'), title: t('journeys.zoom_in'), 'data-testid': 'zoom-in', onclick: () => zoomBy(1.2) }, icon('plus', { size: 'sm' })),
		h('span', { class: 'jb-zoom-sep' }),
		h('button', { type: 'button', class: 'btn btn-sm btn-ghost', 'data-testid': 'zoom-fit', onclick: () => fit() }, icon('columns', { size: 'sm' }), t('journeys.fit')),
		writable ? h('button', { type: 'button', class: 'btn btn-sm btn-ghost', 'data-testid': 'auto-layout', onclick: tidy }, icon('sparkles', { size: 'sm' }), t('journeys.tidy')) : null);
	const canvas = h('div', { class: 'jb-canvas', tabindex: '0', 'aria-label': t('journeys.canvas'), 'data-testid': 'canvas', role: 'application' }, world, zoomBar);
	const panel = h('aside', { class: 'jb-panel', 'data-testid': 'side-panel', 'aria-label': t('journeys.panel') });

	mount(ctx.root, h('div', { class: 'jb' }, head, liveNote, statBar, h('div', { class: 'jb-body' }, palette, canvas, panel)));

	// ---- status, buttons ----
	function paintHead() {
		mount(badgeBox, statusBadge(j.status));
		versionBox.textContent = t('journeys.version_n', { n: j.version || 1 });
		versionBox.hidden = !j.version;
		if (!saving) saveState.textContent = dirty ? (j.status === 'draft' ? t('journeys.unsaved_draft') : t('journeys.unsaved')) : j.updated_at ? t('journeys.saved_at', { at: fmtDateTime(j.updated_at) }) : '';
		saveState.classList.toggle('is-dirty', dirty);
		saveBtn.disabled = !dirty;
		const live = j.status === 'active';
		mount(runBtn, icon(live ? 'clock' : 'sparkles'), t(live ? 'journeys.pause' : j.status === 'paused' ? 'journeys.resume' : 'journeys.activate'));
		runBtn.dataset.action = live ? 'pause' : 'activate';
		runBtn.hidden = j.status === 'archived';
		runBtn.className = live ? 'btn' : 'btn btn-primary';
		liveNote.hidden = !(live || j.status === 'paused') || !dirty;
		enrolBtn.hidden = !live;
		const n = problems.length;
		problemPill.hidden = !n;
		mount(problemPill, icon('alertCircle', { size: 'sm' }), t('journeys.problems_n', { n }));
		document.title = `${name || t('journeys.untitled')} · Kizuna`;
	}
	runBtn.addEventListener('click', () => (runBtn.dataset.action === 'pause' ? transition('pause') : activate()));

	// ---- drawing ----
	function stepStats(sid) {
		return stats && stats.steps && stats.steps[sid];
	}

	function problemsOf(sid) {
		return problems.filter((p) => p.step === sid);
	}

	function portX(n, i) {
		return n === 1 ? NODE_W / 2 : Math.round((NODE_W * (i + 1)) / (n + 1));
	}

	function nodeEl(sid) {
		const s = def.steps[sid];
		const k = KINDS[s.type] || { icon: 'info', tone: 'grey' };
		const probs = problemsOf(sid);
		const st = stepStats(sid);
		const outs = exits(s);
		const node = h('div', {
			class: `jb-node tone-${k.tone}` + (selected === sid ? ' is-selected' : '') + (probs.length ? ' has-problem' : '') + (def.start === sid ? ' is-start' : ''),
			style: { transform: `translate(${s.ui.x}px, ${s.ui.y}px)` },
			'data-step': sid,
			'data-testid': `step-${sid}`,
			tabindex: '0',
			role: 'button',
			'aria-label': `${t(`journeys.kind_${s.type}`)}: ${s.label || summary(s, refs)}`,
		},
		h('div', { class: 'jb-port jb-port-in', 'aria-hidden': 'true' }),
		h('div', { class: 'jb-node-head' },
			h('span', { class: 'jb-ic' }, icon(k.icon, { size: 'sm' })),
			h('span', { class: 'jb-kind', text: t(`journeys.kind_${s.type}`) }),
			st ? h('span', { class: 'jb-waiting' + (st.waiting ? '' : ' is-zero'), 'data-testid': 'step-waiting', title: t('journeys.stat_waiting') }, icon('user', { size: 'sm' }), fmtNumber(st.waiting || 0)) : null),
		h('div', { class: 'jb-node-title', text: s.label || summary(s, refs) }),
		s.label ? h('div', { class: 'jb-node-sub', text: summary(s, refs) }) : null,
		st ? h('div', { class: 'jb-node-stats', 'data-testid': 'step-stats' },
			h('span', null, t('journeys.stat_entered'), ' ', h('strong', { 'data-testid': 'step-entered', text: fmtNumber(st.entered || 0) })),
			h('span', null, t('journeys.stat_completed'), ' ', h('strong', { text: fmtNumber(st.completed || 0) })),
			st.exited ? h('span', null, t('journeys.stat_exited'), ' ', h('strong', { text: fmtNumber(st.exited) })) : null) : null,
		probs.length ? h('div', { class: 'jb-node-problem', 'data-testid': 'step-problem', role: 'note' }, icon('alertCircle', { size: 'sm' }), h('span', { text: probs[0].message + (probs.length > 1 ? ` (+${probs.length - 1})` : '') })) : null,
		outs.map((e, i) => h('div', {
			class: 'jb-port jb-port-out' + (e.target ? '' : ' is-free'),
			style: { left: `${portX(outs.length, i)}px` },
			'data-port': e.key,
			'data-testid': `port-${sid}-${e.key}`,
			title: e.target ? t('journeys.port_drag') : t('journeys.port_add'),
		}, e.target ? null : icon('plus', { size: 'sm' }))));
		return node;
	}

	function triggerEl() {
		const list = def.triggers || [];
		const text = list.length ? list.map((tr) => triggerText(tr)).join(' · ') : t('journeys.no_trigger');
		const probs = problems.filter((p) => p.step === TRIGGER || (!p.step && /^triggers/.test(p.field || '')));
		return h('div', {
			class: 'jb-node jb-trigger' + (selected === TRIGGER ? ' is-selected' : '') + (probs.length || !list.length ? ' has-problem' : ''),
			style: { transform: `translate(${trig.x}px, ${trig.y}px)` },
			'data-step': TRIGGER,
			'data-testid': 'step-trigger',
			'aria-label': `${t('journeys.trigger')}: ${text}`,
			role: 'button',
			tabindex: '0',
		},
		h('div', { class: 'jb-node-head' }, h('span', { class: 'jb-ic' }, icon('sparkles', { size: 'sm' })), h('span', { class: 'jb-kind', text: t('journeys.trigger') }),
			stats ? h('span', { class: 'jb-waiting', title: t('journeys.stat_enrolled') }, icon('contacts', { size: 'sm' }), fmtNumber(stats.enrolled || 0)) : null),
		h('div', { class: 'jb-node-title', text }),
		probs.length ? h('div', { class: 'jb-node-problem', 'data-testid': 'step-problem' }, icon('alertCircle', { size: 'sm' }), h('span', { text: probs[0].message })) : null,
		h('div', { class: 'jb-port jb-port-out' + (def.start ? '' : ' is-free'), style: { left: `${NODE_W / 2}px` }, 'data-port': 'start', 'data-testid': 'port-trigger-start' }, def.start ? null : icon('plus', { size: 'sm' })));
	}

	function triggerText(tr) {
		const name = (list, i) => ((list || []).find((x) => String(x.id) === String(i)) || {}).name || (i ? `#${i}` : '—');
		switch (tr.type) {
			case 'event': return t('journeys.trig_sum_event', { event: tr.event || '—' });
			case 'segment_entered': return t('journeys.trig_sum_segment', { name: name(refs.segments, tr.segment_id) });
			case 'list_added': return t('journeys.trig_sum_list', { name: name(refs.lists, tr.list_id) });
			case 'date': return t('journeys.trig_sum_date', { field: tr.field || '—' });
			case 'score': return t(tr.direction === 'down' ? 'journeys.trig_sum_score_down' : 'journeys.trig_sum_score', { n: Number(tr.threshold ?? 0) });
			case 'stage': return t('journeys.trig_sum_stage', { stage: tr.stage || '—' });
			case 'manual': return t('journeys.trig_sum_manual');
			default: return tr.type || '—';
		}
	}

	/** Output port position of exit `key` of node sid (world coordinates). */
	function portPos(sid, key) {
		if (sid === TRIGGER) return { x: trig.x + NODE_W / 2, y: trig.y + nodeHeight(TRIGGER) };
		const s = def.steps[sid];
		const outs = exits(s);
		const i = outs.findIndex((e) => e.key === key);
		return { x: s.ui.x + portX(outs.length, Math.max(0, i)), y: s.ui.y + nodeHeight(sid) };
	}

	const heights = {};
	function nodeHeight(sid) {
		return heights[sid] || NODE_H;
	}

	function curve(a, b) {
		const dy = Math.max(40, Math.abs(b.y - a.y) / 2);
		if (b.y < a.y + 20) {
			// a loop back up: go out to the side
			const side = Math.max(a.x, b.x) + NODE_W * 0.75;
			return `M${a.x} ${a.y} C${a.x} ${a.y + 60} ${side} ${a.y + 60} ${side} ${(a.y + b.y) / 2} S${b.x} ${b.y - 60} ${b.x} ${b.y}`;
		}
		return `M${a.x} ${a.y} C${a.x} ${a.y + dy} ${b.x} ${b.y - dy} ${b.x} ${b.y}`;
	}

	function edgeList() {
		const out = [];
		if (def.start && def.steps[def.start]) out.push({ from: TRIGGER, key: 'start', to: def.start, label: '' });
		for (const [sid, s] of Object.entries(def.steps)) for (const e of exits(s)) if (e.target && def.steps[e.target]) out.push({ from: sid, key: e.key, to: e.target, label: e.label });
		return out;
	}

	function branchCount(sid, key) {
		const st = stepStats(sid);
		if (!st || !st.branches) return null;
		const b = st.branches;
		const s = def.steps[sid];
		if (key.startsWith('b')) {
			const i = Number(key.slice(1));
			const nx = s.branches[i] && s.branches[i].next;
			return b[String(i)] ?? (nx ? b[nx] : undefined) ?? null;
		}
		return b[key] ?? (s[key] ? b[s[key]] : undefined) ?? null;
	}

	function drawEdges() {
		edgeLayer.replaceChildren();
		labelLayer.replaceChildren();
		for (const e of edgeList()) {
			const a = portPos(e.from, e.key);
			const b = { x: def.steps[e.to].ui.x + NODE_W / 2, y: def.steps[e.to].ui.y - 2 };
			const d = curve(a, b);
			const sel = selEdge && selEdge.from === e.from && selEdge.key === e.key;
			const g = svg('g', { class: 'jb-edge-g' + (sel ? ' is-selected' : ''), 'data-testid': `edge-${e.from === TRIGGER ? 'trigger' : e.from}-${e.key}`, 'data-from': e.from, 'data-key': e.key });
			g.append(svg('path', { d, class: 'jb-edge-hit' }), svg('path', { d, class: 'jb-edge', 'marker-end': sel ? 'url(#jb-arrow-sel)' : 'url(#jb-arrow)' }));
			edgeLayer.append(g);
			const count = branchCount(e.from, e.key);
			if (e.label || sel || count !== null) {
				const mx = (a.x + b.x) / 2;
				const my = b.y < a.y + 20 ? a.y + 34 : a.y + Math.min(34, (b.y - a.y) / 2);
				const lx = e.label ? (a.x * 0.8 + mx * 0.2) : mx;
				const kind = e.key === 'yes' ? 'yes' : e.key === 'no' ? 'no' : e.key.startsWith('b') ? 'split' : '';
				const st = stepStats(e.from);
				const total = st ? st.completed || st.entered || 0 : 0;
				labelLayer.append(h('div', { class: `jb-edge-label ${kind}` + (sel ? ' is-selected' : ''), style: { left: `${lx}px`, top: `${my}px` }, 'data-testid': `edge-label-${e.from === TRIGGER ? 'trigger' : e.from}-${e.key}` },
					e.label ? h('span', { text: e.label }) : null,
					count !== null ? h('span', { class: 'jb-edge-count', 'data-testid': 'branch-count', title: t('journeys.branch_count') }, fmtNumber(count), total ? ` · ${fmtNumber(Math.round((count / total) * 1000) / 10)}%` : '') : null,
					sel && writable ? h('button', { type: 'button', class: 'jb-edge-del', 'aria-label': t('journeys.disconnect'), title: t('journeys.disconnect'), 'data-testid': 'edge-delete', onclick: (ev) => { ev.stopPropagation(); disconnect(e.from, e.key); } }, icon('x', { size: 'sm' })) : null));
			}
		}
	}

	function draw() {
		trig = triggerPos(def, positions());
		const nodes = [triggerEl(), ...Object.keys(def.steps).map(nodeEl)];
		nodeLayer.replaceChildren(...nodes);
		for (const n of nodes) heights[n.dataset.step] = n.offsetHeight || NODE_H;
		drawEdges();
		paintHead();
	}

	function applyView() {
		world.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.k})`;
		zoomLabel.textContent = `${Math.round(view.k * 100)}%`;
		canvas.style.backgroundSize = `${24 * view.k}px ${24 * view.k}px`;
		canvas.style.backgroundPosition = `${view.x}px ${view.y}px`;
	}

	function bounds() {
		const xs = [trig.x, trig.x + NODE_W];
		const ys = [trig.y, trig.y + nodeHeight(TRIGGER)];
		for (const [sid, s] of Object.entries(def.steps)) {
			xs.push(s.ui.x, s.ui.x + NODE_W);
			ys.push(s.ui.y, s.ui.y + nodeHeight(sid) + 40);
		}
		return { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
	}

	/** Show the whole graph; on opening (readable) not below 80%, starting from the top. */
	function fit({ readable = false } = {}) {
		const r = canvas.getBoundingClientRect();
		const b = bounds();
		const pad = 64;
		let k = Math.min(1.1, Math.max(0.3, Math.min((r.width - pad * 2) / (b.x1 - b.x0 || 1), (r.height - pad * 2) / (b.y1 - b.y0 || 1))));
		if (readable) k = Math.min(1, Math.max(0.8, k));
		view.k = k;
		view.x = r.width / 2 - ((b.x0 + b.x1) / 2) * k;
		view.y = Math.max(pad / 2, r.height / 2 - ((b.y0 + b.y1) / 2) * k);
		if ((b.y1 - b.y0) * k > r.height - pad) view.y = pad / 2 - b.y0 * k;
		applyView();
	}

	function centerOn(sid) {
		const s = def.steps[sid];
		if (!s) return;
		const r = canvas.getBoundingClientRect();
		view.x = r.width / 2 - (s.ui.x + NODE_W / 2) * view.k;
		view.y = r.height / 2 - (s.ui.y + NODE_H / 2) * view.k;
		applyView();
	}

	function zoomBy(f, cx, cy) {
		const r = canvas.getBoundingClientRect();
		const px = cx ?? r.width / 2;
		const py = cy ?? r.height / 2;
		const k = Math.min(2, Math.max(0.25, view.k * f));
		view.x = px - ((px - view.x) * k) / view.k;
		view.y = py - ((py - view.y) * k) / view.k;
		view.k = k;
		applyView();
	}

	function toWorld(clientX, clientY) {
		const r = canvas.getBoundingClientRect();
		return { x: (clientX - r.left - view.x) / view.k, y: (clientY - r.top - view.y) / view.k };
	}

	function tidy() {
		const pos = autoLayout(def, { all: true });
		for (const [sid, p] of Object.entries(pos)) def.steps[sid].ui = { ...def.steps[sid].ui, x: p.x, y: p.y };
		trig = triggerPos(def, pos);
		changed(true);
		requestAnimationFrame(fit);
	}

	// ---- editing ----
	const validate = debounce(async () => {
		try {
			const r = await api.post('/journeys/validate', def, { quiet: true, signal: ctx.signal });
			problems = (r && r.problems) || [];
		} catch (e) {
			if (e.name === 'AbortError') return;
			if (e.problems) problems = e.problems;
			else return;
		}
		if (!ctx.alive) return;
		draw();
		paintPanelProblems();
	}, 350);

	/** Something in the definition (or name) changed: mark unsaved, redraw, validate. */
	function changed(redrawPanel = false) {
		dirty = true;
		changeSeq += 1;
		draw();
		if (redrawPanel) paintPanel();
		validate();
		if (j.status === 'draft' && writable) autosave(); // drafts save themselves; live journeys wait for Save (a new version)
	}
	let changeSeq = 0;
	const autosave = debounce(() => { if (dirty && name.trim()) save({ auto: true }); }, 1500);
	ctx.onCleanup(() => { if (dirty && j.status === 'draft' && name.trim()) { autosave.cancel(); save({ auto: true }); } });

	function select(sid, { edge = null } = {}) {
		selected = sid;
		selEdge = edge;
		draw();
		paintPanel();
	}

	function connect(from, key, to) {
		if (from === to) return;
		if (from === TRIGGER) def.start = to;
		else setExit(def.steps[from], key, to);
		selEdge = null;
		changed(true);
	}

	function disconnect(from, key) {
		if (from === TRIGGER) delete def.start;
		else setExit(def.steps[from], key, null);
		selEdge = null;
		changed(true);
	}

	function addStep(type, at, { from, key } = {}) {
		const sid = newId(def.steps, type);
		const step = newStep(type);
		step.ui = { x: Math.round(at.x), y: Math.round(at.y) };
		def.steps[sid] = step;
		if (from) connect(from, key, sid);
		else if (!def.start) def.start = sid;
		selected = sid;
		selEdge = null;
		changed(true);
		return sid;
	}

	/** Add below the selected step, joined to its first free exit (a click on the palette). */
	function addNear(type) {
		const anchor = selected && def.steps[selected] ? selected : null;
		const free = anchor ? exits(def.steps[anchor]).find((e) => !e.target) : null;
		if (anchor && free) {
			const p = portPos(anchor, free.key);
			addStep(type, { x: p.x - NODE_W / 2, y: p.y + 70 }, { from: anchor, key: free.key });
		} else if (!def.start) {
			addStep(type, { x: trig.x, y: trig.y + nodeHeight(TRIGGER) + 70 }, { from: TRIGGER, key: 'start' });
		} else {
			const b = bounds();
			addStep(type, { x: b.x0, y: b.y1 + 40 });
		}
		const s = def.steps[selected];
		const r = canvas.getBoundingClientRect();
		const sx = s.ui.x * view.k + view.x;
		const sy = s.ui.y * view.k + view.y;
		if (sx < 0 || sy < 0 || sx > r.width - 100 || sy > r.height - 100) centerOn(selected);
	}

	async function deleteStep(sid) {
		removeStep(def, sid);
		if (selected === sid) selected = null;
		changed(true);
	}

	// ---- pointer interaction ----
	let drag = null;

	canvas.addEventListener('pointerdown', (ev) => {
		if (ev.button !== 0 || ev.target.closest('.jb-zoom, .jb-edge-del, .jb-addmenu')) return;
		const port = ev.target.closest('.jb-port-out');
		const node = ev.target.closest('.jb-node');
		const edge = ev.target.closest('.jb-edge-g');
		canvas.focus({ preventScroll: true });
		if (port && node && writable) {
			const from = node.dataset.step;
			drag = { kind: 'connect', from, key: port.dataset.port, x0: ev.clientX, y0: ev.clientY, moved: false };
		} else if (node) {
			const sid = node.dataset.step;
			const p = sid === TRIGGER ? trig : def.steps[sid].ui;
			drag = { kind: 'node', sid, node, x0: ev.clientX, y0: ev.clientY, px: p.x, py: p.y, moved: false };
		} else if (edge) {
			select(null, { edge: { from: edge.dataset.from, key: edge.dataset.key } });
			return;
		} else {
			drag = { kind: 'pan', x0: ev.clientX, y0: ev.clientY, vx: view.x, vy: view.y, moved: false };
			canvas.classList.add('is-panning');
		}
		canvas.setPointerCapture(ev.pointerId);
		ev.preventDefault();
	});

	canvas.addEventListener('pointermove', (ev) => {
		if (!drag) return;
		const dx = ev.clientX - drag.x0;
		const dy = ev.clientY - drag.y0;
		if (!drag.moved && Math.hypot(dx, dy) < 4) return;
		drag.moved = true;
		if (drag.kind === 'pan') {
			view.x = drag.vx + dx;
			view.y = drag.vy + dy;
			applyView();
		} else if (drag.kind === 'node' && writable && drag.sid !== TRIGGER) {
			const x = Math.round(drag.px + dx / view.k);
			const y = Math.round(drag.py + dy / view.k);
			def.steps[drag.sid].ui = { ...def.steps[drag.sid].ui, x, y };
			drag.node.style.transform = `translate(${x}px, ${y}px)`;
			if (drag.sid === def.start) {
				trig = triggerPos(def, positions());
				const tn = nodeLayer.querySelector('[data-step="__trigger"]');
				if (tn) tn.style.transform = `translate(${trig.x}px, ${trig.y}px)`;
			}
			drawEdges();
		} else if (drag.kind === 'connect') {
			const a = portPos(drag.from, drag.key);
			const b = toWorld(ev.clientX, ev.clientY);
			tempEdge.setAttribute('d', curve(a, b));
			const over = document.elementFromPoint(ev.clientX, ev.clientY)?.closest('.jb-node');
			for (const n of nodeLayer.querySelectorAll('.is-drop')) if (n !== over) n.classList.remove('is-drop');
			if (over && over.dataset.step !== TRIGGER && over.dataset.step !== drag.from) over.classList.add('is-drop');
		}
	});

	function endDrag(ev) {
		if (!drag) return;
		const d = drag;
		drag = null;
		canvas.classList.remove('is-panning');
		tempEdge.removeAttribute('d');
		if (d.kind === 'pan' && !d.moved) {
			if (selected || selEdge) select(null);
		} else if (d.kind === 'node') {
			if (d.moved && writable && d.sid !== TRIGGER) changed(false);
			else select(d.sid);
		} else if (d.kind === 'connect') {
			const over = ev && document.elementFromPoint(ev.clientX, ev.clientY)?.closest('.jb-node');
			if (!d.moved) addMenu(d.from, d.key);
			else if (over && over.dataset.step !== TRIGGER) connect(d.from, d.key, over.dataset.step);
			else if (ev) addMenu(d.from, d.key, toWorld(ev.clientX, ev.clientY));
		}
	}
	canvas.addEventListener('pointerup', endDrag);
	canvas.addEventListener('pointercancel', () => endDrag(null));

	// focus can scroll an overflow:hidden box; the view is moved by the transform only
	canvas.addEventListener('scroll', () => { canvas.scrollTop = 0; canvas.scrollLeft = 0; });

	canvas.addEventListener('wheel', (ev) => {
		ev.preventDefault();
		const r = canvas.getBoundingClientRect();
		if (ev.ctrlKey || ev.metaKey || Math.abs(ev.deltaY) >= Math.abs(ev.deltaX)) zoomBy(Math.exp(-ev.deltaY * (ev.ctrlKey ? 0.01 : 0.0015)), ev.clientX - r.left, ev.clientY - r.top);
		else { view.x -= ev.deltaX; applyView(); }
	}, { passive: false });

	// keyboard: Tab through the steps, Enter opens one, arrows move the view, + and − zoom
	canvas.addEventListener('keydown', (ev) => {
		const node = ev.target.closest && ev.target.closest('.jb-node');
		if (node && (ev.key === 'Enter' || ev.key === ' ')) {
			ev.preventDefault();
			select(node.dataset.step);
			const again = nodeLayer.querySelector(`[data-step="${CSS.escape(node.dataset.step)}"]`);
			if (again) again.focus({ preventScroll: true });
			return;
		}
		if (ev.target !== canvas && !node) return;
		const pan = { ArrowLeft: [60, 0], ArrowRight: [-60, 0], ArrowUp: [0, 60], ArrowDown: [0, -60] }[ev.key];
		if (pan && ev.target === canvas) { view.x += pan[0]; view.y += pan[1]; applyView(); ev.preventDefault(); return; }
		if (ev.key === '+' || ev.key === '=') { zoomBy(1.2); return; }
		if (ev.key === '-') { zoomBy(1 / 1.2); return; }
		if (!writable) return;
		if (ev.key === 'Delete' || ev.key === 'Backspace') {
			if (selEdge) disconnect(selEdge.from, selEdge.key);
			else if (selected && def.steps[selected]) deleteStep(selected);
			ev.preventDefault();
		} else if (ev.key === 'Escape') select(null);
	});

	/** The little menu of step kinds at a free exit: pick one to add it there, joined. */
	let menuEl = null;
	function closeMenu() {
		if (menuEl) menuEl.remove();
		menuEl = null;
	}
	function addMenu(from, key, at) {
		if (!writable) return;
		closeMenu();
		const p = portPos(from, key);
		const place = at || { x: p.x - NODE_W / 2, y: p.y + 70 };
		const r = canvas.getBoundingClientRect();
		const left = Math.min(Math.max(p.x * view.k + view.x, 180), r.width - 180);
		const below = p.y * view.k + view.y + 8;
		const up = below > r.height - 230;
		menuEl = h('div', { class: 'jb-addmenu', role: 'menu', 'data-testid': 'add-menu', style: { left: `${left}px`, top: up ? 'auto' : `${below}px`, bottom: up ? `${Math.max(8, r.height - below + 24)}px` : 'auto' } },
			h('div', { class: 'popover-title', text: t('journeys.add_here') }),
			Object.entries(KINDS).map(([type, k]) => h('button', { type: 'button', role: 'menuitem', class: `tone-${k.tone}`, 'data-testid': `add-${type}`, onclick: () => { closeMenu(); addStep(type, place, { from, key }); } },
				h('span', { class: 'jb-ic' }, icon(k.icon, { size: 'sm' })), t(`journeys.kind_${type}`))));
		canvas.append(menuEl);
		menuEl.querySelector('button').focus({ preventScroll: true });
		menuEl.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { closeMenu(); canvas.focus(); } });
	}
	const docDown = (ev) => { if (menuEl && !menuEl.contains(ev.target)) closeMenu(); };
	document.addEventListener('pointerdown', docDown, true);
	ctx.onCleanup(() => document.removeEventListener('pointerdown', docDown, true));

	// palette: drag onto the canvas, or click to add after the selected step
	palette.addEventListener('pointerdown', (ev) => {
		const item = ev.target.closest('.jb-pal-item');
		if (!item || item.disabled || ev.button !== 0) return;
		ev.preventDefault();
		const type = item.dataset.type;
		const k = KINDS[type];
		let ghost = null;
		const x0 = ev.clientX;
		const y0 = ev.clientY;
		const move = (e) => {
			if (!ghost && Math.hypot(e.clientX - x0, e.clientY - y0) < 4) return;
			if (!ghost) {
				ghost = h('div', { class: `jb-ghost tone-${k.tone}` }, h('span', { class: 'jb-ic' }, icon(k.icon, { size: 'sm' })), t(`journeys.kind_${type}`));
				document.body.append(ghost);
			}
			ghost.style.transform = `translate(${e.clientX - 20}px, ${e.clientY - 18}px)`;
			const r = canvas.getBoundingClientRect();
			canvas.classList.toggle('is-dropping', e.clientX > r.left && e.clientX < r.right && e.clientY > r.top && e.clientY < r.bottom);
		};
		const up = (e) => {
			document.removeEventListener('pointermove', move);
			document.removeEventListener('pointerup', up);
			canvas.classList.remove('is-dropping');
			if (!ghost) { addNear(type); return; }
			ghost.remove();
			const r = canvas.getBoundingClientRect();
			if (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom) return;
			const w = toWorld(e.clientX, e.clientY);
			// dropped onto a free exit's "+": join it there
			const port = document.elementFromPoint(e.clientX, e.clientY)?.closest('.jb-port-out.is-free');
			const node = port && port.closest('.jb-node');
			if (node) addStep(type, { x: w.x - NODE_W / 2, y: w.y + 50 }, { from: node.dataset.step, key: port.dataset.port });
			else addStep(type, { x: w.x - 20, y: w.y - 18 });
		};
		document.addEventListener('pointermove', move);
		document.addEventListener('pointerup', up);
	});

	// ---- the side panel ----
	const problemBox = h('div', { 'data-testid': 'panel-problems' });
	function paintPanelProblems() {
		const list = selected && selected !== '__settings' ? problems.filter((p) => p.step === selected || (selected === TRIGGER && !p.step && /^triggers/.test(p.field || ''))) : selected === '__settings' ? problems.filter((p) => /^settings/.test(p.field || '')) : problems;
		mount(problemBox, list.length ? h('div', { class: 'callout callout-danger jb-panel-problems' }, icon('alertCircle'),
			h('ul', null, list.map((p) => h('li', null, p.step && !selected ? h('button', { type: 'button', class: 'linkish', onclick: () => { select(p.step); centerOn(p.step); }, text: def.steps[p.step]?.label || p.step }) : null, p.step && !selected ? ': ' : '', h('span', { text: p.message }), p.field ? h('code', { class: 'xsmall', text: ` ${p.field}` }) : null)))) : null);
	}

	function paintPanel() {
		const onChange = () => changed(false);
		let body;
		if (selected === TRIGGER) {
			body = [h('div', { class: 'jb-panel-head' }, h('span', { class: 'jb-ic tone-amber' }, icon('sparkles', { size: 'sm' })), h('h2', { text: t('journeys.triggers') })),
				h('p', { class: 'muted small', text: t('journeys.triggers_help') }),
				problemBox,
				triggersEditor(def, refs, () => { onChange(); }, writable)];
		} else if (selected === '__settings') {
			body = [h('div', { class: 'jb-panel-head' }, h('span', { class: 'jb-ic' }, icon('settings', { size: 'sm' })), h('h2', { text: t('journeys.settings') })),
				problemBox,
				settingsEditor(def, refs, onChange, writable)];
		} else if (selected && def.steps[selected]) {
			const sid = selected;
			const s = def.steps[sid];
			const k = KINDS[s.type];
			const label = h('input', { class: 'input', value: s.label || '', placeholder: summary(s, refs), 'data-testid': 'step-label', maxlength: 120, readOnly: !writable });
			label.addEventListener('input', () => { if (label.value.trim()) s.label = label.value; else delete s.label; onChange(); });
			const idInput = h('input', { class: 'input mono input-sm', value: sid, 'data-testid': 'step-id', pattern: '[A-Za-z0-9_-]+', readOnly: !writable });
			idInput.addEventListener('change', () => {
				const v = idInput.value.trim();
				if (!/^[A-Za-z0-9_-]{1,64}$/.test(v) || !renameStep(def, sid, v)) { idInput.value = sid; toast({ kind: 'error', title: t('journeys.bad_id') }); return; }
				selected = v;
				changed(true);
			});
			const st = stepStats(sid);
			const outs = exits(s);
			const options = (cur) => [h('option', { value: '' }, t('journeys.not_connected')),
				Object.entries(def.steps).filter(([oid]) => oid !== sid).map(([oid, o]) => h('option', { value: oid, selected: oid === cur }, `${o.label || t(`journeys.kind_${o.type}`)} (${oid})`))];
			body = [
				h('div', { class: `jb-panel-head tone-${k.tone}` }, h('span', { class: 'jb-ic' }, icon(k.icon, { size: 'sm' })), h('h2', { 'data-testid': 'panel-kind', text: t(`journeys.kind_${s.type}`) }),
					writable ? h('button', { type: 'button', class: 'btn btn-sm btn-danger-ghost', 'data-testid': 'step-delete', onclick: () => deleteStep(sid) }, icon('trash', { size: 'sm' }), t('common.delete')) : null),
				h('p', { class: 'muted small', text: t(`journeys.kind_desc_${s.type}`) }),
				problemBox,
				st ? h('div', { class: 'jb-panel-stats' },
					['entered', 'waiting', 'completed', 'exited'].map((x) => h('div', { class: 'stat' }, h('span', { class: 'label', text: t(`journeys.stat_${x}`) }), h('strong', { text: fmtNumber(st[x] || 0) })))) : null,
				h('div', { class: 'field' }, h('label', { text: t('journeys.step_label') }), label),
				stepFields(s, refs, onChange, writable),
				outs.length ? h('div', { class: 'jb-exits' }, h('div', { class: 'label', text: outs.length > 1 ? t('journeys.exits') : t('journeys.then') }),
					outs.map((e) => {
						const sel = h('select', { class: 'select input-sm', 'data-testid': `exit-${e.key}`, disabled: !writable }, options(e.target));
						sel.addEventListener('change', () => (sel.value ? connect(sid, e.key, sel.value) : disconnect(sid, e.key)));
						return h('div', { class: 'jb-exit' }, e.label ? h('span', { class: `jb-exit-label ${e.key}`, text: e.label }) : null, sel);
					})) : null,
				h('details', { class: 'jb-advanced' }, h('summary', { text: t('journeys.advanced') }),
					h('div', { class: 'field' }, h('label', { text: t('journeys.step_id') }), idInput, h('div', { class: 'hint', text: t('journeys.step_id_hint') })),
					writable && def.start !== sid ? h('button', { type: 'button', class: 'btn btn-sm', onclick: () => { def.start = sid; changed(true); } }, t('journeys.make_start')) : null),
			];
		} else {
			const desc = h('textarea', { class: 'textarea', rows: 3, 'data-testid': 'journey-description', readOnly: !writable, placeholder: t('journeys.description_ph') });
			desc.value = description;
			desc.addEventListener('input', () => { description = desc.value; changed(false); });
			const total = Object.keys(def.steps).length;
			body = [h('div', { class: 'jb-panel-head' }, h('span', { class: 'jb-ic' }, icon('journeys', { size: 'sm' })), h('h2', { text: t('journeys.overview') })),
				problemBox,
				h('div', { class: 'field' }, h('label', { text: t('journeys.description') }), desc),
				h('dl', { class: 'props jb-props' },
					h('dt', { text: t('journeys.col_status') }), h('dd', null, statusBadge(j.status)),
					h('dt', { text: t('journeys.steps_count') }), h('dd', { text: fmtNumber(total) }),
					h('dt', { text: t('journeys.col_updated') }), h('dd', { text: fmtDateTime(j.updated_at) }),
					j.activated_at ? [h('dt', { text: t('journeys.activated_at') }), h('dd', { text: fmtDateTime(j.activated_at) })] : null),
				h('div', { class: 'jb-tips' }, h('strong', { text: t('journeys.tips_title') }), h('ul', null, [1, 2, 3, 4].map((n) => h('li', { text: t(`journeys.tip_${n}`) })))),
				writable ? h('div', { class: 'row' }, h('button', { type: 'button', class: 'btn btn-sm', onclick: () => select(TRIGGER) }, icon('sparkles', { size: 'sm' }), t('journeys.edit_triggers')), h('button', { type: 'button', class: 'btn btn-sm', onclick: () => select('__settings') }, icon('settings', { size: 'sm' }), t('journeys.settings'))) : null];
		}
		mount(panel, body);
		paintPanelProblems();
	}

	// ---- saving and running ----
	let saving = null;
	async function save({ quietOk = false, auto = false } = {}) {
		if (!name.trim()) {
			if (!auto) { nameInput.focus(); toast({ kind: 'error', title: t('journeys.name_required') }); }
			return false;
		}
		if (saving) {
			await saving;
			if (!dirty) return true;
		}
		const seq = changeSeq;
		saveBtn.disabled = true;
		saveState.textContent = t('journeys.saving');
		saving = (async () => {
			try {
				j = await api.patch(`/journeys/${id}`, { name: name.trim(), description, definition: def }, { quiet: true });
				dirty = changeSeq !== seq; // edits made while saving are still to save
				if (Array.isArray(j.problems)) problems = j.problems;
				if (!ctx.alive) return true;
				ctx.setCrumbs([back, { label: j.name }]);
				if (!quietOk && !auto) toast(t('journeys.saved'));
				draw();
				if (auto) paintPanelProblems(); // never rebuild the panel under the user's typing
				else paintPanel();
				return true;
			} catch (e) {
				showProblems(e, t('journeys.save_failed'));
				return false;
			} finally {
				saving = null;
				if (ctx.alive) paintHead();
			}
		})();
		return saving;
	}

	// leaving through a link with unsaved edits of a live journey asks first
	const guard = async (ev) => {
		const a = ev.target.closest && ev.target.closest('a[href]');
		if (!a || !dirty || j.status === 'draft' || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey) return;
		const url = new URL(a.href, location.href);
		if (url.origin !== location.origin || a.target) return;
		ev.preventDefault();
		ev.stopPropagation();
		if (await confirmDialog({ title: t('journeys.leave_title'), message: t('journeys.leave_text'), confirmLabel: t('journeys.leave_ok'), testid: 'leave-dialog' })) {
			dirty = false;
			ctx.navigate(url.pathname + url.search);
		}
	};
	document.addEventListener('click', guard, true);
	ctx.onCleanup(() => document.removeEventListener('click', guard, true));

	function showProblems(e, title) {
		if (e.problems && e.problems.length) {
			problems = e.problems;
			draw();
			paintPanelProblems();
			const first = problems.find((p) => p.step && def.steps[p.step]);
			toast({ kind: 'error', title, detail: first ? `${first.step}: ${first.message}` : problems[0].message });
		} else toast({ kind: 'error', title, detail: errorMessage(e) });
	}

	async function activate() {
		if (dirty && !(await save({ quietOk: true }))) return;
		if (j.status === 'draft' && !(await confirmDialog({ title: t('journeys.activate_title'), message: t('journeys.activate_text'), confirmLabel: t('journeys.activate'), danger: false, testid: 'activate-dialog' }))) return;
		await transition('activate');
	}

	async function transition(what) {
		runBtn.disabled = true;
		try {
			const r = await api.post(`/journeys/${id}/${what}`, {}, { quiet: true });
			j = r && r.id ? r : await api.get(`/journeys/${id}`);
			toast(t(`journeys.done_${what}`));
			problems = [];
			draw();
			paintPanel();
			pollStats();
		} catch (e) {
			showProblems(e, t(`journeys.failed_${what}`));
		} finally {
			runBtn.disabled = false;
			paintHead();
		}
	}

	/** The versions of a live journey, who is on each, and moving people to the newest. */
	async function versionsDialog() {
		let r;
		try {
			r = await api.get(`/journeys/${id}/versions`, null, { quiet: true });
		} catch (e) {
			toast({ kind: 'error', title: errorMessage(e) });
			return;
		}
		const body = h('div', { class: 'stack-sm' });
		const current = j.version;
		const curSteps = def.steps;
		const row = (v) => {
			const old = v.version !== current;
			const box = h('div', { class: 'jb-version-row', 'data-testid': `version-${v.version}` },
				h('div', { class: 'row' },
					h('strong', { text: t('journeys.version_n', { n: v.version }) }),
					old ? null : h('span', { class: 'badge badge-primary', text: t('journeys.version_current') }),
					h('span', { class: 'muted xsmall grow', text: fmtDateTime(v.created_at) }),
					h('span', { class: 'small', text: t('journeys.version_counts', { enrolled: fmtNumber(v.enrolled || 0), active: fmtNumber(v.active || 0) }) }),
					old && v.active && writable ? h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': `migrate-${v.version}`, onclick: () => mappingForm(v, box) }, icon('arrowRight', { size: 'sm' }), t('journeys.migrate_to', { n: current })) : null));
			return box;
		};
		function mappingForm(v, box) {
			const oldSteps = (v.definition && v.definition.steps) || {};
			const missing = Object.keys(oldSteps).filter((sid) => !curSteps[sid]);
			const selects = {};
			const form = h('div', { class: 'jb-mapping stack-sm' },
				h('p', { class: 'muted small', text: missing.length ? t('journeys.migrate_help') : t('journeys.migrate_same') }),
				missing.map((sid) => {
					const sel = h('select', { class: 'select input-sm', 'data-testid': `map-${sid}` }, h('option', { value: '' }, t('journeys.map_pick')),
						Object.entries(curSteps).map(([nid, st]) => h('option', { value: nid }, `${st.label || t(`journeys.kind_${st.type}`)} (${nid})`)));
					selects[sid] = sel;
					return h('div', { class: 'jb-exit' }, h('span', { class: 'mono xsmall jb-map-from', text: `${oldSteps[sid].label || sid}` }), icon('arrowRight', { size: 'sm' }), sel);
				}),
				h('div', { class: 'row' }, h('button', { type: 'button', class: 'btn btn-primary btn-sm', 'data-testid': 'migrate-submit', onclick: async () => {
					const mapping = {};
					for (const [sid, sel] of Object.entries(selects)) if (sel.value) mapping[sid] = sel.value;
					try {
						const res = await api.post(`/journeys/${id}/migrate`, { from_version: v.version, mapping }, { quiet: true });
						toast(t('journeys.migrated', { n: res.moved || 0, v: res.to_version || current }));
						versionsClose(null);
						pollStats();
					} catch (e) {
						const sid = e.field && e.field.startsWith('mapping.') ? e.field.slice(8) : null;
						if (sid && selects[sid]) selects[sid].setAttribute('aria-invalid', 'true');
						toast({ kind: 'error', title: t('journeys.migrate_failed'), detail: errorMessage(e) });
					}
				} }, t('journeys.migrate_go'))));
			box.append(form);
		}
		mount(body, (r.data || []).map(row));
		const { close: versionsClose } = openDialog({ title: t('journeys.versions'), icon: 'clock', testid: 'versions-dialog', wide: true, body: [h('p', { class: 'muted small', text: t('journeys.versions_help') }), body],
			actions: (close) => [h('button', { type: 'button', class: 'btn', onclick: () => close(null) }, t('common.done'))] });
	}

	/** Enrol people by hand (any active journey takes them, whatever its triggers). */
	function enrolDialog() {
		const q = h('input', { class: 'input', type: 'text', placeholder: t('journeys.enrol_search'), 'data-testid': 'enrol-search', autocomplete: 'off' });
		const list = h('ul', { class: 'jb-enrol-list', 'data-testid': 'enrol-results' });
		const search = debounce(async () => {
			const v = q.value.trim();
			if (!v) { mount(list); return; }
			try {
				const r = await api.get('/contacts', { q: v, limit: 8 }, { quiet: true });
				mount(list, r.data.length ? r.data.map((c) => h('li', null,
					h('div', null, h('strong', { text: contactName(c) }), h('div', { class: 'muted xsmall', text: c.email || '' })),
					h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'enrol-one', onclick: async (ev) => {
						const b = ev.currentTarget;
						b.disabled = true;
						try {
							const res = await api.post(`/journeys/${id}/enroll`, { contact_id: c.id }, { quiet: true });
							if (res && res.enrolled) { mount(b, icon('check', { size: 'sm' }), t('journeys.enrolled_one')); pollStats(); }
							else { mount(b, t('journeys.enrol_skipped')); b.title = t('journeys.enrol_skipped_hint'); }
						} catch (e) {
							b.disabled = false;
							toast({ kind: 'error', title: t('journeys.enrol_failed'), detail: errorMessage(e) });
						}
					} }, icon('userPlus', { size: 'sm' }), t('journeys.enrol_one'))))
					: h('li', { class: 'muted small', text: t('journeys.enrol_none') }));
			} catch (e) {
				mount(list, h('li', { class: 'muted small', text: errorMessage(e) }));
			}
		}, 250);
		q.addEventListener('input', search);
		openDialog({
			title: t('journeys.enrol_title', { name }),
			icon: 'userPlus',
			testid: 'enrol-dialog',
			body: [h('p', { class: 'muted small', text: t('journeys.enrol_help') }), q, list],
			actions: (close) => [h('button', { type: 'button', class: 'btn', onclick: () => close(null) }, t('common.done'))],
		});
	}

	// ---- stats ----
	let timer = null;
	async function pollStats() {
		clearTimeout(timer);
		if (!ctx.alive || j.status === 'draft') return;
		try {
			stats = await api.get(`/journeys/${id}/stats`, null, { quiet: true, signal: ctx.signal });
		} catch (e) {
			if (e.name === 'AbortError') return;
		}
		if (!ctx.alive) return;
		paintStats();
		if (!drag) draw();
		if (j.status === 'active') timer = setTimeout(pollStats, document.hidden ? STATS_MS * 4 : STATS_MS);
	}
	ctx.onCleanup(() => clearTimeout(timer));

	function paintStats() {
		statBar.hidden = !stats;
		if (!stats) return;
		const conv = stats.conversion_rate;
		const item = (k, v, tid) => h('div', { class: 'jb-stat' }, h('span', { text: t(`journeys.stat_${k}`) }), h('strong', { 'data-testid': tid, text: v }));
		mount(statBar,
			j.status === 'active' ? h('span', { class: 'live' }, h('span', { class: 'live-dot' }), t('journeys.live')) : null,
			item('enrolled', fmtNumber(stats.enrolled || 0), 'stat-enrolled'),
			item('active', fmtNumber(stats.active || 0), 'stat-active'),
			item('completed', fmtNumber(stats.completed || 0), 'stat-completed'),
			item('exited', fmtNumber(stats.exited || 0), 'stat-exited'),
			item('goal_reached', fmtNumber(stats.goal_reached || 0), 'stat-goal'),
			item('conversion', conv === null || conv === undefined ? '—' : `${fmtNumber(Math.round(conv * 1000) / 10)}%`, 'stat-conversion'));
	}

	// leaving with unsaved changes
	const beforeUnload = (ev) => { if (dirty) { ev.preventDefault(); ev.returnValue = ''; } };
	window.addEventListener('beforeunload', beforeUnload);
	ctx.onCleanup(() => window.removeEventListener('beforeunload', beforeUnload));

	draw();
	paintPanel();
	requestAnimationFrame(() => { draw(); fit({ readable: true }); });
	validate();
	pollStats();
}
