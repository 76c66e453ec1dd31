import type { IncomingMessage, ServerResponse } from 'node:http';

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/**
 * The connection closed before the request body was complete: the client went away, or Node gave up on a stalled
 * body after `requestTimeout` (and answered 408 itself). Not a failure of ours.
 */
export class ClientClosedRequestError extends Error {
  override readonly name = 'ClientClosedRequestError';
  readonly code = 'ERR_CLIENT_CLOSED_REQUEST';

  constructor(
    /** Whether Node closed it for `requestTimeout`. */
    readonly timedOut: boolean,
    options?: ErrorOptions,
  ) {
    super(timedOut ? 'Request body not received in time' : 'Client closed the request', options);
  }
}

/** Whether a request's `Content-Encoding` leaves its body as sent: absent, empty or `identity`. */
export function isIdentityEncoded(header: string | undefined): boolean {
  return (
    header === undefined ||
    header.split(',').every((coding) => {
      const name = coding.trim().toLowerCase();
      return name === '' || name === 'identity';
    })
  );
}

/**
 * Reads a request body as UTF-8, refusing (without buffering it) anything over `maxBytes`. Plain listeners rather
 * than `for await`: the stream's async iterator costs a generator and a promise per chunk on every request.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(new BodyTooLargeError());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        done();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    };
    const closed = (cause?: Error) =>
      new ClientClosedRequestError(
        (req.socket.errored as NodeJS.ErrnoException | null)?.code === 'ERR_HTTP_REQUEST_TIMEOUT',
        cause ? { cause } : undefined,
      );
    // An IncomingMessage only fails when its connection closes early ('aborted', ECONNRESET).
    const onError = (error: Error) => {
      done();
      reject(closed(error));
    };
    // Closed before its end without an error event.
    const onClose = () => {
      done();
      reject(closed());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
