import { expect } from 'vitest';

import { JanssenApiError } from '../../src/janssen/errors.js';

/** The `JanssenApiError` a call rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<JanssenApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(JanssenApiError);
    return error as JanssenApiError;
  }
  throw new Error('expected a JanssenApiError');
}
