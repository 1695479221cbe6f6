/**
 * The one place that configures logging: pino JSON lines (CloudWatch keeps one event per line),
 * debug and info on stdout, warn and error on stderr (both reach CloudWatch on SageMaker).
 * LOG_FORMAT=text renders the same records as `time LEVEL [component] msg {fields}` for a terminal
 * (a tiny formatter here, not pino-pretty, to keep the dependencies as they are).
 *
 * Callers keep a small API, `logger(component).info(msg, fields)`. Secrets never pass through here:
 * callers log s3:// URIs, never credentials; keys that name a secret are redacted anyway, and
 * redactUrl() strips user:password@ and query strings (presigned URLs) from endpoint URLs.
 * Request text (queries, documents) is never logged at info and above.
 */
import pino from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const SECRET_KEYS = ['secretAccessKey', 'sessionToken', 'accessKeyId', 'password', 'authorization', 'credentials', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/** A destination that writes pino's JSON lines as `time LEVEL [component] msg {fields}`. */
function textStream(fd: 1 | 2): { write(line: string): void } {
  const out = pino.destination({ fd, sync: true });
  return {
    write(line: string): void {
      const { time, level, component, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const fields = Object.keys(rest).length > 0 ? ' ' + JSON.stringify(rest) : '';
      out.write(`${String(time)} ${String(level).toUpperCase()} [${String(component ?? '-')}] ${String(msg ?? '')}${fields}\n`);
    },
  };
}

function build(level: LogLevel, format: LogFormat): pino.Logger {
  // Synchronous writes: a start-up failure logs its line and exits at once; nothing may be lost.
  const stdout = format === 'text' ? textStream(1) : pino.destination({ fd: 1, sync: true });
  const stderr = format === 'text' ? textStream(2) : pino.destination({ fd: 2, sync: true });
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`)], censor: '[redacted]' },
    },
    // dedupe: each line goes to the one stream with the highest matching level.
    pino.multistream(
      [
        { level: 'debug', stream: stdout },
        { level: 'warn', stream: stderr },
      ],
      { dedupe: true },
    ),
  );
}

let root = build('info', 'json');
let children = new Map<string, pino.Logger>();

function child(component: string): pino.Logger {
  let c = children.get(component);
  if (!c) {
    c = root.child({ component });
    children.set(component, c);
  }
  return c;
}

/** Called once by the CLI after reading the config; loggers made before keep working. */
export function configureLog(level: LogLevel, format: LogFormat = 'json'): void {
  root = build(level, format);
  children = new Map();
}

export function logEnabled(level: LogLevel): boolean {
  return root.isLevelEnabled(level);
}

export function logger(component: string): Logger {
  return {
    debug: (m, f) => child(component).debug(f ?? {}, m),
    info: (m, f) => child(component).info(f ?? {}, m),
    warn: (m, f) => child(component).warn(f ?? {}, m),
    error: (m, f) => child(component).error(f ?? {}, m),
  };
}

/** An endpoint URL fit for a log line: no user:password@, no query string (presigned URLs carry keys there). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    u.search = '';
    return u.toString();
  } catch {
    return '[unparseable URL]';
  }
}
