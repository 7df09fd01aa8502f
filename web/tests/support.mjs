// What every browser journey shares: the real `tether` binary's processes (serve, the
// simulators, connect), Debian's Chromium driven by playwright-core, and a journey's `step` and
// `shot`. A journey is `web/tests/<name>.mjs`, run as `node web/tests/<name>.mjs <tether binary>`
// by `crates/tether/tests/it/ui.rs`; it exits non-zero with the reason on its first failure.
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const binary = process.argv[2];
export const shots = join(process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, 'target'), 'ui-screenshots');
export const EMAIL = 'owner@tether.test';
export const PASSWORD = 'a long enough password';

export function fail(message) {
  throw new Error(message);
}

/**
 * Waits for a popup to close; `what` names it in the failure. A popup our page
 * closes at once may be closed before anyone listens for its `close` event,
 * which then never comes: so an already closed popup passes at once.
 */
export async function closes(popup, what, timeout = 15_000) {
  if (popup.isClosed()) return;
  await popup.waitForEvent('close', { timeout }).catch(() => {});
  if (!popup.isClosed()) fail(`${what} stayed open for ${timeout / 1000} s`);
}

if (!binary || !existsSync(binary)) fail(`usage: node ${process.argv[1]} <tether binary>; got ${binary ?? 'nothing'}`);
if (!existsSync(CHROMIUM)) {
  fail(`${CHROMIUM} is missing: install Chromium with \`apt-get install -y chromium\` (the test never downloads a browser)`);
}
/** @type {typeof import('playwright-core')} */
let playwright;
try {
  playwright = await import('playwright-core');
} catch (error) {
  fail(`playwright-core is not installed in web/node_modules: run \`npm ci\` in web/ (${error})`);
}

// Webhooks signed with a key of our own, which `serve` is told to trust (`--ghl-ed25519-key`).
export const webhookKeys = generateKeyPairSync('ed25519');

/** The environment for our processes: a data folder's own key file, never the caller's key. */
function processEnv() {
  const env = { ...process.env };
  delete env.TETHER_SECRET_KEY;
  return env;
}

/** Kills a child process quietly (its `exit` no longer rejects anything). */
export function stop(child) {
  if (!child) return;
  child.removeAllListeners('exit');
  child.kill('SIGTERM');
}

/**
 * `tether serve` on a free port over `dataDir/data`; resolves with its process, base URL and setup
 * URL. `flows` is a folder of flow files to apply at start (default: the seed recipes; `null`
 * for none); `args` are extra flags.
 */
export function startServer(dataDir, { flows = join(root, 'flows'), args = [] } = {}) {
  const keyFile = join(dataDir, 'webhook-key.pub.pem');
  writeFileSync(keyFile, webhookKeys.publicKey.export({ type: 'spki', format: 'pem' }));
  const flowArgs = flows ? ['--flows', flows] : [];
  const child = spawn(
    binary,
    ['serve', '--listen', '127.0.0.1:0', '--data-dir', join(dataDir, 'data'), ...flowArgs, '--ghl-ed25519-key', keyFile, ...args],
    { env: processEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const printed = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no setup URL in 60 s: ${printed.join('\n')}\n${stderr}`)), 60_000);
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${printed.join('\n')}\n${stderr}`)));
    let base;
    createInterface({ input: child.stdout }).on('line', (line) => {
      printed.push(line);
      const serving = line.match(/^Tether serving on (\S+)/);
      if (serving) base = serving[1];
      const setup = line.trim().match(/^setup: (\S+)/);
      if (setup && base) {
        clearTimeout(timer);
        resolvePromise({ child, base, setupUrl: setup[1], printed });
      }
    });
  });
}

/**
 * `tether sim <app> --listen 127.0.0.1:0 …args` (`ghl`, `flickr`, `details-flowers`); resolves with
 * the process, its URL and every line it printed so far (and later: `printed` keeps growing).
 */
export function startSimulator(app, args = []) {
  const child = spawn(binary, ['sim', app, '--listen', '127.0.0.1:0', ...args], { env: processEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  const printed = [];
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${app} simulator printed no URL in 30 s: ${printed.join('\n')}`)), 30_000);
    child.on('exit', (code) => reject(new Error(`the ${app} simulator exited (${code}): ${printed.join('\n')}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      printed.push(line);
      const url = line.match(/listening on (http:\/\/\S+)/);
      if (url) {
        clearTimeout(timer);
        resolvePromise({ child, url: url[1], printed });
      }
    });
  });
}

/** `tether sim details-flowers` with the API key `ui-key`. */
export function startDetailsFlowers() {
  return startSimulator('details-flowers', ['--api-key', 'ui-key']);
}

/** `tether connect details-flowers …` against serve's data folder, untested. */
export function connect(dataDir, name, baseUrl) {
  const done = spawnSync(
    binary,
    ['connect', '--skip-test', '--data-dir', join(dataDir, 'data'), 'details-flowers', '--name', name, '--api-key', 'ui-key', '--base-url', baseUrl],
    { env: processEnv(), encoding: 'utf8' },
  );
  if (done.status !== 0) fail(`tether connect ${name} failed: ${done.stdout}${done.stderr}`);
}

/** A loopback port nothing listens on. */
export async function closedPort() {
  const probe = createServer();
  await new Promise((done) => probe.listen(0, '127.0.0.1', () => done(undefined)));
  const port = /** @type {import('node:net').AddressInfo} */ (probe.address()).port;
  await new Promise((done) => probe.close(() => done(undefined)));
  return port;
}

/** POSTs a signed GHL webhook (a `ContactCreate` unless `event` says otherwise), as HighLevel would. */
export async function sendWebhook(base, event = {}) {
  const body = JSON.stringify({
    type: 'ContactCreate',
    webhookId: `ui-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    timestamp: new Date().toISOString(),
    locationId: 've9EPM428h8vShlRW1KT',
    id: 'ui-contact-1',
    email: 'Live.Run@Example.com',
    firstName: 'Live',
    lastName: 'Run',
    ...event,
  });
  const signature = sign(null, Buffer.from(body), webhookKeys.privateKey).toString('base64');
  const answer = await fetch(`${base}/hooks/ghl`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-ghl-signature': signature },
    body,
  });
  if (answer.status !== 200) fail(`the webhook got ${answer.status}: ${await answer.text()}`);
}

/**
 * A journey: a fresh data folder, Chromium at 1280×800 and the bookkeeping every journey needs.
 * `run(j)` gets `{ dataDir, browser, context, page, step, shot, track, problems }`; processes given
 * to `track` are stopped at the end, whatever happened. Console errors (other than expected
 * 401/403/404/409 answers, and the statuses in `expected`: refusals the journey provokes) and
 * page errors fail the journey. Prints the screenshots' paths.
 */
export async function journey(run, { expected = [] } = {}) {
  const allowed = new Set([401, 403, 404, 409, ...expected]);
  const name = basename(process.argv[1], '.mjs');
  const dataDir = mkdtempSync(join(tmpdir(), `tether-${name}-`));
  mkdirSync(shots, { recursive: true });
  const saved = [];
  const problems = [];
  const children = [];
  let browser;
  try {
    browser = await playwright.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const watch = (p) => {
      p.on('console', (message) => {
        const status = Number(message.text().match(/status of (\d{3})/)?.[1]);
        if (message.type() === 'error' && !allowed.has(status)) problems.push(`console: ${message.text()}`);
      });
      p.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    };
    watch(page);
    context.on('page', watch);
    const shot = async (what, target = page) => {
      const path = join(shots, `${name}-${what}.png`);
      await target.screenshot({ path, fullPage: true });
      saved.push(path);
    };
    const step = async (what, action) => {
      try {
        await action();
      } catch (error) {
        await shot(`failed-${what.replace(/\W+/g, '-')}`).catch(() => {});
        fail(`${what}: ${error.message}`);
      }
    };
    const track = (process) => {
      children.push(process.child ?? process);
      return process;
    };
    await run({ dataDir, browser, context, page, step, shot, track, problems });
    if (problems.length > 0) fail(`the browser reported errors:\n${problems.join('\n')}`);
    console.log(`journey ${name} passed.`);
    for (const path of saved) console.log(`screenshot: ${path}`);
  } finally {
    await browser?.close().catch(() => {});
    for (const child of children) {
      if (typeof child.close === 'function' && typeof child.kill !== 'function') child.close();
      else stop(child);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Sets up the owner through the setup page; the page ends on the flows list, signed in. */
export async function setUpOwner(page, base, setupUrl) {
  await page.goto(setupUrl);
  await page.getByRole('heading', { name: 'Set up Tether' }).waitFor();
  await page.getByLabel('E-mail address').fill(EMAIL);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create owner' }).click();
  await page.waitForURL(`${base}/flows`);
}

/**
 * The page's cumulative layout shift since it was loaded (Chromium's `layout-shift` entries, those
 * right after an input left out): how much the page jumped while it filled in. Under 0.1 is what
 * people call "no jump"; 0 is none at all.
 */
export async function layoutShift(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        let total = 0;
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
        }).observe({ type: 'layout-shift', buffered: true });
        setTimeout(() => resolve(total), 200);
      }),
  );
}
