// dom.js — build DOM without innerHTML (so record values can never become markup), and the icon set.

/**
 * h('button', {class: 'btn', onclick: fn, 'data-testid': 'x'}, 'text', child, [more])
 * Props: class, text, style (object), dataset-style 'data-*' and 'aria-*' attributes,
 * on<event> listeners, boolean properties (disabled, checked, hidden, ...), anything
 * else as an attribute. Children: nodes, strings, numbers, arrays; null/false skipped.
 */
export function h(tag, props, ...children) {
	const el = document.createElement(tag);
	if (props) setProps(el, props);
	append(el, children);
	return el;
}

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'readOnly', 'required', 'multiple', 'indeterminate', 'open']);

function setProps(el, props) {
	for (const [k, v] of Object.entries(props)) {
		if (v === undefined || v === null || v === false) {
			if (PROPS.has(k)) el[k] = false;
			continue;
		}
		if (k === 'class') el.className = v;
		else if (k === 'text') el.textContent = v;
		else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
		else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
		else if (PROPS.has(k)) el[k] = v;
		else if (k === 'ref' && typeof v === 'function') v(el);
		else el.setAttribute(k, v === true ? '' : String(v));
	}
}

export function append(el, children) {
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined || c === false || c === true) continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return el;
}

/** Replace all children of el. */
export function mount(el, ...children) {
	el.replaceChildren();
	return append(el, children);
}

// Icons: 24×24 stroke paths drawn for Kizuna (constant strings, never user data).
const ICONS = {
	dashboard: '<rect x="3" y="3" width="7" height="9" rx="1.5"/><rect x="14" y="3" width="7" height="5" rx="1.5"/><rect x="14" y="12" width="7" height="9" rx="1.5"/><rect x="3" y="16" width="7" height="5" rx="1.5"/>',
	contacts: '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20c.6-3.6 3.2-5.5 6.5-5.5s5.9 1.9 6.5 5.5"/><path d="M16 4.7a3.5 3.5 0 0 1 0 6.6M18 14.8c2 .7 3.2 2.4 3.5 5.2"/>',
	companies: '<path d="M4 21V5a2 2 0 0 1 2-2h8a2 2 0 0 1 2 2v16"/><path d="M16 9h2a2 2 0 0 1 2 2v10"/><path d="M2.5 21h19"/><path d="M8 7h4M8 11h4M8 15h4"/>',
	segments: '<path d="M21 12a9 9 0 1 1-9-9v9z"/><path d="M15 3.5A9 9 0 0 1 20.5 9H15z"/>',
	emails: '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="m3.5 6.5 8.5 6.5 8.5-6.5"/>',
	journeys: '<circle cx="6" cy="5" r="2.2"/><circle cx="6" cy="19" r="2.2"/><circle cx="18" cy="12" r="2.2"/><path d="M6 7.2v9.6M8 5.5c5 .5 7.5 2.5 8 4.6M8 18.5c5-.5 7.5-2.5 8-4.6"/>',
	forms: '<rect x="5" y="3" width="14" height="18" rx="2"/><path d="M9 8h6M9 12h6M9 16h3"/>',
	reports: '<path d="M4 20V10M10 20V4M16 20v-7M21 20H3"/>',
	settings: '<path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0"/><circle cx="16" cy="6" r="2"/><circle cx="10" cy="12" r="2"/><circle cx="18" cy="18" r="2"/>',
	search: '<circle cx="11" cy="11" r="6.5"/><path d="m16 16 4.5 4.5"/>',
	plus: '<path d="M12 5v14M5 12h14"/>',
	upload: '<path d="M12 15V4M7.5 8.5 12 4l4.5 4.5"/><path d="M4 15v3a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-3"/>',
	download: '<path d="M12 4v11M7.5 10.5 12 15l4.5-4.5"/><path d="M4 15v3a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-3"/>',
	x: '<path d="M6 6l12 12M18 6 6 18"/>',
	check: '<path d="m5 12.5 4.5 4.5L19 7.5"/>',
	checkCircle: '<circle cx="12" cy="12" r="9"/><path d="m8 12.5 3 3 5-6"/>',
	chevronDown: '<path d="m6 9 6 6 6-6"/>',
	chevronUp: '<path d="m6 15 6-6 6 6"/>',
	chevronRight: '<path d="m9 6 6 6-6 6"/>',
	chevronLeft: '<path d="m15 6-6 6 6 6"/>',
	sort: '<path d="m8 9 4-4 4 4M8 15l4 4 4-4"/>',
	sortUp: '<path d="M12 19V5M6 11l6-6 6 6"/>',
	sortDown: '<path d="M12 5v14M6 13l6 6 6-6"/>',
	arrowLeft: '<path d="M19 12H5M11 6l-6 6 6 6"/>',
	arrowRight: '<path d="M5 12h14M13 6l6 6-6 6"/>',
	trash: '<path d="M4 7h16M10 11v6M14 11v6"/><path d="M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4.5A1.5 1.5 0 0 1 10.5 3h3A1.5 1.5 0 0 1 15 4.5V7"/>',
	tag: '<path d="M3 12V4a1 1 0 0 1 1-1h8l9 9-9 9z"/><circle cx="8" cy="8" r="1.5"/>',
	user: '<circle cx="12" cy="8" r="4"/><path d="M4 21c.8-4.2 4-6.5 8-6.5s7.2 2.3 8 6.5"/>',
	userPlus: '<circle cx="10" cy="8" r="4"/><path d="M2.5 21c.8-4.2 3.8-6.5 7.5-6.5 1.6 0 3 .4 4.2 1.1M19 14v6M16 17h6"/>',
	key: '<circle cx="8" cy="15" r="4.5"/><path d="m11.5 11.5 8.5-8.5M17 6l3 3M15 8l2 2"/>',
	copy: '<rect x="8" y="8" width="12" height="12" rx="2"/><path d="M16 8V6a2 2 0 0 0-2-2H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h2"/>',
	logout: '<path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l5-5-5-5M15 12H4"/>',
	globe: '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c2.5 2.5 3.8 5.5 3.8 9s-1.3 6.5-3.8 9c-2.5-2.5-3.8-5.5-3.8-9S9.5 5.5 12 3z"/>',
	columns: '<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M9 4v16M15 4v16"/>',
	clock: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
	alert: '<path d="M12 3.5 2.5 20h19z"/><path d="M12 10v4.5M12 17.5v.01"/>',
	alertCircle: '<circle cx="12" cy="12" r="9"/><path d="M12 7.5v5.5M12 16.5v.01"/>',
	info: '<circle cx="12" cy="12" r="9"/><path d="M12 11v5.5M12 7.5v.01"/>',
	sparkles: '<path d="M12 3v4M12 17v4M3 12h4M17 12h4M6 6l2.5 2.5M15.5 15.5 18 18M6 18l2.5-2.5M15.5 8.5 18 6"/>',
	layers: '<path d="m12 3 9 5-9 5-9-5 9-5z"/><path d="m3 13 9 5 9-5"/>',
	edit: '<path d="M4 20h4L19 9a2.8 2.8 0 0 0-4-4L4 16z"/><path d="m13.5 6.5 4 4"/>',
	file: '<path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z"/><path d="M14 3v5h5M9 13h6M9 17h4"/>',
	lock: '<rect x="5" y="11" width="14" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/>',
	mail: '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="m3.5 6.5 8.5 6.5 8.5-6.5"/>',
	phone: '<path d="M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2"/>',
	link: '<path d="M10 14a4.5 4.5 0 0 0 6.4 0l3-3a4.5 4.5 0 0 0-6.4-6.4l-1 1"/><path d="M14 10a4.5 4.5 0 0 0-6.4 0l-3 3a4.5 4.5 0 0 0 6.4 6.4l1-1"/>',
	activity: '<path d="M3 12h4l3-8 4 16 3-8h4"/>',
	fields: '<rect x="3" y="4" width="18" height="6" rx="1.5"/><rect x="3" y="14" width="18" height="6" rx="1.5"/><path d="M7 7h5M7 17h3"/>',
	book: '<path d="M4 5.5A2.5 2.5 0 0 1 6.5 3H20v15H6.5A2.5 2.5 0 0 0 4 20.5z"/><path d="M4 20.5A2.5 2.5 0 0 0 6.5 23H20v-5"/>',
	more: '<circle cx="5" cy="12" r="1"/><circle cx="12" cy="12" r="1"/><circle cx="19" cy="12" r="1"/>',
	filter: '<path d="M3 5h18l-7 8.5V20l-4-2v-4.5z"/>',
	shield: '<path d="M12 3 4 6v6c0 4.5 3.4 8 8 9 4.6-1 8-4.5 8-9V6z"/><path d="m8.5 12 2.5 2.5 4.5-5"/>',
	refresh: '<path d="M20 11a8 8 0 0 0-14.5-4.5L4 8M4 4v4h4M4 13a8 8 0 0 0 14.5 4.5L20 16M20 20v-4h-4"/>',
};

/** An <svg> icon; decorative (aria-hidden) unless a label is given. */
export function icon(name, { size, label, cls } = {}) {
	const ns = 'http://www.w3.org/2000/svg';
	const svg = document.createElementNS(ns, 'svg');
	svg.setAttribute('viewBox', '0 0 24 24');
	svg.setAttribute('class', 'icon' + (size ? ' icon-' + size : '') + (cls ? ' ' + cls : ''));
	if (label) {
		svg.setAttribute('role', 'img');
		svg.setAttribute('aria-label', label);
	} else {
		svg.setAttribute('aria-hidden', 'true');
	}
	svg.innerHTML = ICONS[name] || ICONS.info; // trusted constants only
	return svg;
}

/** Debounce fn by ms; the returned function has .cancel(). */
export function debounce(fn, ms) {
	let timer;
	const d = (...args) => {
		clearTimeout(timer);
		timer = setTimeout(() => fn(...args), ms);
	};
	d.cancel = () => clearTimeout(timer);
	return d;
}

/** Unique ids for label/for pairs. */
let seq = 0;
export function uid(prefix = 'kz') {
	seq += 1;
	return `${prefix}-${seq}`;
}
