/**
 * Answers for requests Node's HTTP parser rejects before any route sees them (broken framing, a
 * Content-Length that is not a number, headers over the size limit or sent too slowly): the same
 * JSON `{error, error_type: "Protocol"}` as every other error, with the status Node chose, and the
 * connection closed. Without this, such clients get a bare status line with no explanation.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { logger } from '../log';

const log = logger('http');

function describe(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'request headers are larger than the server accepts (16 KiB); send fewer or shorter headers' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'the request did not arrive in time (HEADERS_TIMEOUT for the headers, BODY_TIMEOUT for the whole request); the connection is closed' };
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { status: 400, message: 'the Content-Length header is invalid (not a number, or sent together with Transfer-Encoding)' };
    case 'HPE_INVALID_CHUNK_SIZE':
      return { status: 400, message: 'the chunked request body is malformed (bad chunk size)' };
    default:
      return { status: 400, message: `the request is not valid HTTP/1.1 (${code ?? 'parse error'}); check the framing: request line, headers, Content-Length or chunked body` };
  }
}

export function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // A client that is gone cannot be answered; a half-written response cannot be replaced.
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable || (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, message } = describe(err.code);
  const body = JSON.stringify({ error: message, error_type: 'Protocol' });
  log.info('request rejected by the HTTP parser', { status, code: err.code ?? 'unknown' });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
