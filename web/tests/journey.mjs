// The browser journey: the real `tether serve`, Debian's Chromium driven by playwright-core.
// Usage: node web/tests/journey.mjs path/to/tether
//
// Sets up the owner through the setup page, signs out and in, opens the flows, a flow, the runs
// (live) and the connections, replays the dead run from the Dead letters page, and checks that a
// cross-site write is refused. Screenshots of each page go to target/ui-screenshots/. Exits non-zero with the reason on the first failure.
import { createServer } from 'node:http';
import { EMAIL, PASSWORD, closedPort, connect, fail, journey, sendWebhook, startDetailsFlowers, startServer } from './support.mjs';

/** A page on another origin (another port of 127.0.0.1: same site, other origin) that tries a write. */
function startForeignSite(base) {
  const html = `<!doctype html><title>elsewhere</title><script>
    fetch(${JSON.stringify(base + '/api/v1/tokens')}, {
      method: 'POST', credentials: 'include', mode: 'no-cors',
      headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ name: 'planted' }),
    }).then(() => document.title = 'sent', (e) => document.title = 'error ' + e);
  </script>`;
  const server = createServer((_, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html' });
    response.end(html);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

await journey(async ({ dataDir, context, page, step, shot, track }) => {
  const server = track(await startServer(dataDir));
  const { base, setupUrl } = server;
  if (!setupUrl.startsWith(`${base}/setup?token=`)) fail(`unexpected setup URL ${setupUrl} for ${base}`);

  await step('setup page', async () => {
    await page.goto(setupUrl);
    await page.getByRole('heading', { name: 'Set up Tether' }).waitFor();
    await page.getByLabel('E-mail address').fill(EMAIL);
    await page.getByLabel(/^Password/).fill('too short');
    await shot('setup');
    // The browser's own check stops a short password; the server's rule is tested by typing
    // a long enough one that the server accepts.
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create owner' }).click();
    await page.waitForURL(`${base}/flows`);
  });

  await step('flows list', async () => {
    await page.getByRole('heading', { name: 'Flows' }).waitFor();
    const rows = page.locator('tbody tr');
    await rows.first().waitFor();
    if ((await rows.count()) < 2) fail(`expected the seed flows, saw ${await rows.count()} row(s)`);
    const text = await page.locator('tbody').innerText();
    if (!/poll \S+ every/.test(text) && !/webhook ghl:/.test(text)) fail(`no trigger summary in the list: ${text}`);
    if (!(await page.getByText(EMAIL).isVisible())) fail('the signed-in e-mail address is not shown');
    await shot('flows');
  });

  await step('enabled toggle', async () => {
    // By keyboard: focus the first switch, Space flips it, the server agrees; then back.
    const toggle = page.getByRole('switch').first();
    const before = await toggle.isChecked();
    for (const want of [!before, before]) {
      const answered = page.waitForResponse((r) => /\/api\/v1\/flows\/[^/]+\/(enable|disable)$/.test(r.url()));
      await toggle.focus();
      await page.keyboard.press('Space');
      const answer = await answered;
      if (answer.status() !== 200) fail(`the toggle's ${answer.url()} answered ${answer.status()}`);
      const flows = await (await page.request.get(`${base}/api/v1/flows`)).json();
      if (flows.items[0].enabled !== want) fail(`the server has enabled=${flows.items[0].enabled}, wanted ${want}`);
      await page.waitForFunction((w) => /** @type {HTMLInputElement} */ (document.querySelector('input[role=switch]')).checked === w && !document.querySelector('input[role=switch]:disabled'), want);
    }
  });

  await step('a draft with a problem', async () => {
    // A draft saved through the API (as the editor will) with a misspelt variable: the list
    // shows its draft badge, the flow page its diagnostic with line, column and field path.
    const id = 'ghl-note-to-df-note';
    const flow = await (await page.request.get(`${base}/api/v1/flows/${id}`)).json();
    const at = flow.draft.yaml.indexOf('{{ trigger.');
    if (at < 0) fail(`${id} has no trigger expression to misspell`);
    const yaml = `${flow.draft.yaml.slice(0, at)}{{ triggr.${flow.draft.yaml.slice(at + 11)}`;
    const saved = await page.request.put(`${base}/api/v1/flows/${id}/draft`, {
      headers: { 'If-Match': `"${flow.draft.revision}"`, 'Content-Type': 'application/json' },
      data: { yaml },
    });
    if (saved.status() !== 200) fail(`saving the draft answered ${saved.status()}: ${await saved.text()}`);
    await page.reload();
    const row = page.locator('tbody tr', { hasText: id });
    await row.locator('.badge', { hasText: 'draft' }).waitFor();
    if ((await page.locator('tbody .badge', { hasText: 'draft' }).count()) !== 1) fail('another flow shows a draft badge');
    await row.getByRole('link', { name: flow.name }).click();
    // The flow page is the editor: the problem in its list and on its card, the text in the YAML view.
    await page.getByRole('list', { name: 'Problems' }).getByText(/^\d+:\d+ steps\[0\]\.lookup\.input\.contactId: unknown variable 'triggr\.contactId'/).waitFor();
    await page.getByRole('region', { name: /^Step 1: / }).getByRole('note').waitFor();
    await page.getByRole('button', { name: 'YAML', exact: true }).click();
    const shown = await page.getByRole('textbox', { name: 'Flow YAML' }).innerText();
    if (!shown.includes('{{ triggr.')) fail('the flow page does not show the saved draft');
    await shot('flow');
  });

  await step('runs list', async () => {
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.waitForURL(`${base}/runs`);
    await page.getByRole('heading', { name: /Runs/ }).waitFor();
    // The live stream opens (the badge says so) and the list (empty on a fresh server) loads.
    await page.locator('h1 .badge', { hasText: 'live' }).waitFor({ timeout: 15_000 });
    await page.getByText('No runs yet.').waitFor();
    // A webhook starts a run; it appears, and its status changes, without reloading the page.
    await sendWebhook(base);
    const row = page.locator('tbody tr', { hasText: 'ghl-contact-to-df-customer' });
    await row.waitFor({ timeout: 15_000 });
    await row.locator('.badge', { hasText: /^(retry|dead|done)$/ }).waitFor({ timeout: 30_000 });
    await shot('runs-live');
    await row.getByRole('link').click();
    await page.waitForURL(/\/runs\/\d+$/);
    const steps = page.locator('li.step');
    await steps.first().waitFor();
    const text = await page.locator('ol.steps').innerText();
    for (const want of ['has_email', 'customer', 'upsert', 'live.run@example.com']) {
      if (!text.includes(want)) fail(`the run page does not show ${want}: ${text.slice(0, 800)}`);
    }
    if ((await page.locator('li.step .error').count()) === 0) fail(`the failed step shows no error: ${text.slice(0, 800)}`);
    await shot('run');
    await page.getByRole('link', { name: '← Runs' }).click();
    await page.waitForURL(`${base}/runs`);
    await page.getByLabel('Status').selectOption('done');
    await page.waitForURL(`${base}/runs?status=done`);
    await page.getByText('No runs match these filters.').waitFor();
    await shot('runs');
    await page.goto(`${base}/runs/999999`);
    await page.getByRole('alert').getByText(/Loading run 999999 failed \(HTTP 404\)/).waitFor();
    await shot('run-missing');
  });

  await step('connections list', async () => {
    // Two connections made with the CLI, untested: one to a live simulator, one to a closed
    // port. Testing each from the page gives its real health.
    const flowers = track(await startDetailsFlowers());
    connect(dataDir, 'details-flowers-main', flowers.url);
    connect(dataDir, 'df-down', `http://127.0.0.1:${await closedPort()}`);
    await page.getByRole('link', { name: 'Connections', exact: true }).click();
    await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
    const card = (name) => page.locator('li.card', { has: page.getByRole('heading', { name }) });
    await card('details-flowers-main').getByText('untested', { exact: true }).waitFor();
    const used = await card('details-flowers-main').innerText();
    if (!/used by [1-9]\d* flows?/.test(used)) fail(`details-flowers-main shows no flow using it: ${used}`);
    await card('details-flowers-main').getByRole('button', { name: 'Test' }).click();
    await card('details-flowers-main').locator('.badge', { hasText: /^ok$/ }).waitFor({ timeout: 30_000 });
    await card('df-down').getByRole('button', { name: 'Test' }).click();
    await card('df-down').locator('.badge', { hasText: /^unreachable$/ }).waitFor({ timeout: 30_000 });
    await card('df-down').locator('.error-text').waitFor();
    await shot('connections');
  });

  await step('dead letters', async () => {
    // The webhook's run above died; it is replayed from the Dead letters page, by keyboard,
    // from the start with the current version (now that its connection exists).
    await page.getByRole('link', { name: 'Dead letters', exact: true }).click();
    await page.waitForURL(`${base}/dead-letters`);
    await page.getByRole('heading', { name: 'Dead letters', level: 1 }).waitFor();
    const group = page.getByRole('region', { name: /^ghl-contact-to-df-customer: / });
    await group.waitFor();
    const count = await group.locator('h2 .badge').innerText();
    if (count.trim() !== '1') fail(`the group counts ${count} dead letters, not 1`);
    const row = group.locator('tbody tr').first();
    const rowText = await row.innerText();
    if (!/run #\d+/.test(rowText) || !/upsert|customer/.test(rowText)) fail(`the row shows no run link or failed step: ${rowText}`);
    const deadRunId = Number(rowText.match(/run #(\d+)/)[1]);
    await row.getByRole('button', { name: 'Replay' }).click();
    const dialog = page.getByRole('dialog', { name: /Replay dead letter #\d+/ });
    await dialog.waitFor();
    if (!(await dialog.getByRole('radio', { name: 'The failed step' }).isChecked())) fail('the replay does not default to the failed step');
    if (!(await dialog.getByRole('radio', { name: /^The current version/ }).isChecked())) fail('the replay does not default to the current version');
    await shot('dead-letter-replay');
    // Focus starts on the checked "from" radio: an arrow moves to "The start", Tab goes to the
    // version group (current stays), Tab to the button, Enter sends.
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('value'));
    if (focused !== 'failed_step') fail(`the dialog opened with focus on ${focused}, not the first choice`);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const sent = page.waitForRequest((r) => /\/api\/v1\/dead-letters\/\d+\/replay$/.test(r.url()));
    const answered = page.waitForResponse((r) => /\/api\/v1\/dead-letters\/\d+\/replay$/.test(r.url()));
    await page.keyboard.press('Enter');
    const request = await sent;
    const body = request.postDataJSON();
    if (body.from !== 'start' || body.version !== 'current') fail(`the replay sent ${JSON.stringify(body)}`);
    const key = request.headers()['idempotency-key'];
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(key ?? '')) fail(`the replay's Idempotency-Key is ${key}`);
    const answer = await answered;
    if (answer.status() !== 200) fail(`the replay answered ${answer.status()}: ${await answer.text()}`);
    const replayRunId = (await answer.json()).runId;
    await dialog.waitFor({ state: 'detached' });
    await row.locator('.badge', { hasText: 'replayed' }).waitFor();
    await page.getByRole('status').getByRole('link', { name: `run #${replayRunId}` }).waitFor();
    await shot('dead-letters');
    // Open letters only: after a reload the replayed one is under "replayed", with its run.
    await page.reload();
    await page.getByText('No open dead letters.').waitFor();
    await page.getByLabel('Show').selectOption('replayed');
    await page.waitForURL(`${base}/dead-letters?state=replayed`);
    await page.locator('tbody tr', { hasText: `run #${deadRunId}` }).getByRole('link', { name: `run #${replayRunId}` }).click();
    await page.waitForURL(`${base}/runs/${replayRunId}`);
    await page.getByRole('heading', { name: new RegExp(`^Run #${replayRunId}`) }).waitFor();
    await page.getByText(/replays dead letter \d+/).waitFor();
    // Retrying the dead run again is refused: its dead letter was replayed; the dialog shows why.
    await page.goto(`${base}/runs/${deadRunId}`);
    await page.getByText(`Replayed as run #${replayRunId}`).waitFor();
    await page.getByRole('button', { name: 'Retry' }).click();
    const retry = page.getByRole('dialog', { name: `Retry run #${deadRunId}` });
    await retry.getByRole('button', { name: 'Retry' }).click();
    await retry.getByRole('alert').getByText(new RegExp(`Retrying run ${deadRunId} failed \\(HTTP 409\\): .*replayed already, as run ${replayRunId}`)).waitFor();
    await page.keyboard.press('Escape');
    await retry.waitFor({ state: 'detached' });
  });

  await step('sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login$/);
    const me = await page.request.get(`${base}/api/v1/auth/me`);
    if (me.status() !== 401) fail(`after signing out /auth/me answers ${me.status()}`);
    await page.goto(`${base}/runs`);
    await page.waitForURL(`${base}/login?next=%2Fruns`);
  });

  await step('sign in', async () => {
    await page.getByLabel('E-mail address').fill(EMAIL);
    await page.getByLabel('Password').fill('a wrong password!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText(/Signing in failed \(HTTP 401\)/).waitFor();
    await shot('login-refused');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/runs`);
    await page.getByRole('heading', { name: /Runs/ }).waitFor();
  });

  await step('cross-site write refused', async () => {
    // A page on another port of 127.0.0.1 (same site, other origin) posts with the cookie.
    const foreign = track(await startForeignSite(base));
    const foreignUrl = `http://127.0.0.1:${foreign.address().port}/`;
    const other = await context.newPage();
    const refused = other.waitForResponse((response) => response.url() === `${base}/api/v1/tokens`);
    await other.goto(foreignUrl);
    const answer = await refused;
    if (answer.status() !== 403) fail(`the cross-site POST got ${answer.status()}, not 403`);
    await other.close();
    // A foreign Origin with the session cookie, as a script elsewhere would send it.
    const cookie = (await context.cookies(base)).find((c) => c.name === 'tether_session');
    if (!cookie) fail('no session cookie after signing in');
    const forged = await fetch(`${base}/api/v1/tokens`, {
      method: 'POST',
      headers: { Origin: 'http://evil.example', Cookie: `tether_session=${cookie.value}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'forged' }),
    });
    const body = await forged.json();
    if (forged.status !== 403 || body.code !== 'forbidden') fail(`a foreign Origin got ${forged.status}: ${JSON.stringify(body)}`);
    // Nothing was created by either.
    const tokens = await (await page.request.get(`${base}/api/v1/tokens`)).json();
    if (tokens.items.length !== 0) fail(`a cross-site write created tokens: ${JSON.stringify(tokens.items)}`);
  });
});
