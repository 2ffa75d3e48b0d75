// A promise that must reject, or a call that must throw, with a TsrunError; returns the error.
import { expect } from 'vitest';
import { TsrunError } from '../../src/errors.js';

export async function rejection(p: Promise<unknown>): Promise<TsrunError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TsrunError);
  return err as TsrunError;
}

export function thrown(fn: () => unknown): TsrunError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TsrunError);
  return err as TsrunError;
}
