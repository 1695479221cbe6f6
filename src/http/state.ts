/**
 * What the server knows about its own readiness. The HTTP server binds before the model is
 * resolved, so every route reads the phase from here: /ping is 200 only in 'ready'.
 */
import type { Reranker } from '../engine/reranker';
import type { ModelSpec } from '../spec/types';

export type Phase = 'starting' | 'resolving' | 'loading' | 'warming' | 'ready' | 'draining' | 'failed';

export interface ModelSource {
  readonly dir: string;
  readonly source: string;
  readonly reason: string;
  readonly uri?: string;
  readonly demo: boolean;
}

export class ServerState {
  phase: Phase = 'starting';
  reranker: Reranker | undefined;
  spec: ModelSpec | undefined;
  model: ModelSource | undefined;
  failure: string | undefined;
  readonly startedAt = Date.now();
  readyAt: number | undefined;
  warmupMs: number | undefined;
  /** HTTP requests being handled now (for draining on SIGTERM). */
  inFlight = 0;

  get ready(): boolean {
    return this.phase === 'ready' && this.reranker !== undefined;
  }
}
