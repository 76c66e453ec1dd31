import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';

import { createFormatError } from '../../src/schema/errors.js';

describe('formatError and stack overflows', () => {
  const format = createFormatError({ maskUnexpected: true, onUnexpected: () => 'error-id' });
  const overflow = () => new RangeError('Maximum call stack size exceeded');

  it('before execution (no path): the document was nested too deeply', () => {
    const error = new GraphQLError('Maximum call stack size exceeded', { originalError: overflow() });
    expect(format({ message: error.message }, error)).toEqual({
      message: 'The document is nested too deeply',
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    });
  });

  it('in a resolver (a path): an unexpected error of ours, masked, with its errorId', () => {
    const error = new GraphQLError('Maximum call stack size exceeded', {
      path: ['sessions'],
      originalError: overflow(),
    });
    expect(format({ message: error.message, path: ['sessions'] }, error)).toEqual({
      message: 'Internal server error',
      path: ['sessions'],
      extensions: { code: 'INTERNAL_SERVER_ERROR', errorId: 'error-id' },
    });
  });
});
