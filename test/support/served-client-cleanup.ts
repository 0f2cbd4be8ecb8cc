/**
 * Loaded before every test file (vitest.config.ts setupFiles): the fake
 * tools' served client, compiled once per test file, is removed after it, so
 * the run leaves the temp directory as it found it (temp-dir-check.ts).
 */
import { afterAll } from 'vitest';
import { removeServedClient } from './fake-openbsd/index.js';

afterAll(removeServedClient);
