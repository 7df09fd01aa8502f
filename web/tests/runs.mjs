// The runs a person reads: a list past its first page, found by a contact's e-mail, with its
// record, failed step and duration; a run whose event is too big to show at once (cut at 64 KiB,
// shown whole on demand, downloaded); its trigger kept as the flow's sample.
// Usage: node web/tests/runs.mjs path/to/tether
import { fail, journey, layoutShift, sendWebhook, setUpOwner, startServer } from './support.mjs';

await journey(async ({ dataDir, page, step, shot, track }) => {
  const { base, setupUrl } = track(await startServer(dataDir));
  await step('setup', () => setUpOwner(page, base, setupUrl));

  // 110 contacts (more than a page of runs), then one with 900 KB of notes. Without a Details
  // Flowers connection the runs fail: each says where.
  for (let n = 0; n < 110; n++) {
    await sendWebhook(base, { id: `c-${n}`, email: `person${n}@example.com`, webhookId: `many-${n}` });
  }
  const notes = 'n'.repeat(900 * 1024);
  await sendWebhook(base, { id: 'c-big', email: 'Big.Notes@Example.com', firstName: 'Big', lastName: 'Notes', notes, webhookId: 'big' });

  await step('runs list with records, failed steps and older pages', async () => {
    await page.goto(`${base}/runs`);
    const rows = page.locator('tbody tr');
    await page.getByRole('cell', { name: 'big.notes@example.com' }).first().waitFor({ timeout: 30_000 });
    const shift = await layoutShift(page);
    console.log(`runs page layout shift while loading: ${shift.toFixed(3)}`);
    if (shift >= 0.1) fail(`the runs page jumps while it loads (cumulative layout shift ${shift.toFixed(3)})`);
    const first = await rows.count();
    if (first !== 100) fail(`the first page shows ${first} runs, wanted 100`);
    await page.getByRole('button', { name: 'Load older runs' }).click();
    await page.waitForFunction((before) => document.querySelectorAll('tbody tr').length > before, first);
    await shot('list');
  });

  await step('find the contact by e-mail in any case', async () => {
    await page.getByRole('searchbox').fill('BIG.notes@example.com');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.waitForURL(/record=BIG\.notes%40example\.com/);
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('tbody tr')];
      return rows.length > 0 && rows.every((row) => row.textContent?.includes('big.notes@example.com'));
    });
    const count = await page.locator('tbody tr').count();
    if (count < 1) fail('no run found by e-mail');
    await shot('found');
    await page.locator('tbody tr').first().getByRole('link').first().click();
  });

  await step('a big event is cut, shown whole on demand and downloaded', async () => {
    await page.getByRole('heading', { name: /^Run #\d+/ }).waitFor();
    await page.getByText(/^Event payload/).click();
    await page.getByText(/Showing the first 64 KiB of 900 KiB/).waitFor();
    const started = Date.now();
    await page.getByRole('button', { name: 'Show all of the event payload' }).click();
    await page.waitForFunction(() => (document.querySelector('pre.payload')?.textContent?.length ?? 0) > 900 * 1024);
    console.log(`showing a 900 KiB event whole took ${Date.now() - started} ms`);
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download the event payload' }).click();
    const download = await downloading;
    if (download.suggestedFilename() !== `run-${page.url().split('/').pop()}-event.json`) fail(`downloaded as ${download.suggestedFilename()}`);
    await shot('big-event');
  });

  await step('the trigger kept as a sample', async () => {
    await page.getByRole('button', { name: 'Use this trigger as a sample' }).click();
    await page.getByRole('status').filter({ hasText: /Kept as sample #\d+/ }).waitFor();
    const failed = await page.locator('.steps .badge').allInnerTexts();
    if (!failed.includes('failed')) fail(`the run's steps show no failure: ${failed}`);
    await shot('sampled');
  });
});
