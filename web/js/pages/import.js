// import.js — the CSV import wizard: choose a file (UTF-8 or Shift_JIS), preview, map columns,
// run (the original bytes go to POST /contacts/import with ?map=), and see what happened.
import { request, errorMessage } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtNumber } from '../i18n.js';
import { decode, parse, write, split } from '../csv.js';
import { guess, cleanHeader, TARGETS } from '../import-map.js';
import { can, loadFields } from '../state.js';
import { pageHead, emptyState, toast, downloadText } from '../ui.js';

const PART_BYTES = 1 << 20; // upload in parts of ~1 MiB: visible progress, and well under any body limit
const PREVIEW_ROWS = 5;

function fmtSize(n) {
	if (n < 1024) return t('import.bytes', { n });
	if (n < 1024 * 1024) return `${fmtNumber(n / 1024, { maximumFractionDigits: 1 })} KB`;
	return `${fmtNumber(n / 1024 / 1024, { maximumFractionDigits: 1 })} MB`;
}

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.contacts'), href: '/contacts' }, { label: t('import.title') }]);
	if (!can('write_contacts')) {
		mount(ctx.root, pageHead({ title: t('import.title') }), h('div', { class: 'card' }, emptyState({ iconName: 'lock', title: t('import.no_permission'), text: t('import.no_permission_text') })));
		return;
	}
	const fields = await loadFields().catch(() => []);
	if (!ctx.alive) return;

	const wiz = {
		step: 1,
		file: null,
		bytes: null,
		charset: null,
		detected: null,
		parsed: null,
		mapping: [],
		guessed: [],
		result: null,
		running: false,
	};
	const stepsEl = h('ol', { class: 'steps', 'aria-label': t('import.steps') });
	const body = h('div', { class: 'card' });
	mount(ctx.root, pageHead({ title: t('import.title'), desc: t('import.desc'), testid: 'import-title' }), stepsEl, body);

	const leaveGuard = (e) => {
		if (wiz.running) {
			e.preventDefault();
			e.returnValue = '';
		}
	};
	window.addEventListener('beforeunload', leaveGuard);
	ctx.onCleanup(() => window.removeEventListener('beforeunload', leaveGuard));

	function renderSteps() {
		const names = [t('import.step_upload'), t('import.step_map'), t('import.step_run'), t('import.step_result')];
		mount(stepsEl, names.map((n, i) => h('li', { class: i + 1 < wiz.step ? 'done' : '', 'aria-current': i + 1 === wiz.step ? 'step' : null, 'data-testid': `import-stepper-${i + 1}` },
			h('span', { class: 'n' }, i + 1 < wiz.step ? icon('check', { size: 'sm' }) : String(i + 1)), n)));
	}

	function go(step, initial) {
		wiz.step = step;
		renderSteps();
		[null, stepUpload, stepMap, stepRun, stepResult][step]();
		// move focus to the new step's heading so keyboard and screen-reader users follow along
		const h2 = body.querySelector('h2');
		if (h2 && !initial) h2.focus();
	}

	// ---- step 1: choose a file ----
	function stepUpload() {
		const input = h('input', { type: 'file', accept: '.csv,.tsv,.txt,text/csv', class: 'sr-only', id: 'import-file', 'data-testid': 'import-file-input', tabindex: '-1' });
		const choose = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'import-choose', onclick: () => input.click() }, icon('upload'), t('import.choose'));
		const error = h('div', { class: 'callout callout-danger', hidden: true, role: 'alert', 'data-testid': 'import-file-error' });
		const zone = h('div', { class: 'dropzone', 'data-testid': 'import-dropzone' },
			h('div', { class: 'empty-icon' }, icon('file')),
			h('h2', { tabindex: '-1', text: t('import.drop_title') }),
			h('p', { text: t('import.drop_text') }),
			h('div', { class: 'row' }, choose, h('label', { for: 'import-file', class: 'sr-only' }, t('import.choose'))),
			input);
		const accept = async (file) => {
			error.hidden = true;
			if (!file) return;
			if (file.size === 0) {
				mount(error, icon('alertCircle'), h('span', { text: t('import.empty_file') }));
				error.hidden = false;
				return;
			}
			try {
				wiz.file = file;
				wiz.bytes = new Uint8Array(await file.arrayBuffer());
				wiz.charset = null;
				readFile();
				if (!wiz.parsed.header.length) throw new Error(t('import.no_header'));
				go(2);
			} catch (e) {
				mount(error, icon('alertCircle'), h('span', { text: e.message }));
				error.hidden = false;
			}
		};
		input.addEventListener('change', () => accept(input.files[0]));
		zone.addEventListener('dragover', (e) => {
			e.preventDefault();
			zone.classList.add('over');
		});
		zone.addEventListener('dragleave', () => zone.classList.remove('over'));
		zone.addEventListener('drop', (e) => {
			e.preventDefault();
			zone.classList.remove('over');
			accept(e.dataTransfer.files[0]);
		});
		mount(body, h('div', { class: 'card-body stack', 'data-testid': 'import-step-upload' },
			zone, error,
			h('div', { class: 'callout' }, icon('info'), h('div', { class: 'stack-sm' },
				h('strong', { text: t('import.tips_title') }),
				h('span', { text: t('import.tip_encoding') }),
				h('span', { text: t('import.tip_header') }),
				h('span', { text: t('import.tip_match') }),
				h('span', null, h('button', { type: 'button', class: 'linkish', 'data-testid': 'import-sample', onclick: sample }, t('import.sample')))))));
	}

	function sample() {
		downloadText(t('import.sample_name'), write([
			['姓', '名', 'セイ', 'メイ', 'メールアドレス', '電話番号', '会社名', 'タグ'],
			['山田', '太郎', 'ヤマダ', 'タロウ', 'taro.yamada@example.co.jp', '090-1234-5678', '株式会社サンプル', 'セミナー2026;資料DL'],
			['佐藤', '花子', 'サトウ', 'ハナコ', 'hanako.sato@example.jp', '03-1234-5678', 'サンプル商事', '展示会'],
		]));
	}

	function readFile() {
		const d = decode(wiz.bytes, wiz.charset);
		if (!wiz.charset) wiz.detected = d.charset;
		wiz.charset = d.charset;
		wiz.parsed = parse(d.text);
		wiz.guessed = wiz.parsed.header.map((hd) => guess(hd, fields));
		wiz.mapping = wiz.guessed.slice();
	}

	// ---- step 2: preview and map ----
	function targetLabel(tg) {
		if (tg === 'ignore') return t('import.t_ignore');
		if (tg.startsWith('fields.')) {
			const d = fields.find((f) => `fields.${f.key}` === tg);
			return d ? d.label : tg;
		}
		return t(`import.t_${tg}`);
	}

	function stepMap() {
		const { header, records } = wiz.parsed;
		const enc = h('select', { class: 'select input-sm', id: 'import-encoding', style: { width: 'auto' }, 'data-testid': 'import-encoding' },
			h('option', { value: 'utf-8', selected: wiz.charset === 'utf-8' }, t('import.enc_utf8')),
			h('option', { value: 'shift_jis', selected: wiz.charset === 'shift_jis' }, t('import.enc_sjis')));
		enc.addEventListener('change', () => {
			wiz.charset = enc.value;
			readFile();
			stepMap();
		});
		const preview = records.slice(0, PREVIEW_ROWS);
		const warn = h('div', { class: 'callout callout-warning', hidden: true, role: 'status', 'data-testid': 'import-map-warning' });
		const runBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'import-run' }, icon('upload'), t('import.run', { n: records.length }));

		const checkMapping = () => {
			const used = {};
			wiz.mapping.forEach((m, i) => {
				if (m !== 'ignore') (used[m] = used[m] || []).push(header[i]);
			});
			const msgs = [];
			for (const [tg, cols] of Object.entries(used)) if (cols.length > 1) msgs.push(t('import.warn_twice', { field: targetLabel(tg), cols: cols.join(', ') }));
			if (!used.email) msgs.push(t('import.warn_no_email'));
			const comma = header.filter((hd) => cleanHeader(hd).includes(','));
			if (comma.length) msgs.push(t('import.warn_comma', { cols: comma.join(' / ') }));
			if (!Object.keys(used).length) msgs.push(t('import.warn_nothing'));
			runBtn.disabled = !Object.keys(used).length || !records.length;
			if (msgs.length) {
				mount(warn, icon('alert'), h('div', { class: 'stack-sm' }, msgs.map((m) => h('span', { text: m }))));
				warn.hidden = false;
			} else warn.hidden = true;
		};

		const options = () => [
			h('option', { value: 'ignore' }, t('import.t_ignore')),
			h('optgroup', { label: t('import.group_contact') }, TARGETS.map((tg) => h('option', { value: tg }, t(`import.t_${tg}`)))),
			fields.length ? h('optgroup', { label: t('import.group_custom') }, fields.map((f) => h('option', { value: `fields.${f.key}` }, f.label))) : null,
		];
		const mapRows = header.map((hd, i) => {
			const id = `map-${i}`;
			const empty = !cleanHeader(hd);
			const sel = h('select', { class: 'select', id, disabled: empty, 'data-testid': `map-select-${i}`, 'data-column': hd }, options());
			sel.value = wiz.mapping[i];
			const auto = h('span', { class: 'xsmall guess', hidden: wiz.guessed[i] === 'ignore' || sel.value !== wiz.guessed[i] }, icon('sparkles', { size: 'sm' }), t('import.auto'));
			sel.addEventListener('change', () => {
				wiz.mapping[i] = sel.value;
				auto.hidden = sel.value === 'ignore' || sel.value !== wiz.guessed[i];
				checkMapping();
			});
			const samples = preview.map((r) => r.fields[i]).filter((v) => v && v.trim()).slice(0, 3);
			return h('tr', { 'data-testid': 'map-row' },
				h('td', null, h('label', { for: id, class: 'name' }, empty ? h('span', { class: 'muted' }, t('import.no_column_name', { n: i + 1 })) : hd)),
				h('td', { class: 'sample', title: samples.join(' / ') }, samples.length ? samples.join(' / ') : h('span', { class: 'muted' }, t('import.no_samples'))),
				h('td', null, h('div', { class: 'row' }, sel, auto)));
		});

		runBtn.addEventListener('click', () => go(3));
		mount(body,
			h('div', { class: 'card-body stack', 'data-testid': 'import-step-map' },
				h('div', { class: 'file-summary' },
					h('div', { class: 'icon-box' }, icon('file')),
					h('div', { class: 'grow' }, h('h2', { tabindex: '-1', style: { fontSize: 'var(--fs-md)' }, 'data-testid': 'import-file-name' }, wiz.file.name),
						h('div', { class: 'muted small', 'data-testid': 'import-file-info' }, t('import.file_info', { size: fmtSize(wiz.file.size), rows: records.length, cols: header.length }))),
					h('div', { class: 'row' }, h('label', { for: 'import-encoding', class: 'label' }, t('import.encoding')), enc,
						h('span', { class: 'badge', 'data-testid': 'import-detected' }, t('import.detected', { enc: wiz.detected === 'shift_jis' ? 'Shift_JIS' : 'UTF-8' })))),
				!records.length ? h('div', { class: 'callout callout-warning' }, icon('alert'), h('span', { text: t('import.no_rows') })) : null,
				h('div', null, h('h3', { class: 'section-title', text: t('import.preview') }), h('p', { class: 'section-desc', text: t('import.preview_text', { n: Math.min(PREVIEW_ROWS, records.length) }) }),
					h('div', { class: 'table-wrap card', style: { boxShadow: 'none' } }, h('table', { class: 'table preview-table', 'data-testid': 'import-preview' },
						h('thead', null, h('tr', null, h('th', { class: 'num', scope: 'col' }, t('import.row')), header.map((hd) => h('th', { scope: 'col', title: hd }, hd)))),
						h('tbody', null, preview.map((r) => h('tr', null, h('td', { class: 'num muted' }, String(r.row)), header.map((_, i) => h('td', { title: r.fields[i] || '' }, r.fields[i] || '')))))))),
				h('div', null, h('h3', { class: 'section-title', text: t('import.mapping') }), h('p', { class: 'section-desc', text: t('import.mapping_text') }),
					h('div', { class: 'table-wrap card', style: { boxShadow: 'none' } }, h('table', { class: 'table map-table', 'data-testid': 'import-mapping' },
						h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('import.col_column')), h('th', { scope: 'col' }, t('import.col_sample')), h('th', { scope: 'col' }, t('import.col_target')))),
						h('tbody', null, mapRows)))),
				warn),
			h('div', { class: 'wizard-foot' },
				h('button', { type: 'button', class: 'btn', 'data-testid': 'import-back', onclick: () => go(1) }, icon('arrowLeft'), t('import.back')),
				runBtn));
		checkMapping();
	}

	// ---- step 3: run ----
	async function stepRun() {
		const { header, records } = wiz.parsed;
		const bar = h('div', { style: { width: '2%' } });
		const label = h('p', { class: 'muted small', 'aria-live': 'polite', 'data-testid': 'import-progress-text', text: t('import.running_start') });
		mount(body, h('div', { class: 'card-body stack', 'data-testid': 'import-step-run', 'aria-busy': 'true' },
			h('div', { class: 'row' }, h('span', { class: 'spinner', style: { color: 'var(--c-primary)' } }), h('h2', { tabindex: '-1', text: t('import.running', { n: records.length }) })),
			h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-label': t('import.progress') }, bar),
			label,
			h('p', { class: 'muted xsmall', text: t('import.keep_open') })));

		const map = header
			.map((hd, i) => [cleanHeader(hd), wiz.mapping[i]])
			.filter(([c]) => c && !c.includes(','))
			.map(([c, tg]) => `${c}:${tg}`)
			.join(',');
		const result = { created: 0, updated: 0, failed: [], ignored_columns: null, error: null };
		wiz.running = true;
		let partBytes = PART_BYTES;
		let parts = split(wiz.bytes, partBytes);
		let rowsDone = 0;
		try {
			for (let k = 0; k < parts.length; k++) {
				const p = parts[k];
				let r;
				try {
					r = await request('POST', `/contacts/import?map=${encodeURIComponent(map)}`, { raw: p.bytes, contentType: `text/csv; charset=${wiz.charset}`, quiet: true });
				} catch (e) {
					if (e.status === 413 && partBytes > 64 * 1024) {
						// the server takes less per request than we thought: cut the rest smaller
						partBytes = Math.floor(partBytes / 4);
						const rest = split(concatRest(parts, k), partBytes).map((x) => ({ bytes: x.bytes, rowOffset: x.rowOffset + p.rowOffset, lineOffset: x.lineOffset + p.lineOffset }));
						parts = parts.slice(0, k).concat(rest);
						k -= 1;
						continue;
					}
					throw e;
				}
				result.created += r.created;
				result.updated += r.updated;
				if (!result.ignored_columns) result.ignored_columns = r.ignored_columns || [];
				for (const f of r.failed || []) {
					if (f.row > 0) result.failed.push({ ...f, row: f.row + p.rowOffset });
					else result.failed.push({ ...f, row: 0, error: String(f.error).replace(/line (\d+)/, (m, l) => `line ${Number(l) + p.lineOffset}`) });
				}
				rowsDone = k + 1 < parts.length ? parts[k + 1].rowOffset : records.length;
				const pct = Math.round((rowsDone / Math.max(1, records.length)) * 100);
				bar.style.width = `${Math.max(2, pct)}%`;
				bar.parentElement.setAttribute('aria-valuenow', String(pct));
				label.textContent = t('import.running_rows', { done: rowsDone, total: records.length });
			}
		} catch (e) {
			result.error = e;
		}
		wiz.running = false;
		wiz.result = result;
		if (ctx.alive) go(4);
	}

	/** The bytes of parts[k..] glued back together (header once), to split them again smaller. */
	function concatRest(parts, k) {
		// every part starts with the file's header record: keep it once
		const headLen = headerByteLength(parts[k].bytes);
		const bodies = parts.slice(k).map((p, i) => (i === 0 ? p.bytes : p.bytes.subarray(headLen)));
		const total = bodies.reduce((s, b) => s + b.length, 0);
		const out = new Uint8Array(total);
		let off = 0;
		for (const b of bodies) {
			out.set(b, off);
			off += b.length;
		}
		return out;
	}

	function headerByteLength(bytes) {
		let inQuote = false;
		for (let i = 0; i < bytes.length; i++) {
			const b = bytes[i];
			if (b === 0x22) inQuote = !inQuote;
			else if ((b === 0x0a || b === 0x0d) && !inQuote) return b === 0x0d && bytes[i + 1] === 0x0a ? i + 2 : i + 1;
		}
		return bytes.length;
	}

	// ---- step 4: results ----
	function stepResult() {
		const r = wiz.result;
		const { header, records } = wiz.parsed;
		const byRow = new Map(records.map((rec) => [rec.row, rec]));
		const rowFails = r.failed.filter((f) => f.row > 0);
		const fileFails = r.failed.filter((f) => f.row === 0);

		const reason = (f) => errorMessage({ code: 'invalid_field', field: f.field, message: f.error });
		const fieldName = (f) => {
			if (!f.field) return '';
			const tg = f.field.split('.').slice(0, f.field.startsWith('fields.') ? 2 : 1).join('.');
			return TARGETS.includes(tg) || tg.startsWith('fields.') ? targetLabel(tg) : f.field;
		};
		const downloadFailed = () => {
			const rows = [[...header, t('import.csv_row'), t('import.csv_error')]];
			for (const f of rowFails) {
				const rec = byRow.get(f.row);
				const cells = header.map((_, i) => (rec ? rec.fields[i] || '' : ''));
				rows.push([...cells, String(f.row), f.field ? `${fieldName(f)}: ${reason(f)}` : reason(f)]);
			}
			const base = wiz.file.name.replace(/\.(csv|tsv|txt)$/i, '');
			downloadText(`${base}-${t('import.failed_suffix')}.csv`, write(rows));
		};

		const stat = (cls, id, label, n) => h('div', { class: `stat ${cls}` }, h('div', { class: 'label' }, label), h('div', { class: 'value', 'data-testid': `import-${id}` }, fmtNumber(n)));
		const title = r.error ? t('import.result_error') : rowFails.length || fileFails.length ? t('import.result_partial') : t('import.result_ok');
		mount(body,
			h('div', { class: 'card-body stack', 'data-testid': 'import-step-result' },
				h('h2', { tabindex: '-1', 'data-testid': 'import-result-title', text: title }),
				r.error ? h('div', { class: 'callout callout-danger', role: 'alert', 'data-testid': 'import-error' }, icon('alertCircle'), h('div', { class: 'stack-sm' },
					h('strong', { text: r.error.message }),
					h('span', { text: r.created + r.updated ? t('import.error_partial', { n: r.created + r.updated }) : t('import.error_none') }))) : null,
				h('div', { class: 'result-stats' },
					stat('ok', 'created', t('import.created'), r.created),
					stat('', 'updated', t('import.updated'), r.updated),
					stat(rowFails.length ? 'bad' : '', 'failed', t('import.failed'), rowFails.length)),
				r.ignored_columns && r.ignored_columns.length ? h('div', { class: 'callout', 'data-testid': 'import-ignored' }, icon('info'), h('span', { text: t('import.ignored', { cols: r.ignored_columns.join(', ') }) })) : null,
				fileFails.map((f) => h('div', { class: 'callout callout-warning', role: 'alert' }, icon('alert'), h('span', { text: t('import.file_problem', { error: f.error }) }))),
				rowFails.length ? h('div', { class: 'stack-sm' },
					h('div', { class: 'row' }, h('h3', { class: 'section-title grow', text: t('import.failed_rows') }),
						h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'import-download-failed', onclick: downloadFailed }, icon('download', { size: 'sm' }), t('import.download_failed'))),
					h('p', { class: 'section-desc', text: t('import.failed_help') }),
					h('div', { class: 'table-wrap card', style: { boxShadow: 'none', maxHeight: '420px' } }, h('table', { class: 'table', 'data-testid': 'import-failed-table' },
						h('thead', null, h('tr', null, h('th', { class: 'num', scope: 'col' }, t('import.row')), h('th', { scope: 'col' }, t('import.field')), h('th', { scope: 'col' }, t('import.reason')), h('th', { scope: 'col' }, t('import.values')))),
						h('tbody', null, rowFails.slice(0, 500).map((f) => {
							const rec = byRow.get(f.row);
							return h('tr', { 'data-testid': 'import-failed-row' },
								h('td', { class: 'num' }, String(f.row)),
								h('td', { class: 'nowrap', title: f.field ? fieldName(f) : '' }, f.field ? h('code', { class: 'mono' }, f.field) : '—'),
								h('td', null, reason(f), reason(f) !== f.error ? h('div', { class: 'muted xsmall', lang: 'en', text: f.error }) : null),
								h('td', { class: 'truncate muted', title: rec ? rec.fields.join(', ') : '' }, rec ? rec.fields.filter(Boolean).slice(0, 4).join(' / ') : ''));
						}))))) : null),
			h('div', { class: 'wizard-foot' },
				h('button', { type: 'button', class: 'btn', 'data-testid': 'import-again', onclick: () => {
					wiz.file = wiz.bytes = wiz.parsed = wiz.result = null;
					go(1);
				} }, icon('refresh'), t('import.again')),
				h('a', { class: 'btn btn-primary', href: '/contacts?sort=-updated_at', 'data-testid': 'import-view-contacts' }, t('import.view_contacts'), icon('arrowRight'))));
		if (!r.error) toast(t('import.done_toast', { created: r.created, updated: r.updated }));
	}

	// Leaving mid-import loses the progress display (the server keeps what it imported).
	ctx.onCleanup(() => {
		if (wiz.running) toast({ kind: 'info', title: t('import.left_running') });
	});
	go(1, true);
}
