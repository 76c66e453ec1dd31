import type { Random } from './prng.js';

/**
 * A failure to inject in front of a route. Faults run before authorization. When several members are set,
 * `latencyMs` delays first, then the first of `hang`, `reset`, `status`/`html`, `truncatedJson` applies;
 * `latencyMs` alone just slows the normal response down.
 */
export interface Fault {
  /** Delay before answering (or before the other fault). */
  latencyMs?: number;
  /** Never answer; the socket stays open until the client gives up or the emulator closes. */
  hang?: boolean;
  /** Destroy the socket (TCP RST) without any response. */
  reset?: boolean;
  /** Answer with this status and a Jetty error body. */
  status?: 400 | 500 | 502 | 503 | 504;
  /** Jetty's HTML error page, with a Java stack trace and an internal hostname, instead of its JSON one. */
  html?: boolean;
  /** 200 with `Content-Type: application/json` and a body cut in the middle. */
  truncatedJson?: boolean;
  /** Probability in [0, 1] that the fault applies to a request (seeded dice); default 1. */
  failureRate?: number;
  /**
   * Let the operation run (its change is made), then lose the answer: `hang`, `reset`, `status` or
   * `truncatedJson` replaces the response it would have sent. `latencyMs` does not apply. Models a DELETE whose
   * answer never came back.
   */
  afterHandling?: boolean;
  /** Only the next N requests of the route are considered; the fault is then removed. */
  times?: number;
}

interface ArmedFault {
  fault: Fault;
  remaining: number;
}

/** Internal host names the error pages leak, as a misconfigured production server would. */
export const INTERNAL_DB_HOST = 'jans-db.internal.example';
const INTERNAL_APP_HOST = 'jans-config-api-7c9f5d8b6-x2k4q.jans.svc.cluster.local';

/** Fault state per route (plus `'*'` for all routes); a route's own fault wins over `'*'`. */
export class FaultInjector<Route extends string> {
  private readonly faults = new Map<Route | '*', ArmedFault>();

  constructor(private readonly rng: Random) {}

  /** Installs (or with `null` removes) the fault of a route; `set('*', null)` removes every fault. */
  set(route: Route | '*', fault: Fault | null): void {
    if (fault === null) {
      if (route === '*') {
        this.faults.clear();
      } else {
        this.faults.delete(route);
      }
      return;
    }
    if (fault.failureRate !== undefined && !(fault.failureRate >= 0 && fault.failureRate <= 1)) {
      throw new RangeError('failureRate must be within [0, 1]');
    }
    if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times > 0)) {
      throw new RangeError('times must be a positive integer');
    }
    this.faults.set(route, { fault: { ...fault }, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  /** The fault to apply to this request of `route`, if any; consumes one of `times`. */
  take(route: Route): Fault | null {
    const key: Route | '*' | undefined = this.faults.has(route)
      ? route
      : this.faults.has('*')
        ? '*'
        : undefined;
    if (key === undefined) {
      return null;
    }
    const armed = this.faults.get(key);
    if (!armed) {
      return null;
    }
    armed.remaining -= 1;
    if (armed.remaining <= 0) {
      this.faults.delete(key);
    }
    const rate = armed.fault.failureRate ?? 1;
    return rate >= 1 || this.rng() < rate ? armed.fault : null;
  }
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The reason phrase of an error status. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Error';
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const STACK_TRACE = [
  `org.jboss.resteasy.spi.UnhandledException: io.jans.orm.exception.EntryPersistenceException: Failed to find entries with baseDN: ou=sessions,o=jans`,
  `\tat org.jboss.resteasy.core.ExceptionHandler.handleApplicationException(ExceptionHandler.java:106)`,
  `\tat org.jboss.resteasy.core.ExceptionHandler.handleException(ExceptionHandler.java:372)`,
  `\tat org.jboss.resteasy.core.SynchronousDispatcher.writeException(SynchronousDispatcher.java:218)`,
  `\tat org.eclipse.jetty.ee10.servlet.ServletHolder.handle(ServletHolder.java:736)`,
  `Caused by: io.jans.orm.exception.EntryPersistenceException: Failed to find entries with baseDN: ou=sessions,o=jans`,
  `\tat io.jans.orm.sql.impl.SqlEntryManager.findPagedEntries(SqlEntryManager.java:512)`,
  `\tat io.jans.configapi.service.auth.SessionService.searchSession(SessionService.java:142)`,
  `\tat io.jans.configapi.rest.resource.auth.SessionResource.searchSessionEntries(SessionResource.java:118)`,
  `Caused by: org.postgresql.util.PSQLException: Connection to ${INTERNAL_DB_HOST}:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.`,
  `\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:346)`,
  `\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)`,
  `\t... 42 more`,
].join('\n');

/** Jetty's HTML error page, leaking a stack trace and internal host names. */
export function jettyHtmlErrorPage(status: number, uri: string): string {
  const reason = reasonPhrase(status);
  return [
    '<html>',
    '<head>',
    '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
    `<title>Error ${status} ${reason}</title>`,
    '</head>',
    '<body>',
    `<h2>HTTP ERROR ${status} ${reason}</h2>`,
    '<table>',
    `<tr><th>URI:</th><td>${escapeHtml(uri)}</td></tr>`,
    `<tr><th>STATUS:</th><td>${status}</td></tr>`,
    `<tr><th>MESSAGE:</th><td>${reason}</td></tr>`,
    '<tr><th>SERVLET:</th><td>io.jans.configapi.rest.ApiApplication</td></tr>',
    `<tr><th>HOST:</th><td>${INTERNAL_APP_HOST}</td></tr>`,
    '</table>',
    `<h3>Caused by:</h3><pre>${escapeHtml(STACK_TRACE)}</pre>`,
    '<hr/><a href="https://jetty.org/">Powered by Jetty:// 12.0.16</a><hr/>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/**
 * Jetty's JSON error body for an exception no JAX-RS mapper handled (issue #9874 shape, §5.2):
 * `{"url","status","message","servlet","cause0",...}`, all strings.
 */
export function jettyJsonErrorBody(
  status: number,
  uri: string,
  message: string,
  causes: readonly string[] = [],
): string {
  const body: Record<string, string> = {
    url: uri,
    status: String(status),
    message,
    servlet: 'io.jans.configapi.rest.ApiApplication',
  };
  causes.forEach((cause, i) => {
    body[`cause${i}`] = cause;
  });
  return JSON.stringify(body);
}
