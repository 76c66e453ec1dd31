import type { ServerResponse } from 'node:http';

/**
 * Answers a token request with a JSON token of up to 64 MiB, written as fast as the client reads it and stopped
 * when the client hangs up. Returns how many bytes of the token it has written so far.
 */
export function writeHugeToken(res: ServerResponse): () => number {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"access_token":"');
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let written = 0;
  const pump = () => {
    while (!res.destroyed && written < 64 * 1024 * 1024) {
      written += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end('","expires_in":3600}');
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
  return () => written;
}
