/**
 * What every browser test of the viewer sets up: the view app over a results database on a free
 * loopback port, and a page in a fresh headless Chromium that records the page's uncaught errors.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Page } from 'playwright-core';
import { ViewStore } from '../../src/view/queries.ts';
import { createViewApp, type ViewOptions } from '../../src/view/app.ts';
import { launchChromium } from './browser.ts';

export interface ServedView {
  view: ViewStore;
  /** e.g. http://127.0.0.1:40123 */
  base: string;
  close: () => Promise<void>;
}

/** Serves the viewer over the database at `dbPath` (no polling unless asked: tests reload when they mean to). */
export async function serveView(dbPath: string, o: ViewOptions = { pollMs: 0 }): Promise<ServedView> {
  const view = new ViewStore(dbPath);
  const server = serve({ fetch: createViewApp(view, o).fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  return {
    view,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await new Promise((r) => server.close(r));
      view.close();
    },
  };
}

export interface OpenPage {
  page: Page;
  /** Messages of the page's uncaught errors, in order (a test asserts it stays empty). */
  pageErrors: string[];
  close: () => Promise<void>;
}

export async function openPage(viewport?: { width: number; height: number }): Promise<OpenPage> {
  const browser = await launchChromium(viewport);
  const page = await browser.context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return { page, pageErrors, close: browser.close };
}
