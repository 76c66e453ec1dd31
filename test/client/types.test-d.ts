// Type test: compiled by `tsc -p tsconfig.json` (`npm run check:types`), never run. Each `@ts-expect-error` fails
// the compile if the line below it stops being an error; type-check.test.ts proves such a call is rejected.
import { expectTypeOf } from 'vitest';

import {
  ClientSessionDocument,
  type DeleteSessionResult,
  type RevokeUserSessionResult,
  type Session,
  type SessionPagedResult,
  type SessionsClient,
  type SessionsClientError,
} from '../../client/src/index.js';
import { SessionsDocument } from '../generated/graphql.js';

declare const client: SessionsClient;

export async function wronglyTyped(): Promise<void> {
  // @ts-expect-error limit is a number
  await client.searchSession({ limit: '10' });
  // @ts-expect-error a sid is a string
  await client.getSessionById(42);
  // @ts-expect-error the option is startIndex (misspelt)
  await client.searchSession({ startindex: 10 });
  // @ts-expect-error sortOrder is 'ascending' or 'descending'
  await client.searchSession({ sortOrder: 'down' });
  // @ts-expect-error sortBy takes the known columns and JSON names only
  await client.searchSession({ sortBy: 'remote_ip' });
  // @ts-expect-error fieldValuePair is one string, not a map
  await client.searchSession({ fieldValuePair: { auth_user: 'admin' } });
  // @ts-expect-error deleteSession needs the sid
  await client.deleteSession();
  // @ts-expect-error revokeUserSession takes a DN string
  await client.revokeUserSession({ userDn: 'inum=1,ou=people,o=jans' });
  // @ts-expect-error filter.state is the GraphQL enum
  await client.deleteSessions({ state: 'authenticated' });
  // @ts-expect-error deleteSessions needs a filter
  await client.deleteSessions(undefined, { dryRun: false });
  // @ts-expect-error sessionStats' filter has no clientID (it is clientId)
  await client.sessionStats({ clientID: 'abc' });
  // @ts-expect-error sessionsConnection's first is a number
  await client.sessionsConnection({ first: '10' });
  // @ts-expect-error request checks the document's variables
  await client.request(ClientSessionDocument, { sid: 'a', extra: true });
  // @ts-expect-error request needs the required variables
  await client.request(ClientSessionDocument);
  const session = await client.getSessionById('sid');
  // @ts-expect-error the result may be null
  void session.sid;
  // @ts-expect-error entries are GraphQL sessions: outsideSid is sid
  void (await client.getSessions()).entries[0]?.outsideSid;
}

export async function returnTypes(): Promise<void> {
  expectTypeOf(client.getSessions()).resolves.toEqualTypeOf<SessionPagedResult>();
  expectTypeOf(
    client.searchSession({ limit: 10, sortBy: 'exp', sortOrder: 'descending' }),
  ).resolves.toEqualTypeOf<SessionPagedResult>();
  expectTypeOf(client.getSessionById('sid')).resolves.toEqualTypeOf<Session | null>();
  expectTypeOf(client.deleteSession('sid')).resolves.toEqualTypeOf<DeleteSessionResult>();
  expectTypeOf(client.revokeUserSession('inum')).resolves.toEqualTypeOf<RevokeUserSessionResult>();

  const page = await client.searchSession();
  expectTypeOf(page.entries).toEqualTypeOf<Session[]>();
  expectTypeOf(page.entries[0]!.state).toEqualTypeOf<'AUTHENTICATED' | 'UNAUTHENTICATED'>();
  expectTypeOf(page.entries[0]!.expirationDate).toEqualTypeOf<string | null>();

  const dry = await client.deleteSessions({ clientId: 'abc' });
  expectTypeOf(dry.matched).toEqualTypeOf<number>();
  expectTypeOf(dry.sessions).toEqualTypeOf<Session[]>();
  const stats = await client.sessionStats();
  expectTypeOf(stats.total).toEqualTypeOf<number>();
  // Only present with { grouped: true }.
  expectTypeOf(stats.byClient).toEqualTypeOf<{ key: string | null; count: number }[] | undefined>();
  const connection = await client.sessionsConnection({ first: 10 });
  expectTypeOf(connection.edges[0]!.node).toEqualTypeOf<Session>();
  expectTypeOf(connection.pageInfo.endCursor).toEqualTypeOf<string | null>();

  // Optional variables may be left out; the result is the document's type.
  const { sessions } = await client.request(SessionsDocument);
  expectTypeOf(sessions.totalCount).toEqualTypeOf<number>();
  expectTypeOf<SessionsClientError['code']>().toExtend<string>();
  expectTypeOf<SessionsClientError['status']>().toEqualTypeOf<number | undefined>();
}
