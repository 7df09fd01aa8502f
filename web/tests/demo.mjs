// Journey: first contact. Usage: node web/tests/demo.mjs path/to/tether
//
// Runs `tether demo` as the README's first command does (it keeps serving until stopped; here
// until the journey ends, and at most 3 minutes), opens the sign-in link it printed, and sees the
// demo's nine flows, their three connections healthy, and the initial sync's runs.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { binary, fail, journey } from './support.mjs';

/**
 * `tether demo` in `dataDir`; resolves once it has walked through and keeps syncing, with its
 * process, its first sign-in link, the last one and every line it printed.
 */
function startDemo(dataDir) {
  const env = { ...process.env };
  delete env.TETHER_SECRET_KEY;
  const child = spawn(binary, ['demo', '--contacts', '30', '--data-dir', join(dataDir, 'demo')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const printed = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  // The demo dies with the journey even if the journey itself is killed.
  const limit = setTimeout(() => child.kill('SIGKILL'), 180_000);
  limit.unref();
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not finish its walkthrough in 120 s:\n${printed.join('\n')}\n${stderr}`)), 120_000);
    child.on('exit', (code) => reject(new Error(`the demo exited (${code}):\n${printed.join('\n')}\n${stderr}`)));
    let first;
    let last;
    createInterface({ input: child.stdout }).on('line', (line) => {
      printed.push(line);
      first ??= line.match(/sign in \(one click, once, 15 min\) (http:\/\/\S+\/login\?token=\S+)/)?.[1];
      last = line.match(/open the web UI .*: (http:\/\/\S+\/login\?token=\S+)/)?.[1] ?? last;
      if (/^Syncing live changes both ways until Ctrl-C/.test(line)) {
        clearTimeout(timer);
        if (!first || !last) reject(new Error(`the demo printed no sign-in link:\n${printed.join('\n')}`));
        resolvePromise({ child, first, last, base: new URL(first).origin, printed });
      }
    });
  });
}

await journey(async ({ dataDir, browser, page, step, shot, track }) => {
  const started = Date.now();
  const demo = track(await startDemo(dataDir));
  const { base } = demo;
  const flows = [];

  await step('the printed link signs in and shows the nine flows', async () => {
    await page.goto(demo.first);
    // The link signs in and lands on the flows (`/` is the flows list).
    await page.waitForURL((url) => url.origin === base && (url.pathname === '/' || url.pathname === '/flows'));
    await page.getByRole('heading', { name: 'Flows', level: 1 }).waitFor();
    const listed = await (await page.request.get(`${base}/api/v1/flows?limit=200`)).json();
    flows.push(...listed.items);
    if (flows.length !== 9) fail(`the demo has ${flows.length} flows, not nine: ${flows.map((f) => f.id).join(', ')}`);
    for (const flow of flows) await page.getByRole('link', { name: flow.name, exact: true }).waitFor();
    await shot('flows');
  });

  await step('their connections are healthy', async () => {
    await page.getByRole('link', { name: 'Connections', exact: true }).click();
    await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
    for (const name of ['ghl-main', 'details-flowers-main', 'flickr-main']) {
      const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 2 }).filter({ hasText: new RegExp(`^${name}\\b`) }) });
      await card.locator('.badge', { hasText: /^ok$/ }).waitFor();
      const text = await card.innerText();
      if (!/checked /.test(text) || !/used by [1-9]\d* flows?/.test(text)) fail(`${name}'s card: ${text}`);
    }
    if ((await page.locator('.badge', { hasText: /^untested$/ }).count()) > 0) fail('a demo connection is untested');
    await shot('connections');
  });

  await step("the initial sync's runs", async () => {
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.getByRole('heading', { name: /^Runs/, level: 1 }).waitFor();
    await page.getByLabel('Flow').selectOption('ghl-contact-to-df-customer');
    await page.waitForURL(/flow=ghl-contact-to-df-customer/);
    const answer = await (await page.request.get(`${base}/api/v1/runs?flow=ghl-contact-to-df-customer&limit=100`)).json();
    // Thirty seeded contacts (those without an e-mail end in the filter) and the live one.
    if (answer.items.length < 30) fail(`only ${answer.items.length} runs of ghl-contact-to-df-customer`);
    const rows = page.getByRole('row').filter({ hasText: 'ghl-contact-to-df-customer' });
    await rows.nth(answer.items.length - 1).waitFor();
    const done = await page.getByRole('row').filter({ has: page.locator('.badge', { hasText: /^done$/ }) }).count();
    if (done < answer.items.length - 1) fail(`${done} of ${answer.items.length} runs are done`);
    await shot('runs');
  });

  await step('the link printed at the end works too', async () => {
    const other = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const tab = await other.newPage();
      await tab.goto(demo.last);
      await tab.waitForURL((url) => url.origin === base && (url.pathname === '/' || url.pathname === '/flows'));
      await tab.getByRole('link', { name: flows[0].name, exact: true }).waitFor();
    } finally {
      await other.close();
    }
  });
  console.log(`first contact: the demo walked through and the browser saw it all in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
