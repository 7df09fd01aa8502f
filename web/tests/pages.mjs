// The flows list, settings and apps pages in Chromium against the real `tether serve`, the
// Details Flowers simulator and signed webhooks.
// Usage: node web/tests/pages.mjs path/to/tether
//
// Flows: the list's statistics after webhook runs (one dead, one done), the dead letters link,
// a missing connection's warning, a new flow from a template, blank and imported, duplicate,
// export (the downloaded YAML is the published text), delete, the filter, and 500 flows seeded
// through the API rendered (the time is printed). Settings: the public URL's self-check (this
// server, then from a second server whose public URL is the first: another server), copying an
// address, an API token created (used) and revoked, the password changed and signed in with.
// Apps: cards and search, the Details Flowers manifest, an operation's fields and a read tried
// against the simulator; a write waits for its confirmation.
import { readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EMAIL, PASSWORD, connect, fail, journey, root, sendWebhook, setUpOwner, startDetailsFlowers, startServer } from './support.mjs';

const NEW_PASSWORD = 'another long enough password';
const SEEDED = 500;

/** Polls `check` every 100 ms until it answers truthy; fails with `what` after `ms`. */
async function until(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

await journey(async ({ dataDir, browser, context, page, step, shot, track }) => {
  const server = track(await startServer(dataDir));
  const { base, setupUrl } = server;
  // Long tasks (the main thread busy ≥ 50 ms) are recorded, to say whether a page froze.
  await context.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((entry) => entry.duration))).observe({ type: 'longtask', buffered: true });
  });
  await setUpOwner(page, base, setupUrl);
  const api = async (method, path, data) => {
    const answer = await page.request.fetch(`${base}/api/v1${path}`, { method, data, headers: data ? { 'Content-Type': 'application/json' } : {} });
    return { status: answer.status(), body: answer.status() === 204 ? null : await answer.json().catch(() => null) };
  };
  const flowRow = (id) => page.locator('table.flows tbody tr', { has: page.getByText(id, { exact: true }) });

  await step('flows list with run statistics', async () => {
    // The first webhook's run dies (its Details Flowers connection does not exist yet); the
    // second one's finishes once the connection exists.
    await sendWebhook(base, { id: 'pages-contact-1', email: 'first@example.com' });
    const flowers = track(await startDetailsFlowers());
    const id = 'ghl-contact-to-df-customer';
    await until('the first run to die', async () => (await api('GET', '/flows')).body.items.find((f) => f.id === id)?.runs24h.failed === 1);
    connect(dataDir, 'details-flowers-main', flowers.url);
    await sendWebhook(base, { id: 'pages-contact-2', email: 'second@example.com' });
    const listed = await until('the second run to finish', async () => {
      const flow = (await api('GET', '/flows')).body.items.find((f) => f.id === id);
      return flow?.runs24h.ok === 1 ? flow : null;
    });
    await page.goto(`${base}/flows`);
    const row = flowRow(id);
    await row.waitFor();
    const text = await row.innerText();
    for (const want of ['1 ok', '1 failed', '1 open', 'done', 'webhook ghl: ContactCreate, ContactUpdate', 'Connection ghl-main does not exist']) {
      if (!text.includes(want)) fail(`the row of ${id} does not say "${want}": ${text}`);
    }
    const lastRun = row.getByRole('link', { name: /ago|just now/ });
    if ((await lastRun.getAttribute('href')) !== `/runs/${listed.lastRun.id}`) fail(`the last run links to ${await lastRun.getAttribute('href')}, not run ${listed.lastRun.id}`);
    // A flow that never ran says so; its connections' warnings are there too.
    const quiet = await flowRow('ghl-task-to-df').innerText();
    if (!quiet.includes('never ran') || !quiet.includes('ghl-main')) fail(`ghl-task-to-df: ${quiet}`);
    await shot('flows');
    // The dead letters link opens the Dead letters page filtered to the flow.
    await row.getByRole('link', { name: '1 open' }).click();
    await page.waitForURL(`${base}/dead-letters?flow=${id}`);
    await page.getByRole('region', { name: new RegExp(`^${id}: `) }).waitFor();
    await page.getByText(`of flow ${id}`).waitFor();
    await shot('dead-letters-of-flow');
    await page.goBack();
    await row.getByRole('link', { name: '1 failed' }).click();
    await page.waitForURL(`${base}/runs?flow=${id}&status=dead`);
    await page.goBack();
    await row.waitFor();
  });

  await step('new flow from a template', async () => {
    await page.getByRole('button', { name: 'New flow' }).click();
    const dialog = page.getByRole('dialog', { name: 'New flow' });
    await dialog.getByRole('radio', { name: 'A template' }).check();
    await dialog.getByRole('radio', { name: /GHL note → Details Flowers note/ }).check();
    // The template's id is taken (the seed flows run), so the suggestion is the next free one.
    if ((await dialog.getByLabel('Id', { exact: true }).inputValue()) !== 'ghl-note-to-df-note-2') fail(`the suggested id is ${await dialog.getByLabel('Id', { exact: true }).inputValue()}`);
    // A new name suggests its own id, as for a blank flow.
    await dialog.getByLabel('Name', { exact: true }).fill('Notes to Details Flowers, again');
    if ((await dialog.getByLabel('Id', { exact: true }).inputValue()) !== 'notes-to-details-flowers-again') fail('the id does not follow the new name');
    await shot('new-flow-template');
    await dialog.getByRole('button', { name: 'Create and open' }).click();
    await page.waitForURL(`${base}/flows/notes-to-details-flowers-again`);
    const created = await api('GET', '/flows/notes-to-details-flowers-again');
    const template = readFileSync(join(root, 'flows/ghl-note-to-df-note.yaml'), 'utf8');
    const want = template.replace('id: ghl-note-to-df-note\n', 'id: notes-to-details-flowers-again\n').replace(/^name: .*$/m, 'name: Notes to Details Flowers, again');
    if (created.body.draft.yaml !== want) fail(`the new draft is not the template with its id and name changed:\n${created.body.draft.yaml}`);
  });

  await step('new blank and imported flows', async () => {
    await page.goto(`${base}/flows`);
    await page.getByRole('button', { name: 'New flow' }).click();
    let dialog = page.getByRole('dialog', { name: 'New flow' });
    await dialog.getByLabel('Name', { exact: true }).fill('My first flow!');
    if ((await dialog.getByLabel('Id', { exact: true }).inputValue()) !== 'my-first-flow') fail('the id does not follow the name');
    await dialog.getByLabel('Id', { exact: true }).fill('Bad Id');
    await dialog.getByText('Use lowercase letters').waitFor();
    await dialog.getByLabel('Id', { exact: true }).fill('my-first-flow');
    await dialog.getByRole('button', { name: 'Create and open' }).click();
    await page.waitForURL(`${base}/flows/my-first-flow`);
    const blank = await api('GET', '/flows/my-first-flow');
    if (blank.body.draft.yaml !== 'id: my-first-flow\nname: My first flow!\n') fail(`the blank draft is ${JSON.stringify(blank.body.draft.yaml)}`);

    await page.goto(`${base}/flows`);
    await page.getByRole('button', { name: 'New flow' }).click();
    dialog = page.getByRole('dialog', { name: 'New flow' });
    await dialog.getByRole('radio', { name: 'Import YAML' }).check();
    const yaml = '# Imported by the journey.\nid: imported\nname: Imported flow\ntrigger:\n  schedule: { cron: "@daily" }\nsteps: []\n';
    await dialog.getByLabel('Flow YAML').fill(yaml);
    if ((await dialog.getByLabel('Id', { exact: true }).inputValue()) !== 'imported') fail('the id is not read from the YAML');
    await dialog.getByRole('button', { name: 'Create and open' }).click();
    await page.waitForURL(`${base}/flows/imported`);
    if ((await api('GET', '/flows/imported')).body.draft.yaml !== yaml) fail('the imported YAML was not kept byte for byte');
  });

  await step('duplicate, export, delete', async () => {
    await page.goto(`${base}/flows`);
    const id = 'ghl-contact-to-df-customer';
    await flowRow(id).getByRole('button', { name: /^Duplicate / }).click();
    await page.getByRole('status').getByText(`Duplicated ${id} as ${id}-copy`).waitFor();
    const copy = flowRow(`${id}-copy`);
    await copy.getByText('draft, never published').waitFor();
    const copied = await api('GET', `/flows/${id}-copy`);
    if (!copied.body.draft.yaml.startsWith('# Seed recipe 1')) fail('the copy lost the comments');

    await flowRow(id).getByRole('button', { name: /^Export / }).click();
    const dialog = page.getByRole('dialog', { name: /^Export / });
    const downloading = page.waitForEvent('download');
    await dialog.getByRole('button', { name: /Published version \(v1\)/ }).click();
    const download = await downloading;
    const text = readFileSync(await download.path(), 'utf8');
    if (download.suggestedFilename() !== `${id}.v1.yaml`) fail(`the download is named ${download.suggestedFilename()}`);
    if (text !== readFileSync(join(root, `flows/${id}.yaml`), 'utf8')) fail('the exported YAML is not the published text');
    await dialog.waitFor({ state: 'detached' });

    await copy.getByRole('button', { name: /^Delete / }).click();
    const confirm = page.getByRole('dialog', { name: /^Delete / });
    await confirm.waitFor();
    const focused = await page.evaluate(() => document.activeElement?.textContent);
    if (focused !== 'Cancel') fail(`the delete dialog opened with the focus on ${focused}, not Cancel`);
    await shot('delete-flow');
    await confirm.getByRole('button', { name: 'Delete flow' }).click();
    await copy.waitFor({ state: 'detached' });
    await page.getByRole('status').getByText(`Deleted ${id}-copy`).waitFor();
    if ((await api('GET', `/flows/${id}-copy`)).status !== 404) fail('the deleted flow still answers');

    await page.getByLabel('Filter').fill('flickr');
    const rows = page.locator('table.flows tbody tr');
    await until('the filter', async () => (await rows.count()) === 4);
    await page.getByText('4 of 12 flows').waitFor();
    await page.getByLabel('Filter').fill('');
  });

  await step(`${SEEDED} flows`, async () => {
    // Seeded through the API, 25 at a time.
    for (let start = 0; start < SEEDED; start += 25) {
      await Promise.all(
        Array.from({ length: 25 }, (_, n) => {
          const id = `seeded-${String(start + n).padStart(3, '0')}`;
          return api('POST', '/flows', { yaml: `id: ${id}\nname: Seeded flow ${start + n}\ntrigger:\n  schedule: { cron: "@hourly" }\nsteps: []\n` }).then((answer) => {
            if (answer.status !== 201) fail(`creating ${id} answered ${answer.status}`);
          });
        }),
      );
    }
    const total = SEEDED + 12;
    const apiStarted = Date.now();
    await api('GET', '/flows?limit=200');
    const apiMs = Date.now() - apiStarted;
    const started = Date.now();
    await page.goto(`${base}/flows`);
    await page.getByText(`${total} flows`, { exact: true }).waitFor();
    await until('every row', async () => (await page.locator('table.flows tbody tr').count()) === total);
    const renderMs = Date.now() - started;
    const longest = await page.evaluate(() => Math.max(0, ...window.__longTasks));
    const filterStarted = Date.now();
    await page.getByLabel('Filter').fill('seeded-49');
    await page.getByText(`10 of ${total} flows`).waitFor();
    const filterMs = Date.now() - filterStarted;
    console.log(`measure: ${total} flows: first API page (200) ${apiMs} ms; page load to all rows shown ${renderMs} ms; longest main-thread task ${Math.round(longest)} ms; filter ${filterMs} ms`);
    if (renderMs > 15_000) fail(`${total} flows took ${renderMs} ms to render`);
    await page.getByLabel('Filter').fill('');
    await shot('flows-500');
  });

  await step('settings: public URL', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.waitForURL(`${base}/settings`);
    await page.getByRole('status').getByText(/it is this server/).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Copy HighLevel webhook URL' }).click();
    await page.getByText('Copied to the clipboard.').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    if (copied !== `${base}/hooks/ghl`) fail(`the clipboard holds ${copied}`);
    if ((await page.getByLabel('HighLevel (GHL) OAuth redirect URL', { exact: true }).inputValue()) !== `${base}/oauth/callback/ghl`) fail('the GHL redirect URL is not shown');
    await page.getByText('kept for 30 days').waitFor();
    await shot('settings');
  });

  await step('settings: another server behind the public URL', async () => {
    // A second server told that its public URL is the first one's: its settings page reaches
    // the first server from the browser (CORS and CSP allow it) and says it is another one.
    const otherDir = join(dataDir, 'other');
    mkdirSync(otherDir, { recursive: true });
    const other = track(await startServer(otherDir, { flows: null, args: ['--public-url', base] }));
    // Its own browser context: cookies do not tell ports apart, so one context would swap the
    // first server's session cookie for this one's.
    const otherContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const otherPage = await otherContext.newPage();
      await setUpOwner(otherPage, other.base, other.setupUrl.replace(base, other.base));
      await otherPage.goto(`${other.base}/settings`);
      await otherPage.getByRole('status').getByText(/answered, but from another Tether server/).waitFor({ timeout: 15_000 });
      await shot('settings-other-server', otherPage);
    } finally {
      await otherContext.close();
    }
  });

  await step('settings: API tokens', async () => {
    await page.getByLabel('Name', { exact: true }).fill('journey-token');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByLabel('Token journey-token', { exact: true }).inputValue();
    if (!secret.startsWith('tth_')) fail(`the new token is ${secret}`);
    const me = await fetch(`${base}/api/v1/auth/me`, { headers: { Authorization: `Bearer ${secret}` } });
    if (me.status !== 200) fail(`the new token answers ${me.status}`);
    await page.locator('tbody tr', { hasText: 'journey-token' }).waitFor();
    await shot('settings-token');
    await page.getByRole('button', { name: 'Revoke journey-token' }).click();
    await page.getByRole('button', { name: 'Really revoke journey-token' }).click();
    await page.getByText('No API tokens.').waitFor();
    const after = await fetch(`${base}/api/v1/auth/me`, { headers: { Authorization: `Bearer ${secret}` } });
    if (after.status !== 401) fail(`the revoked token answers ${after.status}`);
  });

  await step('settings: password', async () => {
    await page.getByLabel('Current password').fill('not the password');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('alert').getByText(/Changing the password failed \(HTTP 403\): current: the current password is wrong/).waitFor();
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed. Other sessions are signed out.').waitFor();
    await shot('settings-password');
    // This session goes on; signing in again needs the new password.
    if ((await api('GET', '/auth/me')).status !== 200) fail('the session that changed the password ended');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login$/);
    await page.getByLabel('E-mail address').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText(/Signing in failed \(HTTP 401\)/).waitFor();
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/flows`);
  });

  await step('apps', async () => {
    await page.getByRole('link', { name: 'Apps', exact: true }).click();
    await page.waitForURL(`${base}/apps`);
    for (const name of ['HighLevel', 'Flickr', 'Details Flowers']) await page.getByRole('heading', { name, level: 2 }).waitFor();
    await shot('apps');
    await page.getByLabel('Search').fill('customer');
    await until('the search', async () => (await page.locator('ul.apps > li').count()) >= 1 && !(await page.getByRole('heading', { name: 'Flickr', level: 2 }).isVisible()));
    await page.getByRole('link', { name: 'Details Flowers', exact: true }).click();
    await page.waitForURL(`${base}/apps/details_flowers`);
    await page.getByText('apps/details-flowers.yaml').waitFor();
    await page.locator('.badge', { hasText: 'valid' }).waitFor();
    const manifest = await page.getByLabel('Manifest apps/details-flowers.yaml').innerText();
    if (!manifest.includes('id_field: id')) fail('the manifest YAML is not shown');
    await shot('app-details-flowers');
    await page.goto(`${base}/apps/ghl`);
    await page.getByText('typed connector').waitFor();
  });

  await step('apps: try an operation', async () => {
    await page.goto(`${base}/operations/details_flowers.customer.list`);
    await page.getByRole('heading', { name: 'List customers' }).waitFor();
    await page.getByRole('table', { name: 'Output fields' }).waitFor();
    await page.getByRole('button', { name: 'Call' }).click();
    const result = page.getByRole('status', { name: 'Call result' });
    await result.getByText('ok', { exact: true }).waitFor({ timeout: 15_000 });
    const listed = JSON.parse(await result.getByLabel('Output').innerText());
    const customers = Array.isArray(listed) ? listed : listed.items;
    const customer = customers.find((c) => c.email === 'second@example.com');
    if (!customer) fail(`the webhook's customer is not listed: ${JSON.stringify(listed).slice(0, 500)}`);

    await page.goto(`${base}/operations/details_flowers.customer.get`);
    const input = page.getByRole('table', { name: 'Input fields' });
    await input.getByText('required').first().waitFor();
    await page.getByLabel('Input (JSON)').fill(JSON.stringify({ id: customer.id }));
    await page.getByRole('button', { name: 'Call' }).click();
    await result.getByText('ok', { exact: true }).waitFor({ timeout: 15_000 });
    if (JSON.parse(await result.getByLabel('Output').innerText()).email !== 'second@example.com') fail('the read answered another customer');
    await shot('operation-try');

    // A write waits for its confirmation.
    await page.goto(`${base}/operations/details_flowers.customer.create`);
    const call = page.getByRole('button', { name: 'Call' });
    await call.waitFor();
    if (await call.isEnabled()) fail('a write can be called without the confirmation');
    await page.getByLabel(/This may change data in the app/).check();
    if (!(await call.isEnabled())) fail('the confirmed write cannot be called');
  });
});
