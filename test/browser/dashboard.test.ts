// The dashboard in a real browser: Debian's Chromium driven by playwright-core against a dashboard over two
// fixture runs. No console errors, both runs drawn, a line appended to a run's metrics.jsonl drawn without a
// reload, another metric selected and drawn, time on the x axis, the sample trajectories shown. Saves the README's screenshot.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';
import { chromium } from 'playwright-core';

import { startDashboard } from '../../lib/dashboard/server.js';
import { appendMetrics, fixtureLine, writeFixtureRuns } from '../helpers/dashboard-runs.js';
import { packageRoot } from '../helpers/paths.js';

const executablePath = process.env.REXRAG_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = join(packageRoot, 'dist', 'screenshots', 'dashboard.png');

interface PageHook {
  draws: number;
  metric(): string | null;
  mainPoints(): { run: string; step: number; value: number }[];
}
declare const window: { rexragDashboard?: PageHook; marker?: number };
declare const document: { querySelector(selector: string): { textContent: string | null } | null; querySelectorAll(selector: string): { length: number } };

if (!existsSync(executablePath)) {
  test.skip(`dashboard in Chromium: SKIPPED, no browser at ${executablePath} (npm test's bootstrap installs Debian's chromium with apt; set REXRAG_CHROMIUM to use another)`, () => {});
} else {
  test('the dashboard in Chromium: both runs, live lines, metric selection, sample trajectories, no console errors', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'rexrag-browser-'));
    const [grpo] = writeFixtureRuns(root, 40);
    const dashboard = await startDashboard({ paths: [root], port: 0, pollMs: 100 });
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
    t.teardown(async () => {
      await browser.close();
      await dashboard.close();
      rmSync(root, { recursive: true, force: true });
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())));
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
    await page.goto(dashboard.url);

    // Both runs' series are drawn, in the data and in the legend.
    await page.waitForFunction(() => new Set((window.rexragDashboard?.mainPoints() ?? []).map((p) => p.run)).size === 2, undefined, { timeout: 30_000 });
    t.is(await page.evaluate(() => window.rexragDashboard!.metric()), 'reward/mean');
    const legend = await page.locator('#main-chart svg').textContent();
    t.regex(legend ?? '', /grpo/);
    t.regex(legend ?? '', /rex-rag/);

    // A line appended (torn in two writes) is drawn without a reload.
    await page.evaluate(() => void (window.marker = 1));
    const appended = fixtureLine('grpo', 41);
    const line = `${JSON.stringify(appended)}\n`;
    appendMetrics(grpo!, line.slice(0, 25));
    await new Promise((resolve) => setTimeout(resolve, 300));
    appendMetrics(grpo!, line.slice(25));
    await page.waitForFunction(() => (window.rexragDashboard?.mainPoints() ?? []).some((p) => p.run === 'grpo' && p.step === 41), undefined, { timeout: 30_000 });
    t.is(await page.evaluate(() => window.rexragDashboard!.mainPoints().find((p) => p.run === 'grpo' && p.step === 41)!.value), appended['reward/mean']!);
    t.is(await page.evaluate(() => window.marker), 1, 'the page was not reloaded');

    // Selecting another metric redraws the main chart with it.
    const before = await page.evaluate(() => window.rexragDashboard!.draws);
    await page.selectOption('#metric', 'deadend/rate');
    await page.waitForFunction((count) => window.rexragDashboard!.draws > count && window.rexragDashboard!.metric() === 'deadend/rate', before, { timeout: 30_000 });
    const points = await page.evaluate(() => window.rexragDashboard!.mainPoints());
    t.is(points.find((p) => p.run === 'grpo' && p.step === 3)?.value, fixtureLine('grpo', 3)['deadend/rate']);
    t.regex((await page.locator('#main-chart svg').textContent()) ?? '', /deadend\/rate/);

    // Time on the x axis (minutes since each run started, from wall_time) redraws with that axis.
    const drawn = await page.evaluate(() => window.rexragDashboard!.draws);
    await page.check('input[name=x][value=time]');
    await page.waitForFunction((count) => window.rexragDashboard!.draws > count, drawn, { timeout: 30_000 });
    t.regex((await page.locator('#main-chart svg').textContent()) ?? '', /minutes since start/);
    await page.check('input[name=x][value=step]');

    // The samples panel shows REX-RAG's trajectories with the spliced prompt and retrieved passages marked.
    await page.waitForSelector('#samples .seg-probe-prompt', { timeout: 30_000 });
    t.true(await page.evaluate(() => document.querySelectorAll('#samples .seg-information').length >= 2));
    t.regex((await page.locator('#samples').textContent()) ?? '', /<b>kavoru<\/b>/, 'sample text is escaped, not parsed as HTML');

    // The README's screenshot, on the reward curves.
    await page.selectOption('#metric', 'reward/mean');
    await page.waitForFunction(() => window.rexragDashboard!.metric() === 'reward/mean');
    await page.waitForTimeout(500);
    mkdirSync(join(packageRoot, 'dist', 'screenshots'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    if (process.env.REXRAG_UPDATE_SCREENSHOT === '1') copyFileSync(SCREENSHOT, join(packageRoot, 'docs', 'dashboard.png'));
    t.deepEqual(errors, [], 'no console errors');
  });
}
