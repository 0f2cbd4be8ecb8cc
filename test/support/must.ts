/** The value of a Result the test knows to be good; a bad one fails the test with its error. */
import type { Result } from '../../src/map/index.js';

export function must<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(result.error);
  return result.value;
}
