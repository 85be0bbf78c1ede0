// mail.mjs — test helpers for email: a real SMTP server (Postfix's smtp-sink dumping each
// message to a file) on a random port, a careful MIME parser, and a DKIM verifier on
// node:crypto (OpenSSL) with its own relaxed canonicalization.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { tempDir, waitFor } from './harness.mjs';

const SINK = ['/usr/sbin/smtp-sink', '/usr/bin/smtp-sink'].find((p) => existsSync(p));

/** A free TCP port on 127.0.0.1 (closed again, so a server may take it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Has smtp-sink written the whole message? A multipart message ends with its closing
 * boundary; anything else counts once the file has not changed for 300 ms. */
function complete(file) {
  const text = readFileSync(file).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  if (end < 0) return false;
  const b = /^content-type:[^\n]*(?:\n[ \t][^\n]*)*?boundary="?([^";\r\n]+)"?/im.exec(text.slice(0, end));
  if (b) return text.includes(`--${b[1]}--`);
  return Date.now() - statSync(file).mtimeMs > 300;
}

/** smtp-sink on `port` (random when absent), writing one file per message into a temp dir. */
export async function startSink(port) {
  if (!SINK) throw new Error('smtp-sink not found: install Debian\'s postfix package (scripts/deps.sh)');
  port = port || (await freePort());
  const dir = path.join(tempDir('kz-sink-'), 'mail');
  mkdirSync(dir);
  const child = spawn(SINK, ['-d', `${dir}/%Y%m%d%H%M%S.`, '-u', os.userInfo().username,
    `127.0.0.1:${port}`, '256'], { stdio: 'ignore' });
  child.unref(); // a failed test must not keep the run alive; killed at exit
  const err = '';
  await waitFor(() => new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
    c.on('error', () => resolve(false));
  }), { timeout: 5000, what: `smtp-sink listening on ${port} (${err})` });
  const sink = {
    port,
    dir,
    url: `smtp://127.0.0.1:${port}`,
    // only messages smtp-sink has finished writing (it writes a file as the DATA arrives)
    files: () => readdirSync(dir).sort().map((f) => path.join(dir, f)).filter(complete),
    messages: () => sink.files().map((f) => parseMessage(readFileSync(f))),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    }),
  };
  process.on('exit', () => child.kill('SIGKILL'));
  return sink;
}

// ---------------------------------------------------------------- parsing

function splitHead(buf) {
  const s = buf.toString('latin1');
  let i = s.indexOf('\r\n\r\n');
  let sep = 4;
  if (i < 0) {
    i = s.indexOf('\n\n');
    sep = 2;
  }
  return { head: s.slice(0, i), body: buf.subarray(i + sep), rawHead: s.slice(0, i + sep / 2) };
}

/** Header fields in order: [{name, raw (with folding), value (unfolded)}]. */
export function parseHeaders(head) {
  const out = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) {
      out[out.length - 1].raw += `\r\n${line}`;
      out[out.length - 1].value += line;
    } else if (line) {
      const c = line.indexOf(':');
      out.push({ name: line.slice(0, c), raw: line, value: line.slice(c + 1).trim() });
    }
  }
  return out;
}

/** RFC 2047 encoded words (B and Q) to text; whitespace between words disappears. */
export function decodeWords(v) {
  return v.replace(/\?=\s+=\?/g, '?==?').replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, cs, enc, t) => {
    const bytes = enc.toUpperCase() === 'B' ? Buffer.from(t, 'base64')
      : Buffer.from(t.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (m, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    if (!/^utf-8$/i.test(cs)) throw new Error(`unexpected charset ${cs}`);
    return bytes.toString('utf8');
  });
}

function decodeQP(s) {
  const bytes = [];
  const t = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '=' && /^[0-9A-F]{2}$/i.test(t.slice(i + 1, i + 3))) {
      bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(t.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function param(v, name) {
  const m = new RegExp(`${name}="?([^";]+)"?`, 'i').exec(v);
  return m ? m[1] : null;
}

function parsePart(buf) {
  const { head, body } = splitHead(buf);
  const headers = parseHeaders(head);
  const get = (n) => headers.find((h) => h.name.toLowerCase() === n.toLowerCase())?.value;
  const ctype = get('Content-Type') || 'text/plain';
  const part = { headers, get, contentType: ctype.split(';')[0].trim().toLowerCase(), parts: [] };
  if (part.contentType.startsWith('multipart/')) {
    const b = param(ctype, 'boundary');
    const chunks = body.toString('latin1').split(`--${b}`);
    part.closed = /^--/.test(chunks[chunks.length - 1]);
    for (const c of chunks.slice(1)) {
      if (c.startsWith('--')) break;
      part.parts.push(parsePart(Buffer.from(c.replace(/^\r?\n/, ''), 'latin1')));
    }
  } else {
    const cte = (get('Content-Transfer-Encoding') || '7bit').toLowerCase();
    const raw = body.toString('latin1');
    part.text = cte === 'base64' ? Buffer.from(raw, 'base64').toString('utf8')
      : cte === 'quoted-printable' ? decodeQP(raw) : Buffer.from(raw, 'latin1').toString('utf8');
    part.encoding = cte;
  }
  return part;
}

/** The whole message: headers, get(name), parts, text, html, raw (Buffer). */
export function parseMessage(buf) {
  // smtp-sink stores lines with LF; on the wire (and for DKIM) they are CRLF
  if (!buf.includes('\r\n')) buf = Buffer.from(buf.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
  const m = parsePart(buf);
  m.raw = buf;
  const leaves = [];
  const walk = (p) => (p.parts.length ? p.parts.forEach(walk) : leaves.push(p));
  walk(m);
  m.textPart = leaves.find((p) => p.contentType === 'text/plain');
  m.htmlPart = leaves.find((p) => p.contentType === 'text/html');
  m.subject = decodeWords(m.get('Subject') || '');
  return m;
}

// ---------------------------------------------------------------- DKIM

function canonHeader(raw) {
  const c = raw.indexOf(':');
  const name = raw.slice(0, c).trim().toLowerCase();
  const value = raw.slice(c + 1).replace(/\r\n/g, '').replace(/[ \t]+/g, ' ').trim();
  return `${name}:${value}`;
}

function canonBody(buf) {
  const lines = buf.toString('latin1').split('\r\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out = lines.map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (out.length && out[out.length - 1] === '') out.pop();
  return Buffer.from(out.length ? `${out.join('\r\n')}\r\n` : '', 'latin1');
}

/** The DKIM-Signature's tags. */
export function dkimTags(msg) {
  const h = msg.headers.find((x) => x.name.toLowerCase() === 'dkim-signature');
  if (!h) return null;
  const tags = {};
  for (const kv of h.value.split(';')) {
    const i = kv.indexOf('=');
    if (i > 0) tags[kv.slice(0, i).trim()] = kv.slice(i + 1).replace(/\s+/g, '');
  }
  return { tags, header: h };
}

/** A public key from the TXT record kizuna dkim-keygen prints ("v=DKIM1; k=...; p=..."). */
export function publicKeyFromTxt(txt) {
  const k = /k=(\w+)/.exec(txt)[1];
  const p = Buffer.from(/p=([A-Za-z0-9+/=]+)/.exec(txt)[1], 'base64');
  if (k === 'ed25519') {
    const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), p]);
    return crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
  }
  return crypto.createPublicKey({ key: p, format: 'der', type: 'spki' });
}

/** Verify msg's DKIM signature (relaxed/relaxed) with publicKey; throws on mismatch. */
export function verifyDkim(msg, publicKey) {
  const sig = dkimTags(msg);
  if (!sig) throw new Error('no DKIM-Signature header');
  const { tags, header } = sig;
  if (tags.c !== 'relaxed/relaxed') throw new Error(`c=${tags.c}`);
  const { body } = splitHead(msg.raw);
  const bh = crypto.createHash('sha256').update(canonBody(body)).digest('base64');
  if (bh !== tags.bh) throw new Error(`body hash ${bh} != bh=${tags.bh}`);
  const used = new Map();
  let data = '';
  for (const name of tags.h.split(':')) {
    const all = msg.headers.filter((x) => x.name.toLowerCase() === name.toLowerCase() && x !== header);
    const n = used.get(name) || 0;
    const field = all[all.length - 1 - n];
    used.set(name, n + 1);
    if (field) data += `${canonHeader(field.raw)}\r\n`;
  }
  data += canonHeader(header.raw.replace(/(b=)[^;]*$/s, '$1'));
  const sigBytes = Buffer.from(tags.b, 'base64');
  const ok = tags.a === 'ed25519-sha256'
    ? crypto.verify(null, crypto.createHash('sha256').update(data, 'latin1').digest(), publicKey, sigBytes)
    : crypto.verify('sha256', Buffer.from(data, 'latin1'), publicKey, sigBytes);
  if (!ok) throw new Error(`DKIM signature (${tags.a}) does not verify`);
  return tags;
}
