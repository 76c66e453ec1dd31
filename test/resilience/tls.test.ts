import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { trustedCas } from '../../src/janssen/http-client.js';
import { SessionsDocument } from '../generated/graphql.js';
import { startStack } from '../helpers/stack.js';

import { codeOf, LEAKS } from './helpers.js';

/** A private CA and a server certificate for 127.0.0.1 signed by it, as a Janssen test install has. */
function makeCertificates(dir: string): { caFile: string; key: string; cert: string } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Test Janssen CA',
  );
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  );
  return {
    caFile: join(dir, 'ca.pem'),
    key: readFileSync(join(dir, 'server.key'), 'utf8'),
    cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
  };
}

describe('TLS to a Janssen with a self-signed CA (JANS_CA_FILE)', () => {
  let dir: string;
  let certs: ReturnType<typeof makeCertificates>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jans-tls-'));
    certs = makeCertificates(dir);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const tls = () => ({ key: certs.key, cert: certs.cert });

  it('without the CA: the certificate is refused, the client gets a clear code, the log names the cause', async () => {
    const stack = await startStack({
      emulator: { sessionCount: 3, tls: tls() },
      env: { JANS_TIMEOUT_MS: '1000' },
    });
    try {
      expect(stack.emulator.configApiUrl).toMatch(/^https:/);
      const response = await stack.gql(SessionsDocument, {});
      // Client-credentials mode: the token request is the first to fail.
      expect(codeOf(response)).toBe('UPSTREAM_UNAVAILABLE');
      expect(JSON.stringify(response.body)).not.toMatch(LEAKS);
      // Refused during the handshake: no request reached Janssen, and it was not retried.
      expect(stack.emulator.count()).toBe(0);
      const failure = stack.logs.find((line) => line.msg === 'upstream call failed');
      expect(JSON.stringify(failure?.cause)).toMatch(/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/);
    } finally {
      await stack.close();
    }
  });

  it('without the CA in pass-through mode: UPSTREAM_ERROR', async () => {
    const stack = await startStack({
      mode: 'pass-through',
      emulator: { sessionCount: 3, tls: tls() },
      env: { JANS_TIMEOUT_MS: '1000' },
    });
    try {
      const token = stack.emulator.issueToken(['https://jans.io/oauth/jans-auth-server/session.readonly']);
      const response = await stack.gql(SessionsDocument, {}, { authorization: `Bearer ${token}` });
      expect(codeOf(response)).toBe('UPSTREAM_ERROR');
      expect(stack.emulator.count()).toBe(0);
    } finally {
      await stack.close();
    }
  });

  it('with JANS_CA_FILE: token and session calls succeed over HTTPS', async () => {
    const stack = await startStack({
      emulator: { sessionCount: 3, tls: tls() },
      env: { JANS_TIMEOUT_MS: '1000', JANS_CA_FILE: certs.caFile },
    });
    try {
      const response = await stack.gql(SessionsDocument, {});
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data?.sessions.totalCount).toBe(3);
      expect(stack.emulator.count('token')).toBe(1);
      expect(stack.emulator.count('search')).toBe(1);
    } finally {
      await stack.close();
    }
  });

  it('with JANS_CA_FILE naming another CA: still refused (checks stay on)', async () => {
    const other = join(dir, 'other');
    mkdirSync(other);
    const { caFile } = makeCertificates(other);
    const stack = await startStack({
      emulator: { sessionCount: 3, tls: tls() },
      env: { JANS_TIMEOUT_MS: '1000', JANS_CA_FILE: caFile },
    });
    try {
      expect(codeOf(await stack.gql(SessionsDocument, {}))).toBe('UPSTREAM_UNAVAILABLE');
      expect(stack.emulator.count()).toBe(0);
    } finally {
      await stack.close();
    }
  });

  it('the extra CA is added to the public roots, not put in their place', () => {
    const ca = readFileSync(certs.caFile, 'utf8');
    const trusted = trustedCas(ca)!;
    expect(trusted).toHaveLength(rootCertificates.length + 1);
    expect(trusted).toContain(ca);
    expect(trustedCas(undefined)).toBeUndefined();
  });
});
