#!/usr/bin/env node
// list.mjs — sequential GETs of one contacts-list URL, for the contacts_list_100k benchmark.
//
// usage: node bench/list.mjs URL API_KEY COUNT
//
// Sends COUNT requests one after the other (never two at once) on one keep-alive
// connection, checks that every answer is 200 with a JSON page, and prints one line:
//   rows=N next=yes|no ids=ID,ID,... client_ms=M,M,...
// rows and ids are those of the last page (run.sh compares the ids with the SQL baseline's,
// so both sides are known to answer the same query); client_ms are the round trips as this
// client saw them (the benchmark itself uses the server's own duration_ms log lines).

const [url, key, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!url || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: node bench/list.mjs URL API_KEY COUNT\n');
  process.exit(2);
}

const headers = key ? { Authorization: `Bearer ${key}` } : {};
const times = [];
let last = null;
for (let i = 0; i < count; i++) {
  const t0 = process.hrtime.bigint();
  let r, text;
  try {
    r = await fetch(url, { headers });
    text = await r.text();
  } catch (e) {
    process.stderr.write(`GET ${url}: ${e.message}\n`);
    process.exit(1);
  }
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (r.status !== 200) {
    process.stderr.write(`GET ${url} → ${r.status} ${text}\n`);
    process.exit(1);
  }
  last = JSON.parse(text);
  if (!Array.isArray(last.data)) {
    process.stderr.write(`GET ${url}: no data array in ${text.slice(0, 200)}\n`);
    process.exit(1);
  }
}
const ids = last.data.map((c) => c.id).join(',');
console.log(`rows=${last.data.length} next=${last.next_cursor ? 'yes' : 'no'} ids=${ids || '-'} ` +
  `client_ms=${times.map((t) => t.toFixed(3)).join(',')}`);
