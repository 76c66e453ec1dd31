import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

import type { Config } from '../config.js';

import { exampleTabs } from './graphiql-examples.js';

/** Where the page's assets are served; relative in the page, so a path prefix added by a proxy still works. */
export const ASSET_PREFIX = '/graphiql/assets/';

/**
 * The tightest policy GraphiQL 3 runs under: every script is a file served here (the page's configuration is a
 * JSON data block, which is not executed), and it connects only to this origin. Styles need `'unsafe-inline'`:
 * GraphiQL's dialogs lock scrolling with an inserted `<style>` whose text depends on the scrollbar's width, so no
 * hash can allow it. Fonts and icons are `data:` URLs inside graphiql.min.css.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/**
 * Starts GraphiQL on the page's JSON configuration; served as a file so the CSP needs no inline script. Where
 * introspection is off, `schema: null` keeps GraphiQL from asking for it (and showing the refusal).
 */
const INIT_SCRIPT = `'use strict';
(function () {
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: window.location.pathname }),
      schema: config.introspection ? undefined : null,
      defaultTabs: config.tabs,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: config.showHeaders ? 'headers' : 'variables',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();
`;

const PAGE_STYLE = `html, body, #graphiql { height: 100%; margin: 0; }
#graphiql > noscript, #graphiql > .loading { display: block; padding: 2rem; font-family: system-ui, sans-serif; }
`;

interface AssetSource {
  contentType: string;
  read: () => Buffer;
}

interface Asset {
  contentType: string;
  body: Buffer;
  gzipped: Promise<Buffer>;
}

const require = createRequire(import.meta.url);

function packageFile(pkg: string, file: string, contentType: string): [string, AssetSource] {
  const manifest = require.resolve(`${pkg}/package.json`);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const [base, ...rest] = path.basename(file).split('.');
  // The version is in the name, so a year-long immutable cache never serves a stale bundle after an upgrade.
  const name = `${base}-${version}.${rest.join('.')}`;
  return [name, { contentType, read: () => readFileSync(path.join(path.dirname(manifest), file)) }];
}

function ownFile(base: string, extension: string, text: string, contentType: string): [string, AssetSource] {
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return [`${base}-${hash}.${extension}`, { contentType, read: () => Buffer.from(text) }];
}

/** The page's files, in load order, by served name. Bodies are read on first request and kept. */
function assetSources(): Map<string, AssetSource> {
  return new Map([
    packageFile('graphiql', 'graphiql.min.css', CSS),
    ownFile('page', 'css', PAGE_STYLE, CSS),
    packageFile('react', 'umd/react.production.min.js', JS),
    packageFile('react-dom', 'umd/react-dom.production.min.js', JS),
    packageFile('graphiql', 'graphiql.min.js', JS),
    ownFile('init', 'js', INIT_SCRIPT, JS),
  ]);
}

const gzipAsync = promisify(gzip);
let sources: Map<string, AssetSource> | undefined;
const loaded = new Map<string, Asset>();

function asset(name: string): Asset | undefined {
  let found = loaded.get(name);
  const source = (sources ??= assetSources()).get(name);
  if (!found && source) {
    const body = source.read();
    const gzipped = gzipAsync(body);
    // Served uncompressed if compression fails; the rejection must not go unhandled meanwhile.
    gzipped.catch(() => undefined);
    found = { contentType: source.contentType, body, gzipped };
    loaded.set(name, found);
  }
  return found;
}

/** A `qvalue` (RFC 9110 §12.4.2): 0 to 1, at most three decimals. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Whether an `Accept-Encoding` value (RFC 9110 §12.5.3) lets us send gzip, and ranks it no lower than identity:
 * `gzip` (or `x-gzip`), else `*`, with a weight above 0. Identity stays acceptable unless `identity;q=0` or `*;q=0`
 * excludes it. An entry with a malformed weight is ignored.
 */
function acceptsGzip(header: string | undefined): boolean {
  if (!header) {
    return false;
  }
  const weights = new Map<string, number>();
  for (const entry of header.split(',')) {
    const [coding = '', ...params] = entry.split(';').map((part) => part.trim());
    let weight = 1;
    for (const param of params) {
      const [name = '', value = ''] = param.split('=').map((part) => part.trim());
      if (name.toLowerCase() === 'q') {
        weight = QVALUE.test(value) ? Number(value) : Number.NaN;
      }
    }
    const name = coding.toLowerCase() === 'x-gzip' ? 'gzip' : coding.toLowerCase();
    if (name !== '' && !Number.isNaN(weight)) {
      weights.set(name, Math.max(weight, weights.get(name) ?? 0));
    }
  }
  const gzip = weights.get('gzip') ?? weights.get('*') ?? 0;
  const identity = weights.get('identity') ?? weights.get('*') ?? 1;
  return gzip > 0 && gzip >= identity;
}

/**
 * What the headers editor starts with, from how callers authenticate: nothing in the demo (no caller auth), an
 * `x-api-key` or a bearer token otherwise. Placeholders only: the page never carries a credential.
 */
export function graphiqlHeaders(config: Pick<Config, 'auth' | 'upstream'>): Record<string, string> {
  if (config.upstream.clientId === undefined) {
    return { Authorization: 'Bearer <token>' };
  }
  if (config.auth.apiKeyHashes.length > 0) {
    return { 'x-api-key': '<key>' };
  }
  return config.auth.jwksUrl === undefined ? {} : { Authorization: 'Bearer <token>' };
}

export interface GraphiQLOptions {
  /** Headers editor content for new tabs: `{}` when the caller needs none, else a hint of what to send. */
  headers: Record<string, string>;
  /** Whether the server answers introspection, which GraphiQL's completion and docs need. */
  introspection: boolean;
  /** `JANS_MAX_PAGE_SIZE`: the example operations ask for no larger page. */
  maxPageSize: number;
  /**
   * `TRUSTED_DOCUMENTS_MODE=enforce`: only listed documents run, so GraphiQL does not ask for the schema (its
   * introspection query is not listed) and each tab says why its example is refused.
   */
  trustedDocumentsOnly?: boolean;
}

/** Heads each example tab in enforce mode; a comment, so a tab that is run is still a (refused) operation. */
export const TRUSTED_DOCUMENTS_NOTICE = `# This service runs trusted documents only (TRUSTED_DOCUMENTS_MODE=enforce):
# an operation not in its manifest, such as this example, is refused (FORBIDDEN).
# Paste a listed document's exact text to run it.
`;

/** The offline GraphiQL page of `GET /graphql` and its assets, all from npm packages: no CDN, no external URL. */
export function createGraphiQL(options: GraphiQLOptions) {
  const names = [...(sources ??= assetSources()).keys()];
  const styles = names.filter((name) => name.endsWith('.css'));
  const scripts = names.filter((name) => name.endsWith('.js'));
  const headers = Object.keys(options.headers).length === 0 ? '{}' : JSON.stringify(options.headers, null, 2);
  const relative = ASSET_PREFIX.slice(1);

  function html(now: Date): string {
    const notice = options.trustedDocumentsOnly ? TRUSTED_DOCUMENTS_NOTICE : '';
    const config = {
      tabs: exampleTabs(now, options.maxPageSize).map((tab) => ({
        ...tab,
        query: `${notice}${tab.query}`,
        headers,
      })),
      headers,
      showHeaders: headers !== '{}',
      introspection: options.introspection && !options.trustedDocumentsOnly,
    };
    // `<` escaped so no value can close the data block.
    const json = JSON.stringify(config).replace(/</g, '\\u003c');
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>GraphiQL · jans-sessions-graphql</title>
${styles.map((name) => `<link rel="stylesheet" href="${relative}${name}">`).join('\n')}
</head>
<body>
<div id="graphiql"><div class="loading">Loading GraphiQL…</div><noscript>GraphiQL needs JavaScript.</noscript></div>
<script id="graphiql-config" type="application/json">${json}</script>
${scripts.map((name) => `<script src="${relative}${name}"></script>`).join('\n')}
</body>
</html>
`;
  }

  return {
    /** A browser navigating to the endpoint: GET, wants HTML, and carries no operation. */
    wantsPage(req: IncomingMessage, url: URL): boolean {
      return (
        req.method === 'GET' &&
        /\btext\/html\b/i.test(req.headers.accept ?? '') &&
        !url.searchParams.has('query') &&
        !url.searchParams.has('extensions')
      );
    },

    sendPage(res: ServerResponse): void {
      const body = html(new Date());
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(body);
    },

    /** Serves `/graphiql/assets/<name>`; false when there is no such asset. */
    async sendAsset(req: IncomingMessage, res: ServerResponse, name: string): Promise<boolean> {
      const found = req.method === 'GET' || req.method === 'HEAD' ? asset(name) : undefined;
      if (!found) {
        return false;
      }
      const compressed = acceptsGzip(req.headers['accept-encoding'])
        ? await found.gzipped.catch(() => undefined)
        : undefined;
      const body = compressed ?? found.body;
      res.writeHead(200, {
        'content-type': found.contentType,
        'content-length': body.length,
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
        vary: 'accept-encoding',
        ...(compressed ? { 'content-encoding': 'gzip' } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}
