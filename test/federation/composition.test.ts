import { readFile } from 'node:fs/promises';

import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';

import { USERS_SDL } from '../../examples/users-subgraph.js';

describe('composition', () => {
  it('schema.graphql composes with a users subgraph that owns User', async () => {
    const sdl = await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8');
    const result = composeServices([
      { name: 'sessions', typeDefs: parse(sdl), url: 'http://sessions.invalid/graphql' },
      { name: 'users', typeDefs: parse(USERS_SDL), url: 'http://users.invalid/graphql' },
    ]);
    expect(result.errors?.map((e) => e.message) ?? []).toEqual([]);
    const supergraph = result.supergraphSdl ?? '';
    expect(supergraph).toMatch(/type User[\s\S]*@join__type\(graph: SESSIONS, key: "userDn"\)/);
    expect(supergraph).toMatch(/type Session[\s\S]*@join__type\(graph: SESSIONS, key: "sid"\)/);
    expect(supergraph).toContain('activeSessionCount: Int! @join__field(graph: SESSIONS)');
  });
});
