/**
 * What the server knows about its own readiness. The HTTP server binds before the model is
 * resolved, so every route reads the phase from here: /ping is 200 only in 'ready'.
 */
import type { Reranker } from '../engine/reranker';
import type { ResultCache } from '../engine/resultCache';
import type { ResolvedModel } from '../artifacts/resolveModel';
import type { ModelFiles, ModelSpec } from '../modelSpec/types';

export type Phase = 'starting' | 'resolving' | 'loading' | 'warming' | 'ready' | 'draining' | 'failed';

/** The resolved model folder (artifacts/resolveModel.ts) and whether it is the built-in demo. */
export interface ServedModel extends ResolvedModel {
  readonly demo: boolean;
}

export class ServerState {
  phase: Phase = 'starting';
  reranker: Reranker | undefined;
  spec: ModelSpec | undefined;
  /** Which files the model folder's reader used, and every .onnx it found (for /info). */
  files: { readonly read: ModelFiles['paths']; readonly onnxFiles: ModelFiles['onnxFiles'] } | undefined;
  model: ServedModel | undefined;
  failure: string | undefined;
  /** SHA-256 (hex) of the ONNX file being served: /info shows it, the result cache keys on it. */
  modelSha256: string | undefined;
  /** Undefined when RESULT_CACHE_MB=0. */
  resultCache: ResultCache | undefined;
  readonly startedAt = Date.now();
  readyAt: number | undefined;
  warmupMs: number | undefined;
  /** Start-up time by phase, ms (the ready line's load_ms). */
  loadMs: Readonly<Record<string, number>> | undefined;
  /** HTTP requests being handled now (for draining on SIGTERM). */
  inFlight = 0;

  /** Why a loaded engine cannot serve now (its inference workers died), or undefined. */
  get engineProblem(): string | undefined {
    if (this.phase !== 'ready' || !this.reranker) return undefined;
    const engine = this.reranker.engineInfo;
    if (engine.failure !== undefined) return engine.failure;
    if (engine.liveWorkers === 0) return 'no inference worker is running: restarting after a crash';
    return undefined;
  }

  get ready(): boolean {
    return this.phase === 'ready' && this.reranker !== undefined && this.engineProblem === undefined;
  }

  /** For 503 bodies: the start-up phase (and its failure), or the engine's problem. */
  get notReadyReason(): string {
    const problem = this.engineProblem;
    if (problem !== undefined) return problem;
    return `${this.phase}${this.failure ? `: ${this.failure}` : ''}`;
  }
}
