// Awaits a promise that must reject with a TsrunError and returns the error.
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
