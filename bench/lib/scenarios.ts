/**
 * What each benchmark scenario sends: for GraphQL targets an operation and its variables, for the upstream (and
 * the plain proxy in front of it) the REST call a client would make without us. Each scenario is a pool of
 * requests cycled through in order, shared by all connections, so every target sees the same sequence.
 */
import { randomUUID } from 'node:crypto';

import type { EmulatorInfo } from '../emulator-process.js';

export const SCENARIOS = [
  'session',
  'sessions20',
  'sessions200',
  'filtered',
  'entities100',
  'mixed',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** One request as autocannon sends it. */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: string;
  /** Statuses that count as success; default 200 only. */
  ok?: readonly number[];
}

export interface Scenario {
  name: ScenarioName;
  title: string;
  /** What is sent, in one line, for the report. */
  describe: string;
  /** Requests against the upstream REST API (path relative to the origin). */
  rest: RequestSpec[];
  /** Requests against a GraphQL endpoint (POST `/graphql`). */
  graphql: RequestSpec[];
}

const API = '/jans-config-api/api/v1/jans-auth-server/session';

/** Fields every GraphQL target serves the same way (the Apollo peer implements exactly these). */
const FIELDS = 'sid userDn state clientId authUser acr creationDate expirationDate lastUsedAt expired';

const SESSION_QUERY = `query Session($sid: ID!) { session(sid: $sid) { ${FIELDS} } }`;
const PAGE_QUERY = `query Sessions($limit: Int!, $offset: Int!) { sessions(page: {limit: $limit, offset: $offset}) { totalCount hasNextPage nodes { ${FIELDS} } } }`;
/** Filter values are literals: `expiresAfter` is a `DateTime` here and a `String` in the Apollo peer. */
const filteredQuery = (clientId: string, after: string) =>
  `query Filtered { sessions(filter: {state: AUTHENTICATED, clientId: ${JSON.stringify(clientId)}, expiresAfter: ${JSON.stringify(after)}}, page: {limit: 20, offset: 0}, sort: {field: EXPIRATION_DATE, order: DESC}) { totalCount hasNextPage nodes { ${FIELDS} } } }`;
const ENTITIES_QUERY = `query Entities($representations: [_Any!]!) { _entities(representations: $representations) { ... on Session { ${FIELDS} } } }`;
const DELETE_MUTATION = `mutation Delete($sid: ID!) { deleteSession(sid: $sid) { sid deleted } }`;

function gql(query: string, variables: Record<string, unknown>): RequestSpec {
  return { method: 'POST', path: '/graphql', body: JSON.stringify({ query, variables }) };
}

function search(params: Record<string, string | number>): RequestSpec {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
  return { method: 'GET', path: `${API}/search?${query.toString()}` };
}

/** Janssen's zone-less UTC date, as the service sends it. */
function janssenDate(iso: string): string {
  return iso.slice(0, 19);
}

/** Deterministic shuffle, so runs are comparable. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function buildScenarios(info: EmulatorInfo): Record<ScenarioName, Scenario> {
  const sids = shuffled(info.sids, 7);
  const pageOffsets20 = Array.from(
    { length: Math.max(1, Math.floor(info.sessionCount / 20)) },
    (_, i) => i * 20,
  );
  const filteredGraphql = gql(filteredQuery(info.busiestClientId, info.expiresAfter), {});
  const filteredRest = search({
    limit: 20,
    startIndex: 0,
    fieldValuePair: `state=authenticated,client_id=${info.busiestClientId},expirationDate>${janssenDate(info.expiresAfter)}`,
    sortBy: 'exp',
    sortOrder: 'descending',
  });
  const entityWindows = Array.from({ length: 20 }, (_, i) =>
    Array.from({ length: 100 }, (_, j) => sids[(i * 15 + j) % sids.length]!),
  );
  const missingSids = Array.from({ length: 200 }, () => randomUUID());

  const session: Scenario = {
    name: 'session',
    title: 'session(sid)',
    describe: `\`session(sid)\` with ${FIELDS.split(' ').length} fields, a different existing sid each request; upstream: \`GET /session/sid/{sid}\``,
    rest: sids.map((sid) => ({ method: 'GET', path: `${API}/sid/${encodeURIComponent(sid)}` })),
    graphql: sids.map((sid) => gql(SESSION_QUERY, { sid })),
  };
  const page = (limit: number, offsets: number[]): Pick<Scenario, 'rest' | 'graphql'> => ({
    rest: offsets.map((offset) => search({ limit, startIndex: offset })),
    graphql: offsets.map((offset) => gql(PAGE_QUERY, { limit, offset })),
  });
  const sessions20: Scenario = {
    name: 'sessions20',
    title: 'sessions page of 20',
    describe:
      '`sessions(page: {limit: 20, offset})` with `totalCount hasNextPage nodes {…}`, offsets cycling over the data; upstream: `GET /session/search?limit=20&startIndex=…`',
    ...page(20, pageOffsets20),
  };
  const sessions200: Scenario = {
    name: 'sessions200',
    title: 'sessions page of 200',
    describe:
      '`sessions(page: {limit: 200, offset: 0})`; upstream: `GET /session/search?limit=200&startIndex=0`',
    ...page(200, [0]),
  };
  const filtered: Scenario = {
    name: 'filtered',
    title: 'filtered search',
    describe: `\`sessions(filter: {state: AUTHENTICATED, clientId, expiresAfter}, page: {limit: 20}, sort: {field: EXPIRATION_DATE, order: DESC})\` (${info.filteredMatches} matches); upstream: the same \`fieldValuePair\`/\`sortBy\` search`,
    rest: [filteredRest],
    graphql: [filteredGraphql],
  };
  const entities100: Scenario = {
    name: 'entities100',
    title: '_entities × 100',
    describe:
      '`_entities` with 100 `Session` representations (sliding windows over the data); upstream: one `GET /session/search?limit=200&pattern=<100 sids>`',
    rest: entityWindows.map((window) => search({ limit: 200, startIndex: 0, pattern: window.join(',') })),
    graphql: entityWindows.map((window) =>
      gql(ENTITIES_QUERY, { representations: window.map((sid) => ({ __typename: 'Session', sid })) }),
    ),
  };

  // 9 reads to 1 delete. The deletes name sids that do not exist (a real DELETE upstream that answers 404),
  // so the data set does not drain during the run.
  const mixedRest: RequestSpec[] = [];
  const mixedGraphql: RequestSpec[] = [];
  for (let i = 0; i < 200; i += 1) {
    const sid = sids[i % sids.length]!;
    const offset = pageOffsets20[i % pageOffsets20.length]!;
    switch (i % 10) {
      case 0:
      case 3:
      case 6:
        mixedRest.push(session.rest[i % sids.length]!);
        mixedGraphql.push(gql(SESSION_QUERY, { sid }));
        break;
      case 1:
      case 4:
      case 7:
        mixedRest.push(search({ limit: 20, startIndex: offset }));
        mixedGraphql.push(gql(PAGE_QUERY, { limit: 20, offset }));
        break;
      case 2:
      case 5:
      case 8:
        mixedRest.push(filteredRest);
        mixedGraphql.push(filteredGraphql);
        break;
      default: {
        const missing = missingSids[i % missingSids.length]!;
        mixedRest.push({ method: 'DELETE', path: `${API}/sid/${missing}`, ok: [404] });
        mixedGraphql.push(gql(DELETE_MUTATION, { sid: missing }));
      }
    }
  }
  const mixed: Scenario = {
    name: 'mixed',
    title: 'mixed read/write',
    describe:
      'cycles 3 × `session(sid)`, 3 × page of 20, 3 × filtered search, 1 × `deleteSession` of a random non-existent sid (a real upstream DELETE answering 404; real sessions are not deleted, so the data does not drain)',
    rest: mixedRest,
    graphql: mixedGraphql,
  };

  return { session, sessions20, sessions200, filtered, entities100, mixed };
}
