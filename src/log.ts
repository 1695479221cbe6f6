/**
 * Structured one-line JSON logs on stdout (CloudWatch keeps one event per line).
 * Level comes from config; secrets never pass through here (callers log URIs, not credentials).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: number = ORDER.info;
let plain = false;

export function configureLog(level: LogLevel, format: 'json' | 'text' = 'json'): void {
  threshold = ORDER[level];
  plain = format === 'text';
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

function emit(level: LogLevel, component: string, msg: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < threshold) return;
  const line = plain
    ? `${new Date().toISOString()} ${level.toUpperCase()} [${component}] ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}`
    : JSON.stringify({ time: new Date().toISOString(), level, component, msg, ...fields });
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line + '\n');
}

export function logger(component: string): Logger {
  return {
    debug: (m, f) => emit('debug', component, m, f),
    info: (m, f) => emit('info', component, m, f),
    warn: (m, f) => emit('warn', component, m, f),
    error: (m, f) => emit('error', component, m, f),
  };
}
