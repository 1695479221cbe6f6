/**
 * The node:http server around the Express app, with the connection-level defences a route cannot
 * give: time limits for headers (HEADERS_TIMEOUT) and for the whole request (BODY_TIMEOUT), checked
 * every second rather than Node's default 30 s; `Expect: 100-continue` answered 413 (or 429) when
 * the declared body could not be accepted, so the client never sends it; other expectations, a
 * missing Host and CONNECT answered with the same JSON error body as every other error instead of
 * a bare status line or a silent close.
 */
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';
import type { HttpOptions } from '../config';
import { checkDeclaredLength } from './bodyReader';
import { onClientError } from './clientError';

function answer(res: ServerResponse, status: number, error: string, errorType: string): void {
  const body = JSON.stringify({ error, error_type: errorType });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/** HTTP/1.1 requires Host (RFC 9112 3.2); Node's own check answers an empty 400, so ours runs instead. */
function hostRequired(app: Express) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) {
      answer(res, 400, 'HTTP/1.1 requests must carry a Host header', 'Protocol');
      return;
    }
    app(req, res);
  };
}

export function createHttpServer(app: Express, config: Pick<HttpOptions, 'keepAliveTimeoutMs' | 'maxPayloadBytes' | 'budgets'>): http.Server {
  const { budgets } = config;
  const handler = hostRequired(app);
  const server = http.createServer(
    {
      requireHostHeader: false,
      headersTimeout: budgets.headersTimeoutMs,
      requestTimeout: budgets.bodyTimeoutMs,
      // Node checks the two timeouts above only this often (default 30 s): a slow sender would
      // otherwise keep its socket up to 30 s past the limit.
      connectionsCheckingInterval: 1000,
    },
    handler,
  );
  // Longer than the platform proxy's idle timeout, so the proxy, not us, closes idle connections.
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  server.on('clientError', onClientError);

  const limits = { maxBytes: config.maxPayloadBytes, budgets };
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const refused = checkDeclaredLength(req, limits);
    if (refused) {
      answer(res, refused.status, refused.message, refused.errorType);
      return;
    }
    res.writeContinue();
    handler(req, res);
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    answer(res, 417, `Expect: ${String(req.headers.expect).slice(0, 100)} is not supported; only 100-continue is`, 'Protocol');
  });
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    const body = JSON.stringify({ error: 'CONNECT is not supported: this is not a proxy', error_type: 'Protocol' });
    socket.end(`HTTP/1.1 405 ${STATUS_CODES[405]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  return server;
}
