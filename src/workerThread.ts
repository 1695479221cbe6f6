/**
 * The one way this project starts a worker thread (inference workers, tokenizer workers, the file
 * hasher): the script beside the caller, compiled .js in production, and under tsx (tests,
 * development) the .ts booted through tsx's CommonJS hook, because Node 20 does not apply tsx's
 * loader inside workers. Messages to the worker are typed by the caller's protocol.
 */
import path from 'node:path';
import { Worker, type TransferListItem } from 'node:worker_threads';

/** A worker whose postMessage takes only its protocol's messages (`In`). */
export type TypedWorker<In> = Omit<Worker, 'postMessage'> & {
  postMessage(message: In, transferList?: readonly TransferListItem[]): void;
};

/**
 * Starts `name` (a file name without extension) from the caller's folder, with the caller's
 * extension: pass `__filename`, so a compiled caller starts the compiled worker and a .ts caller
 * under tsx starts the .ts one.
 */
export function startWorker<In>(callerFile: string, name: string, workerData?: unknown): TypedWorker<In> {
  const file = path.join(path.dirname(callerFile), name + path.extname(callerFile));
  const options = workerData === undefined ? {} : { workerData };
  if (file.endsWith('.ts')) {
    const boot = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(file)});`;
    return new Worker(boot, { eval: true, ...options });
  }
  return new Worker(file, options);
}
