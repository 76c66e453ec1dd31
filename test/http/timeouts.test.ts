import { connect } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config.js';
import { configForEmulator } from '../../src/demo.js';
import { type Emulator, startEmulator } from '../../src/emulator/emulator.js';
import { createLogger } from '../../src/logger.js';
import { type AppServer, createServer, REQUEST_TIMEOUTS, type RequestTimeouts } from '../../src/server.js';
import { startStack } from '../helpers/stack.js';

import { sendAndHangUp, sendAndStall } from './raw-http.js';

const POST_HEAD = 'POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n';

describe('request timeouts of the real server', () => {
  it('are tight, with the headers deadline inside the request one and keep-alive longer than proxies', async () => {
    expect(REQUEST_TIMEOUTS).toEqual({ headersMs: 10_000, requestMs: 30_000, checkIntervalMs: 1_000 });
    const stack = await startStack();
    try {
      const { httpServer } = stack.server;
      expect(httpServer.headersTimeout).toBe(10_000);
      expect(httpServer.requestTimeout).toBe(30_000);
      expect(httpServer.headersTimeout).toBeLessThanOrEqual(httpServer.requestTimeout);
      expect(httpServer.keepAliveTimeout).toBe(65_000);
    } finally {
      await stack.close();
    }
  });
});

/**
 * The same server with the timeouts shortened (the factory's `requestTimeouts` option), so a stalled client is
 * seen cut off within a test's time.
 */
describe('stalled clients (timeouts shortened to 300 ms / 600 ms, checked every 50 ms)', () => {
  const timeouts: RequestTimeouts = { headersMs: 300, requestMs: 600, checkIntervalMs: 50 };
  /** The deadline, one check and scheduling slack on a busy machine. */
  const BOUND_MS = 2_000;
  let emulator: Emulator;
  let server: AppServer;
  let url: string;
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    emulator = await startEmulator({ host: '127.0.0.1', port: 0, sessionCount: 5 });
    const config = configForEmulator(loadConfig({ LOG_LEVEL: 'debug' }), emulator);
    const logger = createLogger(
      { level: config.logLevel, production: false },
      { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    );
    server = await createServer(config, logger, { requestTimeouts: timeouts });
    url = await server.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await server.stop();
    await emulator.close();
  });

  /** Node's own answer to a request it gives up on (lib/_http_server.js), byte for byte. */
  const nodeAnswer = (status: string) => `HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`;
  const TIMED_OUT = 'request timed out before it was received';

  it('headers sent in part, then nothing: 408 and the socket closed, logged once at info without a stack', async () => {
    const from = logs.length;
    const answer = await sendAndStall(url, POST_HEAD);
    expect(answer.text).toBe(nodeAnswer('408 Request Timeout'));
    expect(answer.elapsedMs).toBeLessThan(BOUND_MS);
    await expect.poll(() => logs.slice(from).filter((line) => line.msg === TIMED_OUT)).toHaveLength(1);
    const line = logs.slice(from).find((entry) => entry.msg === TIMED_OUT)!;
    expect(line).toEqual({
      level: 30,
      time: expect.any(Number),
      service: 'jans-sessions-graphql',
      remoteAddress: '127.0.0.1',
      remotePort: expect.any(Number),
      httpStatus: 408,
      msg: TIMED_OUT,
    });
    expect(JSON.stringify(logs.slice(from))).not.toMatch(/stack|"err"|\bat [\w.]+ \(/);
    expect(logs.slice(from).some((entry) => (entry.level as number) >= 40)).toBe(false);
  });

  it('a keep-alive connection whose second request stalls in its headers: 408 after the first answer, logged', async () => {
    const from = logs.length;
    const answer = await sendAndStall(
      url,
      'GET /healthz HTTP/1.1\r\nHost: test\r\n\r\nGET /healthz HTTP/1.1\r\nHost: te',
    );
    expect(answer.statusLine).toBe('HTTP/1.1 200 OK');
    expect(answer.text.endsWith(`{"status":"ok"}${nodeAnswer('408 Request Timeout')}`)).toBe(true);
    await expect.poll(() => logs.slice(from).filter((line) => line.msg === TIMED_OUT)).toHaveLength(1);
  });

  it.each([
    ['a malformed request line', 'GARBAGE\r\n\r\n', '400 Bad Request'],
    [
      'headers over 16 KB',
      `GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      '431 Request Header Fields Too Large',
    ],
    [
      'a chunk extension over 16 KB',
      `${POST_HEAD}Transfer-Encoding: chunked\r\n\r\n1;${'a'.repeat(20_000)}\r\n`,
      '413 Payload Too Large',
    ],
  ])(
    '%s: answered as Node answers it, at once, and not logged as a timeout or an error',
    async (_name, head, status) => {
      const from = logs.length;
      const answer = await sendAndStall(url, head);
      expect(answer.text).toBe(nodeAnswer(status));
      expect(answer.elapsedMs).toBeLessThan(BOUND_MS);
      expect(logs.slice(from).filter((line) => line.msg === TIMED_OUT)).toEqual([]);
      expect(logs.slice(from).some((line) => (line.level as number) >= 40)).toBe(false);
    },
  );

  it('a client resetting the connection mid-headers: nothing logged above debug, the server serves on', async () => {
    const from = logs.length;
    await sendAndHangUp(url, POST_HEAD, true);
    // Past the headers deadline: the reset connection must not come back as a timeout.
    await new Promise((resolve) => setTimeout(resolve, timeouts.headersMs + 4 * timeouts.checkIntervalMs));
    expect(logs.slice(from).filter((line) => (line.level as number) > 20)).toEqual([]);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('a body cut short (Content-Length 26, 10 bytes sent): 408 and the socket closed, logged without an error', async () => {
    const from = logs.length;
    const answer = await sendAndStall(
      url,
      `${POST_HEAD}Content-Length: 26\r\nX-Request-Id: stalled-body\r\n\r\n{"query":"`,
    );
    expect(answer.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer.elapsedMs).toBeLessThan(BOUND_MS);
    await expect
      .poll(() => logs.slice(from).filter((line) => line.requestId === 'stalled-body'))
      .toEqual([
        expect.objectContaining({ level: 30, msg: 'request timed out before its body was complete' }),
      ]);
    expect(logs.slice(from).some((line) => (line.level as number) >= 40)).toBe(false);
  });

  it('an answer that takes longer than the request timeout is still sent: only receiving is bounded', async () => {
    emulator.setFault('search', { latencyMs: 1_000, times: 1 });
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ sessions { totalCount } }' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { sessions: { totalCount: 5 } } });
  });

  it('an idle keep-alive connection outlives the headers and request timeouts', async () => {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    socket.setEncoding('latin1');
    const responses: string[] = [];
    socket.on('data', (chunk: string) => responses.push(chunk));
    const request = 'GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n';
    try {
      socket.write(request);
      await expect.poll(() => responses.join('')).toContain('{"status":"ok"}');
      await new Promise((resolve) => setTimeout(resolve, timeouts.requestMs + 4 * timeouts.checkIntervalMs));
      expect(socket.destroyed).toBe(false);
      socket.write(request);
      await expect.poll(() => responses.join('').split('HTTP/1.1 200 OK').length - 1).toBe(2);
      expect(responses.join('')).not.toContain('408');
    } finally {
      socket.destroy();
    }
  });
});
