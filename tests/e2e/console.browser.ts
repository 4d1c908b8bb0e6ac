/**
 * The operator console (examples/console) in a real browser: Debian's Chromium driven headless by
 * playwright-core, which downloads nothing. An operator creates a campaign, runs it, watches the
 * progress move without reloading (server-sent events), is refused a second run on the busy
 * channel, stops the first, runs the second to the end and retries a failed message.
 *
 * Without Chromium the suite is skipped with a message saying how to install it, except in CI
 * (CI=true), where .ci/run installs it and its absence is a failure.
 * CONSOLE_SCREENSHOT=docs/console.png saves the screenshot of the campaign page mid-run (the README's).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CAMPAIGN_STATUS_LABELS, failureReason, MESSAGE_STATUS_LABELS } from 'campaign-lifecycle';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleEngine, createConsoleEngine } from '../../examples/console/engine.js';
import { type ConsoleServer, startConsole } from '../../examples/console/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';

if (!hasChromium && !inCi) {
  console.warn(
    `[browser] skipped: no Chromium at ${CHROMIUM}. Install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH.`,
  );
}

describe.runIf(hasChromium || inCi)('operator console in Chromium', () => {
  let engine: ConsoleEngine;
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`CI needs Chromium at ${CHROMIUM}: .ci/run installs it with apt-get.`);
    // The simulated clock stands still; the operator moves it with the header's buttons.
    engine = createConsoleEngine({ simulate: true, playing: false });
    server = await startConsole({ outreach: engine.outreach, simulation: engine.simulation, port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
    page.setDefaultTimeout(15_000);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await engine?.close();
  });

  const status = () => page.getByTestId('campaign-status').first();
  const waitForStatus = (label: string) =>
    page.locator('#summary [data-testid="campaign-status"]', { hasText: label }).waitFor();
  const click = (name: string) => page.getByRole('button', { name, exact: true }).click();
  const progressText = () => page.locator('#summary [data-testid="progress"]').textContent();

  async function createCampaign(name: string): Promise<string> {
    await page.goto(server.url);
    await page.getByLabel('Name', { exact: true }).fill(name);
    await click('Create campaign');
    await page.getByTestId('notice').filter({ hasText: 'Imported 40 contacts' }).waitFor();
    await click('Save');
    await waitForStatus(CAMPAIGN_STATUS_LABELS.ready);
    return new URL(page.url()).pathname;
  }

  /** Skips the simulated clock ahead from the header, staying on the page. */
  async function skipAhead(by: string) {
    const done = page.waitForResponse((r) => r.url().endsWith('/simulation/advance'));
    await click(`+${by}`);
    await done;
  }

  it('creates, runs, watches progress live, is refused a busy channel, stops, and retries a failed message', async () => {
    const first = await createCampaign('Snow day closure');
    await click('Run');
    await waitForStatus(CAMPAIGN_STATUS_LABELS.in_progress);
    expect(await progressText()).toBe('0 / 40 done (0%)');

    // Progress moves on the open page, pushed by the server: the page is never reloaded.
    await page.locator('body[data-live="true"]').waitFor();
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    await skipAhead('10s');
    await page.waitForFunction(() => {
      const text = document.querySelector('#summary [data-testid="progress"]')?.textContent ?? '';
      return !text.startsWith('0 /');
    });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.locator('#messages [data-status="delivered"]').count()).toBeGreaterThan(0);

    // A second SMS campaign may not run while the first does: the engine's refusal is shown.
    const second = await createCampaign('Late start');
    await click('Run');
    const alert = page.getByRole('alert');
    await expect(alert.textContent()).resolves.toMatch(/^CHANNEL_BUSY\s+Cannot run campaign "Late start"/);
    expect(await status().textContent()).toBe(CAMPAIGN_STATUS_LABELS.ready);

    // Stop the first: what was not handed over is cancelled, and Stop is no longer offered.
    await page.goto(server.url + first);
    await click('Stop');
    await waitForStatus(CAMPAIGN_STATUS_LABELS.stopped);
    expect(await page.getByRole('button', { name: 'Stop', exact: true }).count()).toBe(0);
    expect(await page.getByTestId('counts').textContent()).toContain(MESSAGE_STATUS_LABELS.cancelled);

    // The channel is free: the second runs. A minute in, the campaign page mid-run is the README's screenshot.
    await page.goto(server.url + second);
    await click('Run');
    await waitForStatus(CAMPAIGN_STATUS_LABELS.in_progress);
    await page.locator('body[data-live="true"]').waitFor();
    await skipAhead('1m');
    await page.locator('#messages [data-testid="reason"]').first().waitFor();
    await page.waitForFunction(() => !document.querySelector('#messages [data-status="waiting"]'));
    const shot = await page.screenshot({ type: 'png' });
    expect(shot.subarray(1, 4).toString()).toBe('PNG');
    const target = process.env.CONSOLE_SCREENSHOT;
    if (target) {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, shot);
    }

    // Past the 10-minute rules the campaign completes with errors; a timed-out message may be retried.
    await skipAhead('10m');
    await waitForStatus(CAMPAIGN_STATUS_LABELS.complete_with_errors);
    const timedOut = failureReason('timed_out');
    const row = page.locator('#messages tr', { has: page.locator(`[title="${timedOut.description}"]`) }).first();
    expect(await row.getByTestId('reason').textContent()).toBe(timedOut.label);
    const rowId = await row.getAttribute('id');
    await row.getByRole('button', { name: 'Retry' }).click();
    await waitForStatus(CAMPAIGN_STATUS_LABELS.in_progress);
    const retried = page.locator(`#${rowId}`);
    expect(await retried.getByTestId('message-status').textContent()).toBe(MESSAGE_STATUS_LABELS.queued);
    await page.locator('body[data-live="true"]').waitFor();
    await skipAhead('1m');
    await page.locator(`#${rowId}[data-status="delivered"]`).waitFor();
    await waitForStatus(CAMPAIGN_STATUS_LABELS.complete_with_errors);
  });
});
