// browser.mjs — drives Debian's Chromium with playwright-core for the browser tests: one browser per file, a fresh context per test.
//
// Servers and databases come from ../it/harness.mjs (startServer() and friends are
// re-exported here). This file adds:
//   test(name, [{locale}], fn)  node:test's test with a fresh browser context; fn gets
//                               {t, page, context, newPage(locale)}. On failure it saves
//                               build/e2e-failures/<test-name>-<backend>.png (one per open page)
//                               and prints the pages' console errors.
//   login(page, server|url, email, password), fillLogin(), logout(page), sessionStatus()
//   msg(lang, key, vars)        a string of web/i18n/<lang>.json, so selectors follow the catalogue
//   createUser(), createContact()  seed data through the REST API (fast, no clicking)
//   expectCount(), expectText()    wait for a list or a text to settle (debounced search, toasts)
// Uncaught exceptions in a page, and i18n.js's "missing key" warnings, fail the test:
// a product page must not throw, and every string it shows must come from the catalogue.

import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as nodeTest from 'node:test';
import { chromium } from 'playwright-core';
import * as h from '../it/harness.mjs';

export {
  after, afterEach, before, beforeEach, describe, BACKEND, BIN, REPO, runCli, startServer,
  tempDir, tempFile, waitFor,
} from '../it/harness.mjs';

export const CHROMIUM = process.env.KZ_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];
export const VIEWPORT = { width: 1366, height: 800 };
export const FAILURE_DIR = path.join(h.REPO, 'build', 'e2e-failures');
export const WEB_DIR = process.env.KIZUNA_WEB_DIR || path.join(h.REPO, 'web');

/** How long a single wait for an element may take before the test fails (ms). */
const ACTION_TIMEOUT_MS = Number(process.env.KZ_E2E_ACTION_TIMEOUT || 10_000);

// ---------------------------------------------------------------- browser

let browserPromise = null;

/** The file's browser, launched on first use and closed when the file ends. */
export function browser() {
  if (!browserPromise) {
    browserPromise = chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 60_000,
    });
  }
  return browserPromise;
}

/** Close the file's browser (if one was launched). */
export async function closeBrowser() {
  if (!browserPromise) return;
  const p = browserPromise;
  browserPromise = null;
  try {
    await (await p).close();
  } catch {
    /* it failed to launch, or is gone already */
  }
}
nodeTest.after(closeBrowser);

/**
 * A new, isolated browser context (own cookies and storage) whose browser
 * language is `locale` ('ja-JP', 'en-US', ...); Asia/Tokyo time, 1366×800.
 */
export async function newContext(locale = 'en-US', opts = {}) {
  const b = await browser();
  const context = await b.newContext({
    locale,
    timezoneId: 'Asia/Tokyo',
    viewport: VIEWPORT,
    acceptDownloads: true,
    ...opts,
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(30_000);
  return context;
}

// ---------------------------------------------------------------- i18n

const catalogues = new Map();

/** The message catalogue web/i18n/<lang>.json (flat or nested keys). */
export function catalogue(lang) {
  if (!catalogues.has(lang)) {
    const file = path.join(WEB_DIR, 'i18n', `${lang}.json`);
    let data;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`cannot read the UI's message catalogue ${file}: ${e.message}`);
    }
    catalogues.set(lang, data);
  }
  return catalogues.get(lang);
}

/**
 * The string for `key` ("nav.contacts" looks up both a flat key and a nested
 * path) in `lang`, with {name} placeholders replaced from `vars` (numbers formatted
 * per locale, plural entries {one, other} chosen by vars.n, as the UI does). Throws when the
 * catalogue lacks the key, so a renamed key fails loudly, not as a timeout.
 */
export function msg(lang, key, vars = {}) {
  const cat = catalogue(lang);
  let v = cat[key];
  if (v === undefined) v = key.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), cat);
  if (v && typeof v === 'object' && 'other' in v) {
    // a plural entry {one, other}: pick the form for vars.n, as web/js/i18n.js does
    v = v[new Intl.PluralRules(lang).select(Number(vars.n) || 0)] ?? v.other;
  }
  if (typeof v !== 'string') throw new Error(`web/i18n/${lang}.json has no string "${key}"`);
  const fmt = (x) => (typeof x === 'number' ? new Intl.NumberFormat(lang === 'ja' ? 'ja-JP' : 'en-US').format(x) : String(x));
  return v.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? fmt(vars[k]) : m));
}

/** A RegExp matching `s` exactly (trimmed), for getByRole({name}) and hasText. */
export function exact(s) {
  return new RegExp(`^\\s*${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

// ---------------------------------------------------------------- sessions

/** Short language code of a page's context: 'ja' or 'en'. */
export function langOf(page) {
  return page.__kzLang || 'en';
}

/**
 * Sign in through the login form at `base` (a server from startServer() or a URL).
 * Waits until the workspace's navigation is shown. `lang` selects which
 * catalogue names the form's labels (default: the context's language).
 */
export async function login(page, base, email, password, { lang = langOf(page) } = {}) {
  const url = typeof base === 'string' ? base : base.url;
  await page.goto(`${url}/`);
  await fillLogin(page, email, password, lang);
  await page.getByRole('navigation', { name: msg(lang, 'nav.main') }).waitFor({ state: 'visible' });
}

/** Fill and submit the login form already on screen (no waiting for the result). */
export async function fillLogin(page, email, password, lang = langOf(page)) {
  await page.getByLabel(msg(lang, 'auth.email'), { exact: true }).fill(email);
  await page.getByLabel(msg(lang, 'auth.password'), { exact: true }).fill(password);
  await page.getByRole('button', { name: msg(lang, 'auth.sign_in'), exact: true }).click();
}

/** Sign out through the header's user menu; waits for the login page. */
export async function logout(page, lang = langOf(page)) {
  await page.getByTestId('user-button').click();
  await page.getByRole('menuitem', { name: msg(lang, 'auth.sign_out') }).click();
  await page.getByRole('button', { name: msg(lang, 'auth.sign_in'), exact: true }).waitFor();
}

/** GET /api/v1/session with the page's cookies: the status code (200 signed in, 401 not). */
export async function sessionStatus(page, base) {
  const url = typeof base === 'string' ? base : base.url;
  const res = await page.context().request.get(`${url}/api/v1/session`);
  return res.status();
}

/**
 * Create a user through the REST API with the server's admin key; resolves to
 * {id, email, password, role}.
 */
export async function createUser(server, { email, role, name = email.split('@')[0], password }) {
  const body = { email, role, name };
  if (password) body.password = password;
  const r = await server.api('POST', '/api/v1/users', body);
  if (r.status !== 201) throw new Error(`creating user ${email} failed: ${r.info}`);
  return { id: r.json.id, email, role, password: password || r.json.password };
}

/** Create a contact through the REST API; resolves to the stored contact. */
export async function createContact(server, contact) {
  const r = await server.api('POST', '/api/v1/contacts', contact);
  if (r.status !== 201) throw new Error(`creating contact failed: ${r.info}`);
  return r.json;
}

// ---------------------------------------------------------------- waiting

/**
 * Wait until `locator` matches exactly `n` elements (search results settle after a
 * debounce and a fetch); fails with the last count seen.
 */
export async function expectCount(locator, n, { timeout = ACTION_TIMEOUT_MS, what = String(locator) } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await locator.count();
    if (last === n) return;
    if (Date.now() > deadline) throw new Error(`expected ${n} of ${what}, found ${last} after ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Wait until `locator`'s innerText matches `re` (a RegExp or an exact string). */
export async function expectText(locator, re, { timeout = ACTION_TIMEOUT_MS } = {}) {
  const test = typeof re === 'string' ? (s) => s.trim() === re : (s) => re.test(s);
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    try {
      last = await locator.innerText({ timeout: Math.max(1, deadline - Date.now()) });
      if (test(last)) return last;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) throw new Error(`expected ${locator} to show ${re}, it shows ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------- test wrapper

const safeName = (s) => s.replace(/[^\p{L}\p{N}._-]+/gu, '_').replace(/^_+|_+$/g, '').slice(0, 120);

/**
 * node:test's test(name, [options], fn) with a fresh browser context. options.locale
 * ('en-US' default) is the browser language. fn receives
 * {t, page, context, newPage(locale)}; newPage opens another isolated context
 * (another user). Every page is screenshotted when the test fails.
 */
export function test(name, ...rest) {
  const fn = rest.pop();
  const options = { ...(rest[0] || {}) };
  const locale = options.locale || 'en-US';
  delete options.locale;
  return h.test(name, options, async (t) => {
    const contexts = [];
    const pages = [];
    const problems = []; // uncaught page exceptions
    const consoleLines = [];
    const newPage = async (loc = locale) => {
      const context = await newContext(loc);
      contexts.push(context);
      const page = await context.newPage();
      page.__kzLang = loc.slice(0, 2);
      const tag = `page ${pages.length + 1} (${loc})`;
      page.on('pageerror', (e) => problems.push(`${tag}: uncaught ${e.stack || e.message}`));
      page.on('console', (m) => {
        // i18n.js warns about keys missing from the catalogue: every string must come from it.
        if (/^i18n: missing key/.test(m.text())) problems.push(`${tag}: ${m.text()}`);
        if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(`${tag} console.${m.type()}: ${m.text()}`);
      });
      pages.push(page);
      return { page, context };
    };
    try {
      const { page, context } = await newPage(locale);
      await fn({ t, page, context, newPage: async (loc) => (await newPage(loc)).page });
      if (problems.length) throw new Error(`the page went wrong:\n${problems.join('\n')}`);
    } catch (e) {
      await saveFailure(name, pages);
      if (consoleLines.length || problems.length) {
        process.stderr.write(`----- browser console for failed test "${name}" -----\n` +
                             `${[...problems, ...consoleLines].slice(-100).join('\n')}\n-----\n`);
      }
      throw e;
    } finally {
      for (const c of contexts) await c.close().catch(() => {});
    }
  });
}
export const it = test;

async function saveFailure(name, pages) {
  mkdirSync(FAILURE_DIR, { recursive: true });
  for (let i = 0; i < pages.length; i++) {
    const file = path.join(FAILURE_DIR, `${safeName(name)}-${h.BACKEND}${i ? `-${i + 1}` : ''}.png`);
    try {
      await pages[i].screenshot({ path: file, fullPage: true, timeout: 10_000 });
      process.stderr.write(`e2e: screenshot of the failed test "${name}": ${path.relative(h.REPO, file)} (url ${pages[i].url()})\n`);
    } catch (e) {
      process.stderr.write(`e2e: could not screenshot "${name}": ${e.message}\n`);
    }
  }
}
