// Journey: connections made in the browser, against `tether sim ghl`, `tether sim flickr` and
// `tether sim details-flowers`. Usage: node web/tests/connections.mjs path/to/tether
//
// GHL through the OAuth popup (the redirect URL shown and copied, the simulator's consent page
// approved in the popup, which reports back and closes; the card shows `ok`); an agency install
// acting on one location; a private integration token and a Details Flowers API key, each
// refused on its field, then accepted; Flickr through the OAuth 1.0a popup, and a consent
// refused there; rename (refused while flows name it, listing
// them; done for an unused one); reconnect (the popup again; a new key); delete (refused while
// used, listing the flows; done for an unused one); and, in a browser that blocks popups, the
// consent URL offered as a link, the consent finished in another tab, and the page noticing.
import { EMAIL, PASSWORD, closes, fail, journey, setUpOwner, startDetailsFlowers, startServer, startSimulator } from './support.mjs';

const CLIENT_ID = 'sim-client-id';
const CLIENT_SECRET = 'sim-client-secret';

await journey(async ({ dataDir, browser, context, page, step, shot, track }) => {
  const ghl = track(await startSimulator('ghl', ['--pit', 'ui-pit']));
  const flickr = track(await startSimulator('flickr'));
  const flowers = track(await startDetailsFlowers());
  const server = track(await startServer(dataDir));
  const { base } = server;
  // A connection's card: the list item whose heading starts with its name (then its badge).
  const cardOf = (name) => page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 2 }).filter({ hasText: new RegExp(`^${name.replace(/[-.]/g, '\\$&')}\\b`) }) });
  const badge = (name, health) => cardOf(name).locator('.badge', { hasText: new RegExp(`^${health}$`) });

  await step('sign in and open the connections', async () => {
    await setUpOwner(page, base, server.setupUrl);
    await page.getByRole('link', { name: 'Connections', exact: true }).click();
    await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
    await page.getByText('No connections yet').waitFor();
    await shot('empty');
  });

  await step('connect GHL through the OAuth popup', async () => {
    await page.getByRole('button', { name: 'New connection' }).click();
    const form = page.getByRole('form', { name: 'New connection' });
    await form.waitFor();
    // HighLevel and OAuth 2.0 are the first choices; the redirect URL is the server's own.
    if (!(await form.getByRole('radio', { name: 'HighLevel', exact: true }).isChecked())) fail('HighLevel is not the first choice');
    if (!(await form.getByRole('radio', { name: /OAuth 2\.0/ }).isChecked())) fail('OAuth 2.0 is not the first auth type');
    const redirect = form.getByRole('textbox', { name: 'Redirect URL to register with the Marketplace app' });
    const settings = await (await page.request.get(`${base}/api/v1/settings`)).json();
    if ((await redirect.inputValue()) !== settings.oauthRedirectUrls.ghl || settings.oauthRedirectUrls.ghl !== `${base}/oauth/callback/ghl`) {
      fail(`the redirect URL shown is ${await redirect.inputValue()}, the server says ${settings.oauthRedirectUrls.ghl}`);
    }
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await form.getByRole('button', { name: /^Copy Redirect URL/ }).click();
    await form.getByText('Copied.').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    if (copied !== settings.oauthRedirectUrls.ghl) fail(`copied ${copied}`);
    if ((await form.getByLabel('Name', { exact: true }).inputValue()) !== 'ghl-main') fail('the name is not suggested');

    // Without a client: the server says which field, and the form shows it there.
    await form.getByLabel('API base URL (optional)').fill(ghl.url);
    const refusedPopup = context.waitForEvent('page');
    await form.getByRole('button', { name: 'Connect' }).click();
    const blank = await refusedPopup;
    await form.locator('#new-clientId-error').waitFor();
    await closes(blank, 'the popup of a refused start');
    if ((await form.getByLabel('Client id').getAttribute('aria-invalid')) !== 'true') fail('the client id field is not marked');

    await form.getByLabel('Client id').fill(CLIENT_ID);
    await form.getByLabel('Client secret').fill(CLIENT_SECRET);
    await shot('new-ghl-oauth');
    const popupOpened = context.waitForEvent('page');
    await form.getByRole('button', { name: 'Connect' }).click();
    const popup = await popupOpened;
    await popup.getByRole('heading', { name: 'Choose an account' }).waitFor({ timeout: 15_000 });
    await page.getByText('Waiting for the consent in the popup window').waitFor();
    await shot('waiting-for-consent');
    await shot('consent-popup', popup);
    const closed = popup.waitForEvent('close', { timeout: 30_000 });
    await popup.getByRole('button', { name: 'Approve' }).click();
    await closed;
    await badge('ghl-main', 'ok').waitFor({ timeout: 30_000 });
    const text = await cardOf('ghl-main').innerText();
    if (!/HighLevel · OAuth 2\.0 · location \S+/.test(text)) fail(`the card does not say whose account: ${text}`);
    if (!/used by [1-9]\d* flows?/.test(text)) fail(`the card lists no flows: ${text}`);
    await page.getByText('Connected ghl-main: its test says ok.').waitFor();
    // Many flows fold under "used by N flows"; opened, each is a link.
    await cardOf('ghl-main').getByText(/^used by \d+ flows$/).click();
    const link = cardOf('ghl-main').getByRole('list', { name: 'Flows using ghl-main' }).getByRole('link').first();
    if (!/^\/flows\//.test((await link.getAttribute('href')) ?? '')) fail('the flows are not linked');
    await shot('ghl-connected');
  });

  await step('an agency install, acting on one location', async () => {
    const location = (await (await page.request.get(`${base}/api/v1/connections/ghl-main`)).json()).accountId;
    await page.getByRole('button', { name: 'New connection' }).click();
    const form = page.getByRole('form', { name: 'New connection' });
    await form.getByLabel('Name', { exact: true }).fill('ghl-agency');
    await form.getByRole('radio', { name: /An agency/ }).check();
    await form.getByLabel('Client id').fill(CLIENT_ID);
    await form.getByLabel('Client secret').fill(CLIENT_SECRET);
    await form.getByLabel('API base URL (optional)').fill(ghl.url);
    // Without the location: refused on that field, before any consent.
    const blank = context.waitForEvent('page');
    await form.getByRole('button', { name: 'Connect' }).click();
    await closes(await blank, 'the popup of an agency start without its location');
    await form.locator('#new-locationId-error').waitFor();
    await form.getByLabel('Location id').fill(location);
    if ((await form.locator('#new-locationId-error').count()) !== 0) fail('an edited field keeps its old refusal');
    const popupOpened = context.waitForEvent('page');
    await form.getByRole('button', { name: 'Connect' }).click();
    const popup = await popupOpened;
    await popup.getByText('Install for the agency, on every location:').waitFor({ timeout: 15_000 });
    await shot('consent-agency', popup);
    const closed = popup.waitForEvent('close', { timeout: 30_000 });
    await popup.getByRole('button', { name: 'Approve' }).click();
    await closed;
    await badge('ghl-agency', 'ok').waitFor({ timeout: 30_000 });
    const text = await cardOf('ghl-agency').innerText();
    if (!text.includes(`location ${location} of agency `)) fail(`the agency card says ${text}`);
  });

  await step('a GHL private integration token, tested on creation', async () => {
    const location = (await (await page.request.get(`${base}/api/v1/connections/ghl-main`)).json()).accountId;
    await page.getByRole('button', { name: 'New connection' }).click();
    const form = page.getByRole('form', { name: 'New connection' });
    await form.getByRole('radio', { name: /Private integration token/ }).check();
    await form.getByLabel('Name', { exact: true }).fill('ghl-pit');
    await form.getByLabel('Token', { exact: true }).fill('not-the-token');
    await form.getByLabel('Location id').fill(location);
    await form.getByLabel('API base URL (optional)').fill(ghl.url);
    await form.getByRole('button', { name: 'Test and save' }).click();
    await form.locator('#new-token-error').getByText(/HighLevel refused the token/).waitFor({ timeout: 30_000 });
    await shot('ghl-pit-refused');
    await form.getByLabel('Token', { exact: true }).fill('ui-pit');
    await form.getByRole('button', { name: 'Test and save' }).click();
    await badge('ghl-pit', 'ok').waitFor({ timeout: 30_000 });
    if (!/private integration token · location /.test(await cardOf('ghl-pit').innerText())) fail('the token card does not say so');
  });

  await step('Flickr through the OAuth 1.0a popup, and a consent refused', async () => {
    await page.getByRole('button', { name: 'New connection' }).click();
    const form = page.getByRole('form', { name: 'New connection' });
    await form.getByRole('radio', { name: 'Flickr', exact: true }).check();
    if ((await form.getByLabel('Name', { exact: true }).inputValue()) !== 'flickr-main') fail('the name does not follow the app');
    const callback = await form.getByRole('textbox', { name: 'Callback URL' }).inputValue();
    if (callback !== `${base}/oauth/callback/flickr`) fail(`the callback shown is ${callback}`);
    await form.getByLabel('API key', { exact: true }).fill('sim-flickr-key');
    await form.getByLabel('API secret').fill('sim-flickr-secret');
    await form.getByLabel('API base URL (optional)').fill(flickr.url);
    await shot('new-flickr');
    let popupOpened = context.waitForEvent('page');
    await form.getByRole('button', { name: 'Connect' }).click();
    let popup = await popupOpened;
    await popup.getByRole('heading', { name: 'Authorise application' }).waitFor({ timeout: 15_000 });
    let closed = popup.waitForEvent('close', { timeout: 30_000 });
    await popup.getByRole('button', { name: "OK, I'll authorise it" }).click();
    await closed;
    await badge('flickr-main', 'ok').waitFor({ timeout: 30_000 });
    if (!/Flickr · OAuth 1\.0a · \S+ \(\S+@N\d+\)/.test(await cardOf('flickr-main').innerText())) fail('the Flickr card names no user');

    // Refused at Flickr: the simulator's page stays; the person closes it; the form says so.
    await page.getByRole('button', { name: 'New connection' }).click();
    await form.getByRole('radio', { name: 'Flickr', exact: true }).check();
    await form.getByLabel('Name', { exact: true }).fill('flickr-refused');
    await form.getByLabel('API key', { exact: true }).fill('sim-flickr-key');
    await form.getByLabel('API secret').fill('sim-flickr-secret');
    await form.getByLabel('API base URL (optional)').fill(flickr.url);
    popupOpened = context.waitForEvent('page');
    await form.getByRole('button', { name: 'Connect' }).click();
    popup = await popupOpened;
    await popup.getByRole('button', { name: 'No thanks' }).click();
    await popup.getByRole('heading', { name: 'Not authorised' }).waitFor();
    await popup.close();
    await form.getByRole('alert').getByText('the consent window closed before the connection was stored').waitFor({ timeout: 15_000 });
    await shot('flickr-refused');
    await form.getByRole('button', { name: 'Cancel' }).click();
    if ((await cardOf('flickr-refused').count()) !== 0) fail('a refused consent left a connection');
  });

  await step('a Details Flowers API key: refused on its field, then accepted', async () => {
    await page.getByRole('button', { name: 'New connection' }).click();
    const form = page.getByRole('form', { name: 'New connection' });
    await form.getByRole('radio', { name: 'Details Flowers', exact: true }).check();
    if ((await form.getByLabel('Name', { exact: true }).inputValue()) !== 'details-flowers-main') fail('the name does not follow the app');
    await form.getByLabel('API key', { exact: true }).fill('wrong-key');
    await form.getByLabel('API base URL').fill(flowers.url);
    await form.getByRole('button', { name: 'Test and save' }).click();
    const fieldError = form.locator('#new-token-error');
    await fieldError.waitFor({ timeout: 30_000 });
    if (!/refused/.test(await fieldError.innerText())) fail(`the key's field says ${await fieldError.innerText()}`);
    if ((await form.getByLabel('API key', { exact: true }).getAttribute('aria-describedby')) !== 'new-token-error') fail('the error is not tied to the field');
    await form.getByRole('alert').getByText(/Connecting Details Flowers as details-flowers-main failed \(HTTP 422\)/).waitFor();
    await shot('df-key-refused');
    await form.getByLabel('API key', { exact: true }).fill('ui-key');
    await form.getByRole('button', { name: 'Test and save' }).click();
    await badge('details-flowers-main', 'ok').waitFor({ timeout: 30_000 });
    // A second one, used by no flow, for the rename and delete that go through.
    await page.getByRole('button', { name: 'New connection' }).click();
    await form.getByRole('radio', { name: 'Details Flowers', exact: true }).check();
    await form.getByLabel('Name', { exact: true }).fill('df-spare');
    await form.getByLabel('API key', { exact: true }).fill('ui-key');
    await form.getByLabel('API base URL').fill(flowers.url);
    await form.getByRole('button', { name: 'Test and save' }).click();
    await badge('df-spare', 'ok').waitFor({ timeout: 30_000 });
    if (!/used by 0 flows/.test(await cardOf('df-spare').innerText())) fail('df-spare should be unused');
    await shot('df-connected');
  });

  await step('rename: refused while flows name it, done when none does', async () => {
    const main = cardOf('details-flowers-main');
    await main.getByRole('button', { name: 'Rename' }).click();
    const field = main.getByLabel('New name');
    if (!(await field.evaluate((input) => input === document.activeElement))) fail('the name field has no focus');
    await field.fill('flowers');
    await page.keyboard.press('Enter');
    await main.getByRole('alert').getByText(/Renaming details-flowers-main was refused \(HTTP 409\): these flows name it/).waitFor();
    const inTheWay = main.getByRole('list', { name: 'Flows in the way of details-flowers-main' });
    if ((await inTheWay.getByRole('link').count()) < 1) fail('the flows in the way are not linked');
    await shot('rename-refused');
    await page.keyboard.press('Escape');
    await main.getByRole('button', { name: 'Rename' }).waitFor();

    const spare = cardOf('df-spare');
    await spare.getByRole('button', { name: 'Rename' }).click();
    await spare.getByLabel('New name').fill('df-unused');
    await spare.getByRole('button', { name: 'Save name' }).click();
    await cardOf('df-unused').waitFor();
    if ((await cardOf('df-spare').count()) !== 0) fail('the old name is still shown');
    await shot('renamed');
  });

  await step('reconnect: the popup again, and a new key', async () => {
    const main = cardOf('ghl-main');
    const before = await main.locator('time').getAttribute('datetime');
    const popupOpened = context.waitForEvent('page');
    await main.getByRole('button', { name: 'Reconnect' }).click();
    const popup = await popupOpened;
    await popup.getByRole('heading', { name: 'Choose an account' }).waitFor({ timeout: 15_000 });
    const closed = popup.waitForEvent('close', { timeout: 30_000 });
    await popup.getByRole('button', { name: 'Approve' }).click();
    await closed;
    await page.waitForFunction(
      (old) => {
        const heading = [...document.querySelectorAll('li.card h2')].find((h) => h.textContent?.startsWith('ghl-main'));
        const time = heading?.closest('li')?.querySelector('time');
        return time && time.getAttribute('datetime') !== old && !heading?.closest('li')?.textContent?.includes('Reconnecting');
      },
      before,
      { timeout: 30_000 },
    );
    await badge('ghl-main', 'ok').waitFor();

    const unused = cardOf('df-unused');
    await unused.getByRole('button', { name: 'Reconnect' }).click();
    await unused.getByLabel('New API key').fill('another-wrong-key');
    await unused.getByRole('button', { name: 'Test and save' }).click();
    await unused.locator('.field-error').getByText(/refused/).waitFor({ timeout: 30_000 });
    await shot('reconnect-key-refused');
    await unused.getByLabel('New API key').fill('ui-key');
    await unused.getByRole('button', { name: 'Test and save' }).click();
    await unused.getByRole('button', { name: 'Reconnect' }).waitFor({ timeout: 30_000 });
    await badge('df-unused', 'ok').waitFor();
    await shot('reconnected');
  });

  await step('delete: refused while used, listing the flows; an unused one goes', async () => {
    const main = cardOf('ghl-main');
    await main.getByRole('button', { name: 'Delete' }).click();
    await main.getByRole('button', { name: 'Delete ghl-main' }).click();
    await main.getByRole('alert').getByText(/Deleting ghl-main was refused \(HTTP 409\): these flows use it/).waitFor();
    const inTheWay = main.getByRole('list', { name: 'Flows in the way of ghl-main' });
    const used = (await (await page.request.get(`${base}/api/v1/connections/ghl-main`)).json()).usedBy;
    if ((await inTheWay.getByRole('link').count()) !== used.length) fail(`the ${used.length} flows in the way are not all linked`);
    await shot('delete-refused');
    await main.getByRole('button', { name: 'Cancel' }).click();

    const unused = cardOf('df-unused');
    await unused.getByRole('button', { name: 'Delete' }).click();
    await unused.getByRole('button', { name: 'Delete df-unused' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText('Deleted df-unused.').waitFor();
    if ((await cardOf('df-unused').count()) !== 0) fail('the deleted connection is still shown');
    const listed = await (await page.request.get(`${base}/api/v1/connections`)).json();
    if (listed.items.some((c) => c.name === 'df-unused')) fail('the server still has df-unused');
    await shot('deleted');
  });

  await step('a blocked popup: the consent URL as a link, finished in another tab', async () => {
    // Headless Chromium has no popup blocker to turn on (neither its flag nor its setting blocks
    // a window here), so this context's pages get the answer a blocking browser gives:
    // `window.open` returns null. Everything after it is real.
    const other = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      await other.addInitScript(() => {
        window.open = () => null;
      });
      const tab = await other.newPage();
      const errors = [];
      tab.on('pageerror', (error) => errors.push(error.message));
      await tab.goto(`${base}/login`);
      await tab.getByLabel('E-mail address').fill(EMAIL);
      await tab.getByLabel(/^Password/).fill(PASSWORD);
      await tab.getByRole('button', { name: 'Sign in' }).click();
      await tab.waitForURL(`${base}/flows`);
      await tab.getByRole('link', { name: 'Connections', exact: true }).click();
      const main = tab.getByRole('listitem').filter({ has: tab.getByRole('heading', { level: 2 }).filter({ hasText: /^ghl-main\b/ }) });
      const before = await main.locator('time').getAttribute('datetime');
      await main.getByRole('button', { name: 'Reconnect' }).click();
      const link = main.getByRole('link', { name: 'open the consent page' });
      await link.waitFor({ timeout: 15_000 });
      await shot('popup-blocked', tab);
      const consentUrl = await link.getAttribute('href');
      if (!consentUrl?.startsWith(`${ghl.url}/v2/oauth/chooselocation?`)) fail(`the link goes to ${consentUrl}`);
      if ((await link.getAttribute('target')) !== '_blank' || !/noopener/.test((await link.getAttribute('rel')) ?? '')) {
        fail('the consent link must open a new tab without handing it our window');
      }
      // The person opens it in a new tab and approves there; with no opener to tell, the
      // callback page says so itself, and the first tab notices the stored connection.
      const second = await other.newPage();
      await second.goto(consentUrl);
      await second.getByRole('button', { name: 'Approve' }).click();
      await second.getByRole('heading', { name: 'Connected' }).waitFor();
      await second.getByRole('link', { name: "Open Tether's connections" }).waitFor();
      await shot('callback-tab', second);
      await tab.waitForFunction(
        (old) => {
          const heading = [...document.querySelectorAll('li.card h2')].find((h) => h.textContent?.startsWith('ghl-main'));
          const card = heading?.closest('li');
          return card && card.querySelector('time')?.getAttribute('datetime') !== old && !card.textContent?.includes('Waiting');
        },
        before,
        { timeout: 30_000 },
      );
      await shot('popup-blocked-done', tab);
      if (errors.length > 0) fail(`the second context reported errors: ${errors.join('; ')}`);
    } finally {
      await other.close();
    }
  });
}, { expected: [400, 422] });
