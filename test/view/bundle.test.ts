/**
 * The browser app bundles: a kind's view.ts that imports a value from its kind's run code would pull
 * node-only modules into the page, and esbuild fails. This says so directly, without a browser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientBundle } from '../../src/view/bundle.ts';

test('the viewer app bundles for the browser, with no node-only module in it', async () => {
  const js = await clientBundle();
  assert.ok(js.length > 50_000);
  assert.doesNotMatch(js, /require\("(node:)?(fs|path|child_process)"\)/);
});
