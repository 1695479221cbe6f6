/**
 * What the HTTP layer is given: a type-only module, so app.ts and the modules it wires (info.ts,
 * invocations.ts) share the shape without importing each other.
 */
import type { Config } from '../config';
import type { ServerState } from './state';

/** What the HTTP layer reads of the configuration (config.ts decided and checked all of it). */
export type HttpOptions = Pick<
  Config,
  | 'apiKeys' | 'ui' | 'budgets' | 'maxPayloadBytes' | 'maxPayloadMb' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'
  | 'batchMode' | 'batchStrategy' | 'batchStrict' | 'maxConcurrentTransforms' | 'maxClientBatchSize'
  | 'device' | 'intraOpThreads' | 'maxBatchTokens' | 'maxBatchRequests' | 'maxConcurrentRequests' | 'resultCacheBytes'
>;

export interface AppDeps {
  readonly config: HttpOptions;
  readonly state: ServerState;
  readonly version: string;
}
