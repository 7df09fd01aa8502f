// The flow editor in a real browser against the real `tether serve`, `tether sim ghl` (its signed
// webhooks delivered to serve) and `tether sim details-flowers`:
// - the time to the first cards of a seed flow's editor;
// - the contact recipe "new GHL contact → Details Flowers customer" built from a blank flow BY
//   DRAGGING (the trigger and the action from the palette, fields from the data panel onto inputs),
//   published; a contact created through the GHL simulator's API is delivered as a webhook, its run
//   appears live in Runs with its steps' data, and the customer is in the Details Flowers simulator;
// - the same recipe once more by click and keyboard only;
// - a mapping error (`trigger.emial`) shown on the right field and card; the YAML view (comments
//   kept), history with a diff, discard draft, run once.
// Pointer and keyboard actions from "new flow" to "published" are counted and printed.
// Usage: node web/tests/editor.mjs path/to/tether
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, fail, journey, layoutShift, root, setUpOwner, startDetailsFlowers, startServer, startSimulator, webhookKeys } from './support.mjs';
import { spawnSync } from 'node:child_process';

const PIT = 'pit-editor-journey';

/** Waits until `read()` gives `want` (or matches it), for at most `ms`. */
async function until(what, read, want, ms = 15_000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await read();
    if (typeof want === 'function' ? want(last) : want instanceof RegExp ? want.test(String(last)) : last === want) return last;
    await new Promise((done) => setTimeout(done, 100));
  }
  fail(`${what}: wanted ${want}, have ${JSON.stringify(last)?.slice(0, 1500)}`);
}

/** Pointer and keyboard actions, counted: each click, drag, typed field and key press is one. */
function counter() {
  let count = 0;
  return {
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
    async click(locator) {
      count++;
      await locator.click();
    },
    async drag(source, target) {
      count++;
      await target.scrollIntoViewIfNeeded();
      await source.scrollIntoViewIfNeeded();
      await source.dragTo(target);
    },
    async fill(locator, text) {
      count++;
      await locator.fill(text);
    },
    async press(locator, key) {
      count++;
      await locator.press(key);
    },
  };
}

await journey(async ({ dataDir, page, step, shot, track, problems }) => {
  // Two refusals are the journey's own: the live preview of the misspelt expression (422, its
  // problem shown under the field) and the save after someone else's (412, the conflict shown).
  // Any other refused request stays an error of the journey.
  const expected = { 422: /\/api\/v1\/preview$/, 412: /\/api\/v1\/flows\/[^/]+\/draft$/ };
  let otherRefusals = 0;
  page.on('response', (response) => {
    const allowed = expected[response.status()];
    if (allowed && !allowed.test(response.url())) otherRefusals++;
  });
  // The GHL simulator signs its webhooks with the key serve is told to trust.
  const keys = join(dataDir, 'sim-keys');
  mkdirSync(keys, { recursive: true });
  writeFileSync(join(keys, 'ghl-webhook-ed25519.pem'), webhookKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  copyFileSync(join(root, 'crates/tether-sim/keys/ghl-webhook-rsa.pem'), join(keys, 'ghl-webhook-rsa.pem'));

  const flowers = track(await startDetailsFlowers());
  const server = track(await startServer(dataDir));
  const { base, setupUrl } = server;
  const ghl = track(
    await startSimulator('ghl', ['--pit', PIT, '--rate-limit', 'off', '--webhook-url', `${base}/hooks/ghl`, '--webhook-keys', keys, '--seed', '0']),
  );
  const location = await until('the GHL simulator\'s location', () => ghl.printed.map((line) => line.match(/location:\s+(\S+)/)?.[1]).find(Boolean), (found) => !!found, 10_000);
  const ghlConnect = spawnSync(
    process.argv[2],
    ['connect', '--skip-test', '--data-dir', join(dataDir, 'data'), 'ghl', '--name', 'ghl-main', '--pit', PIT, '--location', location, '--api-base', ghl.url],
    { encoding: 'utf8', env: Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'TETHER_SECRET_KEY')) },
  );
  if (ghlConnect.status !== 0) fail(`tether connect ghl failed: ${ghlConnect.stdout}${ghlConnect.stderr}`);
  connect(dataDir, 'details-flowers-main', flowers.url);
  await setUpOwner(page, base, setupUrl);

  const api = async (method, path, data) => {
    const answer = await page.request.fetch(`${base}/api/v1${path}`, { method, data, headers: data ? { 'Content-Type': 'application/json' } : {} });
    const body = await answer.text();
    if (!answer.ok()) fail(`${method} ${path} answered ${answer.status()}: ${body}`);
    return body ? JSON.parse(body) : null;
  };
  const customers = async () => {
    const answer = await fetch(`${flowers.url}/customers?per_page=100`, { headers: { 'X-Api-Key': 'ui-key' } });
    const body = await answer.json();
    return body.items ?? body.data ?? body;
  };
  const createContact = async (email, firstName, lastName) => {
    const answer = await fetch(`${ghl.url}/contacts/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${PIT}`, Version: '2021-07-28', 'Content-Type': 'application/json' },
      body: JSON.stringify({ locationId: location, email, firstName, lastName }),
    });
    if (!answer.ok) fail(`creating a contact in the GHL simulator answered ${answer.status}: ${await answer.text()}`);
  };
  // The seed recipe listens to the same event: disabled, so the runs seen are the new flows'.
  for (const seed of ['ghl-contact-to-df-customer']) await api('POST', `/flows/${seed}/disable`);

  const palette = page.getByRole('complementary', { name: 'Steps to add' });
  const data = page.getByRole('complementary', { name: 'Data' });
  const steps = page.getByRole('list', { name: 'Steps' });
  const saved = page.getByRole('status', { name: 'Save state' });
  const inspector = (name) => page.getByRole('region', { name: `Inspector: ${name}` });
  const triggerData = data.getByRole('region', { name: /^Trigger: Contact created/ });
  const act = counter();

  await step('time to the first cards of a seed flow', async () => {
    await page.goto(`${base}/flows/ghl-contact-to-df-customer`);
    await steps.getByRole('region', { name: /^Step 3: / }).waitFor();
    const ms = await page.evaluate(() => performance.getEntriesByName('tether-editor-cards')[0]?.startTime);
    if (typeof ms !== 'number') fail('the editor recorded no first-cards mark');
    console.log(`editor first render (navigation start → cards): ${ms.toFixed(0)} ms`);
    await saved.getByText(/Draft saved/).waitFor();
    const shift = await layoutShift(page);
    console.log(`editor layout shift while loading: ${shift.toFixed(3)}`);
    if (shift >= 0.1) fail(`the editor jumps while it loads (cumulative layout shift ${shift.toFixed(3)})`);
    await shot('seed-flow');
  });

  /** A blank flow, created as the Flows page does, with a comment that must survive. */
  const blank = async (id, name) => {
    await api('POST', '/flows', { yaml: `# Built in the browser; this comment must survive.\nid: ${id}\nname: ${name}\n` });
    await page.goto(`${base}/flows/${id}`);
    await page.getByRole('heading', { name: 'Choose a trigger', exact: true }).waitFor();
  };

  /** Publishes with a message; counted. */
  const publish = async (message, byKeyboard) => {
    await act.click(page.getByRole('button', { name: 'Publish', exact: true }));
    const dialog = page.getByRole('dialog', { name: /^Publish / });
    await act.fill(dialog.getByLabel('What changed'), message);
    if (byKeyboard) await act.press(dialog.getByLabel('What changed'), 'Enter');
    else await act.click(dialog.getByRole('button', { name: 'Publish' }));
    await page.getByRole('status').getByText(/^Published v1 /).waitFor();
  };

  let dragged = 0;
  await step('build the contact recipe by dragging', async () => {
    // From the Flows page's "New flow" button: a blank flow with a name (its id suggested).
    await page.goto(`${base}/flows`);
    await page.getByRole('heading', { name: 'Flows' }).waitFor();
    act.reset();
    await act.click(page.getByRole('button', { name: 'New flow', exact: true }));
    const dialog = page.getByRole('dialog', { name: 'New flow' });
    await act.fill(dialog.getByLabel('Name', { exact: true }), 'New contact → customer');
    if ((await dialog.getByLabel('Id', { exact: true }).inputValue()) !== 'new-contact-customer') {
      fail(`the suggested id is ${await dialog.getByLabel('Id', { exact: true }).inputValue()}`);
    }
    await act.click(dialog.getByRole('button', { name: 'Create and open' }));
    await page.waitForURL(`${base}/flows/new-contact-customer`);
    await page.getByRole('heading', { name: 'Choose a trigger', exact: true }).waitFor();
    // The trigger: "Contact created" dragged from the palette onto the trigger card.
    await act.drag(palette.getByRole('button', { name: 'Contact created', exact: true }), steps.getByRole('region', { name: 'Trigger' }));
    await steps.getByRole('button', { name: /Contact created \(HighLevel webhook\)/ }).waitFor();
    // The action: Details Flowers "Create customer" dragged onto the "+" at the end.
    await act.drag(palette.getByRole('button', { name: 'Create customer', exact: true }), steps.getByRole('button', { name: 'Add a step at the end' }));
    const action = inspector('create_customer');
    await action.waitFor();
    // The sample's fields dragged onto the inputs: the e-mail, then the name.
    const email = action.getByLabel('Email', { exact: true });
    await act.drag(triggerData.getByRole('button', { name: 'Email', exact: true }), email);
    await until('the email input', () => email.inputValue(), '{{ trigger.email }}');
    const fullName = action.getByLabel('Full name', { exact: true });
    await act.drag(triggerData.getByRole('button', { name: 'Name', exact: true }), fullName);
    await until('the full name input', () => fullName.inputValue(), '{{ trigger.name }}');
    await shot('dragged');
    await until('the autosave', () => saved.innerText(), /Draft saved/);
    await publish('New contacts become customers', false);
    dragged = act.count;
    console.log(`actions from new flow to published, by dragging: ${dragged}`);
    const flow = await api('GET', '/flows/new-contact-customer');
    const yaml = flow.draft.yaml;
    for (const want of ['ContactCreate', 'details_flowers.customer.create', 'connection: details-flowers-main', 'email: "{{ trigger.email }}"', 'full_name: "{{ trigger.name }}"']) {
      if (!yaml.includes(want)) fail(`the published YAML lacks ${want}:\n${yaml}`);
    }
    if (flow.draft.diagnostics.length !== 0) fail(`the published draft has problems: ${JSON.stringify(flow.draft.diagnostics)}`);
    await shot('published');
  });

  await step('a contact created in GHL runs the flow, live', async () => {
    await page.getByRole('link', { name: 'Its runs' }).click();
    await page.waitForURL(`${base}/runs?flow=new-contact-customer`);
    await page.locator('h1 .badge', { hasText: 'live' }).waitFor({ timeout: 15_000 });
    await createContact('Grace.Hopper@Example.com', 'Grace', 'Hopper');
    const row = page.locator('tbody tr', { hasText: 'new-contact-customer' });
    await row.waitFor({ timeout: 30_000 });
    await row.locator('.badge', { hasText: /^done$/ }).waitFor({ timeout: 30_000 });
    await shot('runs-live');
    await row.getByRole('link').first().click();
    await page.waitForURL(/\/runs\/\d+$/);
    await page.locator('li.step').first().waitFor();
    const text = await page.locator('ol.steps').innerText();
    for (const want of ['create_customer', 'grace.hopper@example.com'.replace(/./, 'g')]) {
      if (!text.toLowerCase().includes(want.toLowerCase())) fail(`the run page does not show ${want}: ${text.slice(0, 800)}`);
    }
    await shot('run');
    const all = await until('the customer in Details Flowers', customers, (list) => Array.isArray(list) && list.some((c) => /grace\.hopper@example\.com/i.test(c.email)));
    const customer = all.find((c) => /grace\.hopper@example\.com/i.test(c.email));
    if (customer.full_name !== 'Grace Hopper') fail(`the customer's name is ${customer.full_name}`);
  });

  await step('the same recipe by click and keyboard only', async () => {
    await blank('contact-to-customer-2', 'New contact → customer, by click');
    act.reset();
    await act.click(steps.getByRole('button', { name: /^Contact created/ }));
    await steps.getByRole('button', { name: /Contact created \(HighLevel webhook\)/ }).waitFor();
    await act.click(palette.getByRole('button', { name: 'Create customer', exact: true }));
    const action = inspector('create_customer');
    await action.waitFor();
    // Auto-map by name: Email ← email, Full name ← name.
    await act.click(action.getByRole('button', { name: 'Auto-map by name' }));
    await action.getByRole('status').getByText(/^Mapped \d/).waitFor();
    const email = action.getByLabel('Email', { exact: true });
    await until('the email input', () => email.inputValue(), '{{ trigger.email }}');
    await until('the autosave', () => saved.innerText(), /Draft saved/);
    await publish('By click', true);
    console.log(`actions from new flow to published, by click and keyboard: ${act.count}`);
    const yaml = (await api('GET', '/flows/contact-to-customer-2')).draft.yaml;
    if (!yaml.includes('email: "{{ trigger.email }}"')) fail(`the auto-mapped YAML lacks the email: ${yaml}`);
    if (!yaml.startsWith('# Built in the browser; this comment must survive.\n')) fail(`the visual edits lost the flow's comment:\n${yaml}`);
    await shot('by-click');
  });

  await step('a mapping error shows on its field and card', async () => {
    const action = inspector('create_customer');
    const email = action.getByLabel('Email', { exact: true });
    await email.fill('{{ trigger.emial }}');
    await until('the email field marked invalid', () => email.getAttribute('aria-invalid'), 'true');
    const described = (await email.getAttribute('aria-describedby')) ?? '';
    const messages = await Promise.all(described.split(' ').filter(Boolean).map((id) => page.locator(`[id="${id}"]`).innerText().catch(() => '')));
    if (!messages.some((m) => m.includes('trigger.emial'))) fail(`the email field's description does not name the problem: ${JSON.stringify(messages)}`);
    await steps.getByRole('region', { name: /^Step 1: / }).getByRole('note').getByText(/trigger\.emial/).waitFor();
    await page.getByRole('list', { name: 'Problems' }).getByText(/steps\[0\]\.action\.input\.email: .*trigger\.emial/).waitFor();
    await shot('mapping-error');
  });

  await step('the YAML view keeps the text and lints it', async () => {
    const before = await api('GET', '/flows/contact-to-customer-2');
    await page.getByRole('button', { name: 'YAML', exact: true }).click();
    const yaml = page.getByRole('textbox', { name: 'Flow YAML' });
    await yaml.waitFor();
    const shown = await yaml.innerText();
    if (!shown.includes('# Built in the browser; this comment must survive.')) fail(`the YAML view lost the comment: ${shown}`);
    await page.locator('.cm-content .cm-lintRange-error').first().waitFor();
    await shot('yaml');
    await page.getByRole('button', { name: 'Visual', exact: true }).click();
    // Switching views saved nothing: the text was not reformatted.
    await new Promise((done) => setTimeout(done, 1500));
    const after = await api('GET', '/flows/contact-to-customer-2');
    if (after.draft.revision !== before.draft.revision || after.draft.yaml !== before.draft.yaml) fail('switching views changed the draft');
  });

  await step('discard the draft and read the history', async () => {
    await page.getByRole('button', { name: 'Discard draft' }).click();
    await page.getByRole('dialog', { name: 'Discard the draft?' }).getByRole('button', { name: 'Discard draft' }).click();
    await until('the email input back', () => inspector('create_customer').getByLabel('Email', { exact: true }).inputValue().catch(() => ''), '').catch(() => {});
    await steps.getByRole('button', { name: /^Step 1|Create customer/ }).first().click();
    await until('the published email back', () => inspector('create_customer').getByLabel('Email', { exact: true }).inputValue(), '{{ trigger.email }}');
    if ((await page.getByRole('list', { name: 'Problems' }).count()) !== 0) fail('the discarded draft still shows problems');
    await page.getByRole('button', { name: 'History' }).click();
    const history = page.getByRole('dialog', { name: 'History' });
    await history.getByRole('button', { name: /^v1 / }).waitFor();
    await history.getByRole('radio', { name: 'the version before' }).check();
    await history.getByLabel('Diff').getByText('+ id: contact-to-customer-2').waitFor();
    await shot('history');
    await history.getByRole('button', { name: 'Close' }).click();
  });

  await step('run the draft once', async () => {
    await page.getByRole('button', { name: 'Run once' }).click();
    const dialog = page.getByRole('dialog', { name: 'Run the draft once' });
    await dialog.getByRole('button', { name: 'Run once' }).click();
    const result = dialog.getByRole('status', { name: 'Run once result' });
    await result.getByText(/Draft revision \d+/).waitFor();
    const text = await result.innerText();
    if (!/not run: action `create_customer` writes/.test(text)) fail(`run once did not hold the write back: ${text}`);
    await shot('run-once');
    await dialog.getByRole('button', { name: 'Close' }).click();
  });
  const draftOf = async (id) => (await api('GET', `/flows/${id}`)).draft;
  const stepIds = async (id) => [...(await draftOf(id)).yaml.matchAll(/^  - id: (\S+)$/gm)].map((m) => m[1]);

  await step('reorder steps by dragging and by keyboard', async () => {
    await palette.getByRole('button', { name: 'Filter', exact: true }).click();
    await inspector('filter').waitFor();
    await until('the filter added at the end', () => stepIds('contact-to-customer-2'), (ids) => ids.join() === 'create_customer,filter');
    await steps.getByRole('region', { name: /^Step 2: / }).dragTo(steps.getByRole('button', { name: 'Add a step before step 1' }));
    await until('the filter dragged to the top', () => stepIds('contact-to-customer-2'), (ids) => ids.join() === 'filter,create_customer');
    await shot('reordered');
    await steps.getByRole('button', { name: 'Move filter down' }).focus();
    await page.keyboard.press('Enter');
    await until('the filter moved down', () => stepIds('contact-to-customer-2'), (ids) => ids.join() === 'create_customer,filter');
    await steps.getByRole('button', { name: 'Remove filter' }).click();
    await until('the filter removed', () => stepIds('contact-to-customer-2'), (ids) => ids.join() === 'create_customer');
    const yaml = (await draftOf('contact-to-customer-2')).yaml;
    if (!yaml.startsWith('# Built in the browser; this comment must survive.\n')) fail(`the edits lost the comment: ${yaml}`);
  });

  await step('test a step against the sample', async () => {
    await steps.getByRole('region', { name: /^Step 1: / }).getByRole('button', { name: /Create customer/ }).click();
    const action = inspector('create_customer');
    await action.getByRole('button', { name: 'Test step' }).click();
    const result = action.getByRole('status', { name: 'Test result' });
    await result.getByText('Input sent').waitFor();
    const text = await result.innerText();
    if (!/not run: action `create_customer` writes/.test(text) || !text.includes('JohnDeo@gmail.comm')) fail(`the step test shows: ${text}`);
    await shot('test-step');
  });

  await step('listen for a test event', async () => {
    await data.getByRole('button', { name: 'Listen for a test event' }).click();
    await data.getByRole('status').getByText('Listening for the next event…').waitFor();
    await createContact('Ada.Lovelace@Example.com', 'Ada', 'Lovelace');
    await data.getByRole('button', { name: 'Listen for a test event' }).waitFor({ timeout: 30_000 });
    await until('the captured sample in the data panel', () => triggerData.innerText(), /ada\.lovelace@example\.com/i);
    const chosen = await data.getByLabel('Trigger sample').evaluate((select) => select.selectedOptions[0]?.textContent ?? '');
    if (!/^webhook sample #\d+/.test(chosen)) fail(`the captured sample is not the chosen one: ${chosen}`);
    await shot('captured');
  });

  await step('a conflicting save is shown, never overwritten', async () => {
    const other = await draftOf('contact-to-customer-2');
    const theirs = other.yaml.replace('name: New contact → customer, by click', 'name: Renamed elsewhere');
    const answer = await page.request.put(`${base}/api/v1/flows/contact-to-customer-2/draft`, {
      headers: { 'If-Match': `"${other.revision}"`, 'Content-Type': 'application/json' },
      data: { yaml: theirs },
    });
    if (answer.status() !== 200) fail(`the other save answered ${answer.status()}`);
    await inspector('create_customer').getByLabel('Label').fill('Create the customer');
    const alert = page.getByRole('alert').filter({ hasText: 'Someone else saved this draft' });
    await alert.waitFor();
    await until('the save state', () => saved.innerText(), /changed elsewhere/);
    if ((await draftOf('contact-to-customer-2')).yaml !== theirs) fail('the other save was overwritten');
    await shot('conflict');
    await alert.getByRole('button', { name: /Reload their draft/ }).click();
    await page.getByRole('heading', { name: 'Renamed elsewhere' }).waitFor();
    await until('the save state', () => saved.innerText(), /Draft saved/);
  });

  if (otherRefusals === 0) {
    for (const p of problems.filter((p) => /status of (422|412) /.test(p))) problems.splice(problems.indexOf(p), 1);
  }
});
