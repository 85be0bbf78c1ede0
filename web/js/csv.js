// csv.js — CSV in the browser, read the way the server reads it (src/base/csv.c): RFC 4180,
// BOM skipped, empty lines skipped, tab-separated when the first line has tabs and no commas,
// each record numbered by the line it starts on. Also: charset detection, writing, and
// splitting the original bytes into uploads at record boundaries. Rows are numbered like a
// spreadsheet and like the server's import report: the header is row 1, empty lines don't count.

/** Decode file bytes: valid UTF-8 wins, else Shift_JIS (what Excel in Japan saves). */
export function decode(bytes, charset) {
	if (!charset) {
		try {
			return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), charset: 'utf-8' };
		} catch {
			charset = 'shift_jis';
		}
	}
	return { text: new TextDecoder(charset).decode(bytes), charset };
}

/** Parse text into {header, records: [{row, line, fields}], sep}; row 2 is the first data record. */
export function parse(text) {
	const n = text.length;
	let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
	let line = 1;
	const firstEnd = text.slice(i).search(/[\r\n]/);
	const first = firstEnd < 0 ? text.slice(i) : text.slice(i, i + firstEnd);
	const sep = first.includes('\t') && !first.includes(',') ? '\t' : ',';
	const records = [];
	const isEol = (c) => c === '\r' || c === '\n';
	const skipEol = () => {
		if (text[i] === '\r' && text[i + 1] === '\n') i += 2;
		else i += 1;
		line += 1;
	};
	while (i < n) {
		if (isEol(text[i])) {
			skipEol();
			continue;
		}
		const start = line;
		const fields = [];
		for (;;) {
			let val;
			if (text[i] === '"') {
				i += 1;
				let parts = '';
				for (;;) {
					const q = text.indexOf('"', i);
					const chunk = q < 0 ? text.slice(i) : text.slice(i, q);
					line += (chunk.match(/\r\n|\r|\n/g) || []).length;
					parts += chunk;
					if (q < 0) {
						i = n;
						break;
					}
					if (text[q + 1] === '"') {
						parts += '"';
						i = q + 2;
						continue;
					}
					i = q + 1;
					break;
				}
				// tolerate text after the closing quote (the server reports it as an error)
				let j = i;
				while (j < n && text[j] !== sep && !isEol(text[j])) j += 1;
				val = parts + text.slice(i, j);
				i = j;
			} else {
				let j = i;
				while (j < n && text[j] !== sep && !isEol(text[j])) j += 1;
				val = text.slice(i, j);
				i = j;
			}
			fields.push(val);
			if (i < n && text[i] === sep) {
				i += 1;
				if (i >= n) {
					fields.push('');
					break;
				}
				continue;
			}
			if (i < n) skipEol();
			break;
		}
		records.push({ row: records.length + 1, line: start, fields });
	}
	const head = records.shift();
	return { header: head ? head.fields : [], records, sep };
}

function quote(v, sep) {
	const s = v === null || v === undefined ? '' : String(v);
	return /[",\r\n\t]/.test(s) || s.includes(sep) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows (arrays of strings) → CSV text with CRLF line ends and a BOM so Excel reads UTF-8. */
export function write(rows, sep = ',') {
	return '\ufeff' + rows.map((r) => r.map((v) => quote(v, sep)).join(sep)).join('\r\n') + '\r\n';
}

/**
 * Split the original bytes into uploads of about maxBytes each, cut only between records,
 * every part starting with the header. Safe for Shift_JIS too: its trail bytes never equal
 * '"', CR or LF. Returns [{bytes, rowOffset, lineOffset}]: row r of a part's import report is
 * row r + rowOffset of the whole file (and line l of a part is line l + lineOffset).
 */
export function split(bytes, maxBytes) {
	const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
	const n = bytes.length;
	let line = 1;
	let records = 0; // non-empty records ended so far (the header is the first)
	let inQuote = false;
	let content = false; // the current record has bytes other than line ends
	let headerEnd = -1;
	let headerLines = 0;
	const cuts = []; // {off, line, records}: a place where a record ends
	for (let i = bom; i < n; i++) {
		const b = bytes[i];
		if (b === 0x22) {
			inQuote = !inQuote;
			content = true;
		} else if (b === 0x0d || b === 0x0a) {
			if (b === 0x0d && bytes[i + 1] === 0x0a) i += 1;
			line += 1;
			if (!inQuote && content) {
				records += 1;
				content = false;
				if (headerEnd < 0) {
					headerEnd = i + 1;
					headerLines = line - 1;
				} else cuts.push({ off: i + 1, line, records });
			}
		} else {
			content = true;
		}
	}
	if (headerEnd < 0 || n <= maxBytes) return [{ bytes, rowOffset: 0, lineOffset: 0 }];
	const header = bytes.subarray(bom, headerEnd);
	const parts = [];
	let from = { off: headerEnd, line: headerLines + 1, records: 1 };
	let last = null;
	const push = (to) => {
		const body = bytes.subarray(from.off, to.off);
		if (body.length) {
			const out = new Uint8Array(header.length + body.length);
			out.set(header, 0);
			out.set(body, header.length);
			parts.push({ bytes: out, rowOffset: from.records - 1, lineOffset: from.line - (headerLines + 1) });
		}
		from = to;
	};
	for (const cut of cuts) {
		if (cut.off - from.off + header.length > maxBytes && last && last.off > from.off) push(last);
		last = cut;
	}
	push({ off: n, line, records });
	return parts;
}
