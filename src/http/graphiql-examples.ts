/** One GraphiQL tab: an operation and its variables (JSON text). */
export interface ExampleTab {
  query: string;
  variables?: string;
}

const SESSION_FIELDS = [
  'sid',
  'state',
  'userDn',
  'authUser',
  'clientId',
  'acr',
  'creationDate',
  'lastUsedAt',
  'expirationDate',
  'expired',
];

/** The session fields above, one per line at `indent` spaces (the first line's indent is the template's). */
const fields = (indent: number, extra: string[] = []) =>
  [...SESSION_FIELDS, ...extra].join(`\n${' '.repeat(indent)}`);

/**
 * The operations GraphiQL opens with: list, filter, page, one session, delete, revoke. `now` seeds the filter
 * example so it finds sessions that have not expired yet; every page size is at most `maxPageSize`
 * (`JANS_MAX_PAGE_SIZE`), over which a `limit` is refused.
 */
export function exampleTabs(now: Date, maxPageSize: number): ExampleTab[] {
  const instant = `${now.toISOString().slice(0, 19)}Z`;
  const limit = (wanted: number) => Math.min(wanted, maxPageSize);
  return [
    {
      query: `# Newest sessions first. Run: ▶ or Ctrl-Enter.
# Other tabs: filter, page, one session, delete, revoke.
query Sessions {
  sessions(
    page: { limit: ${limit(10)} }
    sort: { field: CREATION_DATE, order: DESC }
  ) {
    totalCount
    hasNextPage
    nodes {
      ${fields(6)}
    }
  }
}
`,
    },
    {
      query: `# Authenticated, unexpired sessions, most recently used first.
# Every filter field given must match; dates need a zone.
query ActiveSessions($now: DateTime!) {
  sessions(
    filter: { state: AUTHENTICATED, expiresAfter: $now }
    sort: { field: LAST_USED_AT, order: DESC }
    page: { limit: ${limit(20)} }
  ) {
    totalCount
    nodes {
      ${fields(6)}
    }
  }
}
`,
      variables: JSON.stringify({ now: instant }, null, 2),
    },
    {
      query: `# Offset paging: limit 1..${maxPageSize}, offset 0-based.
query SessionsPage($page: PageInput) {
  sessions(page: $page) {
    totalCount
    offset
    limit
    hasPreviousPage
    hasNextPage
    nodes {
      sid
      authUser
      expirationDate
    }
  }
}
`,
      variables: JSON.stringify({ page: { limit: limit(5), offset: limit(5) } }, null, 2),
    },
    {
      query: `# One session by sid (copy one from the Sessions tab);
# null when there is no such session.
query OneSession($sid: ID!) {
  session(sid: $sid) {
    ${fields(4, ['sessionState', 'authenticationTime', 'permissionGrantedMap', 'sessionAttributes'])}
  }
}
`,
      variables: JSON.stringify({ sid: 'paste-a-sid-here' }, null, 2),
    },
    {
      query: `# Deletes a session and revokes its tokens;
# deleted is false when there was no such session.
mutation DeleteSession($sid: ID!) {
  deleteSession(sid: $sid) {
    sid
    deleted
  }
}
`,
      variables: JSON.stringify({ sid: 'paste-a-sid-here' }, null, 2),
    },
    {
      query: `# Revokes a user's authenticated sessions, by full DN or
# bare inum (copy a userDn from the Sessions tab).
mutation RevokeUserSessions($userDn: String!) {
  revokeUserSessions(userDn: $userDn) {
    userDn
    revoked
  }
}
`,
      variables: JSON.stringify({ userDn: 'inum=paste-an-inum-here,ou=people,o=jans' }, null, 2),
    },
  ];
}
