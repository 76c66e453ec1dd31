import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * CORS for `/graphql` (`CORS_ORIGINS`), so a browser app on another origin (an admin console) can call the API.
 * Off by default: then no CORS header is ever sent and browsers refuse cross-origin calls.
 *
 * No cookies are involved (callers send `Authorization` or `x-api-key` from script), so
 * `Access-Control-Allow-Credentials` is never sent. An origin that is not allowed gets the same answers as before,
 * without CORS headers: its browser then refuses to hand them to the page. Apollo's CSRF prevention stays on, so a
 * cross-origin call always goes through a preflight first.
 */
export interface Cors {
  /** Adds the CORS headers of an actual request (GET, POST, or a refusal) from an allowed origin. */
  apply(req: IncomingMessage, res: ServerResponse): void;
  /** Answers a preflight (`OPTIONS`) with 204: with CORS headers when the origin is allowed, with none otherwise. */
  preflight(req: IncomingMessage, res: ServerResponse, allow: string): void;
}

/** What a preflight lets the page send: GraphQL's methods, and its headers when none is asked for by name. */
const ALLOW_METHODS = 'GET, POST';
const DEFAULT_ALLOW_HEADERS =
  'authorization, content-type, x-api-key, x-request-id, traceparent, tracestate, apollo-require-preflight, ' +
  'x-apollo-operation-name, apollographql-client-name, apollographql-client-version';
/** What the page may read besides the CORS-safelisted response headers. */
const EXPOSE_HEADERS = 'x-request-id, www-authenticate';
/** Browsers may reuse a preflight answer this long (Chromium caps it at 2 h, Firefox at 24 h). */
const MAX_AGE_SECONDS = '600';
/** A list of header names, as `Access-Control-Request-Headers` carries it. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+([ \t]*,[ \t]*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;
const MAX_HEADER_LIST = 1024;

/** `origins`: exact origins (`https://admin.example.org`), or `'*'` for any. Undefined: CORS off. */
export function createCors(origins: readonly string[] | '*' | undefined): Cors | undefined {
  if (origins === undefined) {
    return undefined;
  }
  const allowed = origins === '*' ? undefined : new Set(origins);
  /** The `Access-Control-Allow-Origin` value for this request, or undefined when it gets none. */
  const allowOrigin = (req: IncomingMessage): string | undefined => {
    const origin = req.headers.origin;
    if (origin === undefined) {
      return undefined;
    }
    if (allowed === undefined) {
      return '*';
    }
    return allowed.has(origin) ? origin : undefined;
  };
  return {
    apply(req, res) {
      // The answer depends on Origin: a shared cache must not give one origin's answer to another.
      if (allowed !== undefined) {
        res.setHeader('vary', 'Origin');
      }
      const origin = allowOrigin(req);
      if (origin === undefined) {
        return;
      }
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
    },
    preflight(req, res, allow) {
      const origin = allowOrigin(req);
      const headers: Record<string, string> = { allow, vary: 'Origin, Access-Control-Request-Headers' };
      if (origin !== undefined) {
        const requested = req.headers['access-control-request-headers'];
        headers['access-control-allow-origin'] = origin;
        headers['access-control-allow-methods'] = ALLOW_METHODS;
        // The names the page asked for (a listed origin is trusted; with `*` it is the operator's choice that any
        // page may call), or the usual ones when the list is malformed.
        headers['access-control-allow-headers'] =
          requested !== undefined && requested.length <= MAX_HEADER_LIST && HEADER_LIST.test(requested)
            ? requested
            : DEFAULT_ALLOW_HEADERS;
        headers['access-control-max-age'] = MAX_AGE_SECONDS;
      }
      res.writeHead(204, headers);
      res.end();
    },
  };
}
