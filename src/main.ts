/**
 * Start-up in the order SageMaker needs: bind the port at once (/ping says 503), resolve the model
 * (local folder, /opt/ml/model, or S3), decide the spec, start the engine (tokenizer workers and
 * ONNX sessions side by side), send one short pair through it, and only then let /ping say 200;
 * the model file is hashed for the result cache after that. Every phase is timed (load_ms). Any
 * failure ends the process with one clear line. SIGTERM drains.
 */
import type { Server } from 'node:http';
import path from 'node:path';
import { sha256OfFile } from './artifacts/modelHash';
import { resolveModel } from './artifacts/resolveModel';
import type { ServerOptions, Settings } from './config';
import { detectCpuFeatures } from './cpuFeatures';
import { createReranker, warmUp } from './engine/createReranker';
import { AppError, messageOf } from './errors';
import { ResultCache } from './engine/resultCache';
import { createApp } from './http/app';
import { abortBodyReads } from './http/bodyReader';
import { createHttpServer } from './http/httpServer';
import { ServerState } from './http/state';
import { logger } from './log';
import { buildSpec } from './modelSpec/buildSpec';
import { startObservability } from './observability';
import { withSpan } from './tracing/spans';
import { readModelFiles } from './modelSpec/readModelFiles';
import { specOverrides } from './modelSpec/specOverrides';
import { reportReady } from './startupSummary';
import { VERSION } from './version';

const log = logger('main');

export interface Running {
  readonly server: Server;
  readonly state: ServerState;
  /** Resolves when the model is ready; rejects with the start-up failure. */
  readonly ready: Promise<void>;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), releases the engine. */
  stop(): Promise<void>;
}

/** `settings`: one options object per part (config.ts settingsOf); each part is given only its own. */
export async function start(settings: Settings): Promise<Running> {
  const config = settings.server;
  const state = new ServerState();
  const app = createApp({ config: settings.http, state, version: VERSION });
  const server = createHttpServer(app, settings.http);
  server.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, config)));
  });
  const addr = server.address();
  log.info('listening', { port: typeof addr === 'object' && addr ? addr.port : config.port, version: VERSION });

  const observability = startObservability(settings.observability, state, VERSION);
  const ready = load(settings, state);
  observability.metricsFrom(ready);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= drain(config, state, server).then(() => observability.stop()));
  return { server, state, ready, stop };
}

/** A port that is taken or not allowed names the port and the variable that sets it. */
function listenError(e: NodeJS.ErrnoException, config: ServerOptions): Error {
  const where = `${config.host}:${config.port}`;
  const fix = 'set PORT (or SAGEMAKER_BIND_TO_PORT, which wins) to a free port';
  if (e.code === 'EADDRINUSE') return new AppError('Config', `port ${config.port} is already in use (${where}): stop the other process or ${fix}`, { cause: e });
  if (e.code === 'EACCES') return new AppError('Config', `no permission to listen on port ${config.port} (${where}): ${fix} above 1023`, { cause: e });
  if (e.code === 'EADDRNOTAVAIL') return new AppError('Config', `HOST=${config.host} is not an address of this machine (${where})`, { cause: e });
  return e;
}

async function load(settings: Settings, state: ServerState): Promise<void> {
  // Start-up time by phase, for the ready line and reranker_model_load_seconds.
  const phasesMs: Record<string, number> = {};
  const t0 = performance.now();
  let last = t0;
  const lap = (phase: string): void => {
    const now = performance.now();
    phasesMs[phase] = now - last;
    last = now;
  };
  try {
    state.phase = 'resolving';
    // S3: the download and the extraction of a tarball are timed apart (their phases are reported as they start).
    let fetchPhase = 'resolve';
    const onPhase = (p: string): void => {
      const next = p === 'downloading' ? 'download' : p === 'extracting' ? 'extract' : undefined;
      if (next === undefined) return;
      lap(fetchPhase);
      fetchPhase = next;
    };
    // The span covers the S3 download when the model comes from S3.
    const resolved = await withSpan('model resolve', {}, () => resolveModel(settings.artifacts, { onPhase }), (r) => ({ 'model.source': r.source, ...(r.uri ? { 'model.uri': r.uri } : {}) }));
    lap(fetchPhase);
    const demo = resolved.source === 'demo';
    state.model = { ...resolved, demo };
    log.info(`model source: ${resolved.source} (${resolved.reason})`, { dir: resolved.dir, ...(resolved.uri ? { uri: resolved.uri } : {}) });

    state.phase = 'loading';
    const pick = settings.modelFiles;
    const files = await readModelFiles(
      resolved.dir,
      pick.onnxFile !== undefined ? { onnxFile: pick.onnxFile } : { dtype: { request: pick.modelDtype, device: pick.device, cpu: detectCpuFeatures() } },
    );
    state.files = { read: files.paths, onnxFiles: files.onnxFiles };
    const result = buildSpec(files, await specOverrides(settings.overrides));
    if (!result.ok) throw new Error(`cannot serve the model in ${resolved.dir}: ${result.reason}`);
    const spec = result.spec;
    state.spec = spec;
    for (const w of spec.warnings) log.warn(`spec: ${w}`);
    log.info('spec decided', { task: spec.task, family: spec.family, maxInputLength: spec.maxInputLength, activation: spec.activation, labels: spec.labels, onnx: spec.onnxFile, ...(spec.variant ? { dtype: spec.variant.requested, variant: spec.variant.kind, variantReason: spec.variant.reason } : {}) });
    lap('spec');

    const reranker = await createReranker(settings.engine, settings.batching, spec, files);
    state.reranker = reranker;
    lap('engine');
    if (reranker.startupMs) {
      phasesMs.tokenizer = reranker.startupMs.tokenizer;
      if (reranker.startupMs.ortCopy > 0) phasesMs.ort_copy = reranker.startupMs.ortCopy;
      phasesMs.sessions = reranker.startupMs.sessions;
      phasesMs.session_warmup = reranker.startupMs.sessionWarmup;
    }
    if (state.phase !== 'loading') return; // stopped meanwhile
    state.phase = 'warming';
    state.warmupMs = await warmUp(reranker);
    lap('warmup');
    phasesMs.total = last - t0;
    if ((state.phase as string) === 'draining') return;
    state.phase = 'ready';
    state.readyAt = Date.now();
    state.loadMs = phasesMs;
    reportReady(settings.startupSummary, state.model, reranker, phasesMs);
    // Hashed after /ping says 200, in a worker thread: on a few cores, hashing a large file beside the
    // session's creation would slow the creation down. The result cache (keyed on the hash) is
    // attached when the hash is known; requests before that are scored without it.
    if (spec.onnxFile) attachCacheWhenHashed(settings.server, state, path.join(resolved.dir, spec.onnxFile));
  } catch (e) {
    state.phase = 'failed';
    state.failure = messageOf(e);
    throw e;
  }
}

function attachCacheWhenHashed(config: ServerOptions, state: ServerState, onnxPath: string): void {
  const t0 = performance.now();
  sha256OfFile(onnxPath).then(
    (sha) => {
      state.modelSha256 = sha;
      if (config.resultCacheBytes > 0) state.resultCache = new ResultCache(sha, config.resultCacheBytes);
      log.info('model hashed', { sha256: sha, ms: Math.round(performance.now() - t0), ...(state.phase === 'ready' ? { after_ready: true } : {}) });
    },
    (e: unknown) => log.warn(`the model file could not be hashed (${messageOf(e)}); the result cache stays off`),
  );
}

/**
 * The listener stays open while draining so that /ping and new requests get a quick 503 (not a
 * refused connection) while in-flight requests finish; then everything closes.
 */
async function drain(config: ServerOptions, state: ServerState, server: Server): Promise<void> {
  if (state.phase === 'failed') {
    // Nothing was served: close quietly, the start-up failure line already said everything.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await state.reranker?.close();
    return;
  }
  state.phase = 'draining';
  // Bodies still arriving would hold the drain as long as their senders like: cut them now.
  abortBodyReads(new AppError('Unhealthy', 'the server is shutting down; the request body was not read to its end'));
  log.info('draining: new requests get 503; waiting for in-flight requests', { inFlight: state.inFlight });
  const deadline = Date.now() + config.shutdownTimeoutMs;
  while (state.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  if (state.inFlight > 0) log.warn('shutdown timeout reached with requests still running', { inFlight: state.inFlight });
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
  await state.reranker?.close();
  log.info('stopped');
}
