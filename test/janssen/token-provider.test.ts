import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { ClientCredentialsTokenProvider } from '../../src/janssen/token-provider.js';
import { writeHugeToken } from '../helpers/huge-token.js';

import { rejection } from './helpers.js';

/** What a token endpoint that the emulator cannot imitate saw. */
interface Seen {
  path: string;
  authorization: string | undefined;
}

/** A one-off token endpoint on an ephemeral loopback port; `handle` answers every request. */
async function endpoint(
  handle: (req: http.IncomingMessage, res: http.ServerResponse, url: string) => void,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => handle(req, res, url));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return { url, seen };
}

const servers: http.Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function provider(tokenUrl: string, timeoutMs = 3000): ClientCredentialsTokenProvider {
  return new ClientCredentialsTokenProvider({ tokenUrl, clientId: 'svc', clientSecret: 's3cret', timeoutMs });
}

const TOKEN = JSON.stringify({ access_token: 'minted-elsewhere', token_type: 'Bearer', expires_in: 3600 });

describe('ClientCredentialsTokenProvider against a misbehaving token endpoint', () => {
  it('stops reading a token response past its size cap, at once and without buffering it', async () => {
    let written = () => 0;
    const { url } = await endpoint((_req, res) => {
      written = writeHugeToken(res);
    });
    const started = performance.now();
    const error = await rejection(provider(`${url}/token`, 5000).getToken());
    const ms = performance.now() - started;
    expect(error.kind).toBe('ERROR');
    expect(error.message).toBe('token: the auth server answered more than 64 KiB, not read');
    expect(ms).toBeLessThan(1000);
    // The server's writes stop once the client hangs up; what socket buffers took is all that was sent.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(written()).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a token response whose Content-Length is past the cap before reading it', async () => {
    const { url } = await endpoint((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 * 1024) });
      res.write('{"access_token":"');
      // The rest never comes: only the announced length can end this call early.
    });
    const started = performance.now();
    const error = await rejection(provider(`${url}/token`, 3000).getToken());
    expect(error.message).toBe('token: the auth server answered more than 64 KiB, not read');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('does not follow a same-origin redirect, so the client credentials are sent once', async () => {
    const { url, seen } = await endpoint((req, res, base) => {
      if (req.url === '/token') {
        // With a page, as servers send: the 3xx is refused whether or not its body is JSON.
        res
          .writeHead(302, { location: `${base}/elsewhere/token`, 'content-type': 'text/html' })
          .end('<html>Found</html>');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(TOKEN);
      }
    });
    const error = await rejection(provider(`${url}/token`).getToken());
    expect(error.kind).toBe('ERROR');
    expect(error.status).toBe(302);
    expect(error.message).toBe('token: the auth server answered 302, a redirect, which is not followed');
    expect(seen.map((s) => s.path)).toEqual(['/token']);
  });

  it('does not follow a cross-origin redirect nor accept a token minted there', async () => {
    const other = await endpoint((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(TOKEN);
    });
    const { url, seen } = await endpoint((_req, res) => {
      res.writeHead(307, { location: `${other.url.replace('127.0.0.1', 'localhost')}/steal` }).end();
    });
    const error = await rejection(provider(`${url}/token`).getToken());
    expect(error.status).toBe(307);
    expect(error.message).not.toMatch(/localhost|steal|127\.0\.0\.1/);
    expect(seen).toHaveLength(1);
    expect(other.seen).toHaveLength(0);
  });

  it('still reads a token of a few KB (a signed JWT with many scopes)', async () => {
    const jwt = 'eyJ' + 'x'.repeat(8 * 1024);
    const { url } = await endpoint((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ access_token: jwt, token_type: 'Bearer', expires_in: 3600 }));
    });
    expect(await provider(`${url}/token`).getToken()).toBe(jwt);
  });
});
