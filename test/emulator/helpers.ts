import { SCOPES } from '../../src/emulator/auth.js';
import { type Emulator, SESSION_PATH } from '../../src/emulator/emulator.js';
import type { SessionId, SessionPagedResult } from '../../src/janssen/session.dto.js';

/** The fixed clock most suites use, so demo data is identical on every run. */
export const NOW = new Date('2026-07-01T12:00:00Z');

/** Every scope a session client normally holds. */
export const ALL_SESSION_SCOPES = [SCOPES.sessionReadonly, SCOPES.sessionDelete, SCOPES.revokeSession];

/** A response read to the end. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

/** Parses a reply body as JSON. */
export function json<T>(reply: Reply): T {
  return JSON.parse(reply.text) as T;
}

/** Options of {@link call}. */
export interface CallOptions {
  method?: string;
  /** Access token; `null` sends no Authorization header. Default: a token with all session scopes. */
  token?: string | null;
  headers?: Record<string, string>;
  body?: string;
}

/** One real HTTP request to `emulator.origin + path`. */
export async function call(emulator: Emulator, path: string, options: CallOptions = {}): Promise<Reply> {
  const token = options.token === undefined ? emulator.issueToken(ALL_SESSION_SCOPES) : options.token;
  const headers: Record<string, string> = { ...options.headers };
  if (token !== null) {
    headers.Authorization = `Bearer ${token}`;
  }
  const response = await fetch(`${emulator.origin}${path}`, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Path of a session route, `''` for `GET /session`. */
export function sessionPath(suffix = ''): string {
  return `${SESSION_PATH}${suffix}`;
}

/** Query parameters of a search; `undefined` ones are not sent. */
export type SearchParams = Record<string, string | number | undefined>;

/** `GET /session/search` with the given query parameters (values are URL-encoded here). */
export async function search(
  emulator: Emulator,
  params: SearchParams,
  options: CallOptions = {},
): Promise<Reply> {
  const entries = Object.entries(params).flatMap(([k, v]): [string, string][] =>
    v === undefined ? [] : [[k, String(v)]],
  );
  const query = new URLSearchParams(entries).toString();
  return call(emulator, sessionPath(`/search${query ? `?${query}` : ''}`), options);
}

/** A successful search page. */
export async function searchPage(emulator: Emulator, params: SearchParams): Promise<SessionPagedResult> {
  const reply = await search(emulator, params);
  if (reply.status !== 200) {
    throw new Error(`search ${JSON.stringify(params)} answered ${reply.status}: ${reply.text}`);
  }
  return json<SessionPagedResult>(reply);
}

/** The sorted `outsideSid`s of every match (`limit=0` = all). */
export async function matchingSids(emulator: Emulator, params: SearchParams): Promise<string[]> {
  const page = await searchPage(emulator, { limit: 0, ...params });
  return (page.entries ?? []).map((entry: SessionId) => entry.outsideSid).sort();
}

/** Sorted sids of store records. */
export function sidsOf(records: readonly { sid: string }[]): string[] {
  return records.map((r) => r.sid).sort();
}

/** Wire date format of §4.1. */
export const WIRE_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;
