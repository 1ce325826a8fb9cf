/**
 * Headless Debian Chromium driven by playwright-core, with a fresh profile, no network services and
 * no sandbox (CI runs as root). Shared by the end-to-end tests and bench/view-large.
 */
import { chromium, type BrowserContext } from 'playwright-core';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether this is a CI run (CI set, and not to 0 or false): there a missing Chromium is an error, not a skip. */
const onCI = () => !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());

/**
 * false when the browser tests should run; otherwise why not, after one loud line on stderr. Under CI
 * they always run, so a missing Chromium fails them instead of passing unnoticed.
 */
export function skipBrowserTests(): string | false {
  if (existsSync(CHROMIUM) || onCI()) return false;
  const why = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH; under CI=true this fails)`;
  process.stderr.write(`\nSKIPPED browser tests: ${why}\n\n`);
  return why;
}

export async function launchChromium(
  viewport = { width: 1360, height: 900 },
): Promise<{ context: BrowserContext; profile: string; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's chromium (.ci/run does), or set CHROMIUM_PATH${onCI() ? ' (CI is set, so the browser tests fail rather than skip)' : ''}`,
    );
  const profile = mkdtempSync(join(tmpdir(), 'dramatis-chromium-'));
  const context = await chromium
    .launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    })
    .catch((e: unknown) => {
      rmSync(profile, { recursive: true, force: true });
      throw e;
    });
  return {
    context,
    profile,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
