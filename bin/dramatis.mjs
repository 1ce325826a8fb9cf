#!/usr/bin/env node
// Entry point: run the TypeScript sources through tsx, so a fresh clone works after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
