/**
 * Expected failures are values, not exceptions: decoding hostile bytes or a
 * wrong config line returns `{ ok: false, error }` with a one-line reason.
 */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function err<T = never>(error: string): Result<T> {
  return { ok: false, error };
}
