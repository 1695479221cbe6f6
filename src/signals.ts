/**
 * Process signals of the server. SIGTERM (SageMaker's stop), SIGINT (Ctrl-C) and SIGHUP (a closed
 * terminal, or a supervisor's "reload") all drain: new requests get 503, in-flight ones finish.
 * Node's default for SIGHUP ends the process at once and drops every request in flight; this
 * server has nothing to reload, so a drain is the safe reading. SIGUSR1 would open the Node
 * inspector on 127.0.0.1:9229, where any local process could run code in the server: a listener
 * of our own replaces that behaviour, and the signal is only logged.
 */
import { logger } from './log';

const log = logger('main');

export const DRAIN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export function installSignals(shutdown: (signal: string) => void): void {
  for (const signal of DRAIN_SIGNALS) process.on(signal, () => shutdown(signal));
  process.on('SIGUSR1', () => log.warn('SIGUSR1 received and ignored: the Node inspector is disabled in the server'));
}
