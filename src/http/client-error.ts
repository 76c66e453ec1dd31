import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

import type { Logger } from 'pino';

/**
 * Node 20's own answers to a request it cannot take (`socketOnError` in lib/_http_server.js): 431 for headers over
 * `maxHeaderSize`, 413 for a chunk extension over 16 KiB, 408 when `headersTimeout` or `requestTimeout` passed,
 * 400 for anything else the parser refused.
 */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/** What `socketOnError` reads of the socket: the response in flight on it, if any, and whether it began sending. */
interface HttpSocket extends Socket {
  _httpMessage?: { _headerSent?: boolean } | null;
}

/**
 * The server's `clientError` listener: answers exactly as Node does without one (a listener replaces that answer),
 * and logs a request that timed out with no response in flight on its connection, which nothing else would: its
 * headers stalled (or its body did, after we had answered). A stalled body with a response in flight is the
 * request handler's to log, with its request id. Other client errors are debug lines; a reset connection is
 * normal client behaviour and not logged.
 */
export function createClientErrorHandler(logger: Logger): (error: Error, socket: Duplex) => void {
  return (error, socket) => {
    const { code } = error as NodeJS.ErrnoException;
    const http = socket as HttpSocket;
    const inFlight = http._httpMessage;
    // Never write into a socket already closed, or after an answer began: that would corrupt what the peer reads.
    const status = http.writable && !inFlight?._headerSent ? (STATUS_BY_CODE[code ?? ''] ?? 400) : undefined;
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const fields = {
        remoteAddress: http.remoteAddress,
        remotePort: http.remotePort,
        ...(status === undefined ? {} : { httpStatus: status }),
      };
      if (inFlight) {
        logger.debug(fields, 'request timed out while being answered');
      } else {
        logger.info(fields, 'request timed out before it was received');
      }
    } else if (code !== 'ECONNRESET') {
      logger.debug(
        { remoteAddress: http.remoteAddress, code, ...(status === undefined ? {} : { httpStatus: status }) },
        'malformed request refused',
      );
    }
    if (status !== undefined) {
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy(error);
  };
}
