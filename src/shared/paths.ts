/** Where the package lives (the shipped checkpoints and presets are found from it). No tfjs here: light to import. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
