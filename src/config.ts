/**
 * The only reader of the environment. One schema, read once at start-up into a frozen Config;
 * a bad value stops the process with a message that names the variable and what it accepts.
 * The commands (cli.ts, quantize/quantizeCommand.ts) then hand each part only its own options
 * object (settingsOf below); no part is given the whole Config. docs/sagemaker.md and the README's
 * configuration table document every key below.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { noCudaReason } from './engine/cudaProbe';
import { AppError } from './errors';
import { DEVICES, type Device } from './engine/protocol';
import { ACTIVATIONS, TASKS, type Activation, type Task } from './modelSpec/types';
import { DTYPES, parseDtype, type DtypeRequest } from './modelSpec/variants';

export type BatchStrategy = 'MULTI_RECORD' | 'SINGLE_RECORD';
export type MemoryLayoutRequest = 'auto' | 'per-session' | 'shared' | 'one-session';

export interface Config {
  readonly host: string;
  readonly port: number;
  /** Explicit model folder (MODEL_DIR, or HF_MODEL_ID when it is a path). */
  readonly modelDir: string | undefined;
  /** s3:// URI of a prefix or a .tar.gz (MODEL_URI, or HF_MODEL_ID when it starts with s3://). */
  readonly modelUri: string | undefined;
  /** Where SageMaker puts the model (/opt/ml/model); SM_MODEL_DIR points it elsewhere (tests). */
  readonly sagemakerModelDir: string;
  readonly demoModelDir: string;
  readonly modelCacheDir: string;
  readonly onnxFile: string | undefined;
  /** MODEL_DTYPE: which variant of the folder's .onnx files to serve (modelSpec/variants.ts). */
  readonly modelDtype: DtypeRequest;
  readonly taskOverride: Task | undefined;
  readonly maxInputLengthOverride: number | undefined;
  readonly activationOverride: Activation | undefined;
  /** Decoder LLM rerankers: SCORE_TOKENS (true[,false]), PROMPT_TEMPLATE (a file), INSTRUCTION. */
  readonly scoreTokensOverride: readonly string[] | undefined;
  readonly promptTemplateFile: string | undefined;
  readonly instructionOverride: string | undefined;

  readonly device: Device;
  /** DEVICE=auto on a machine without CUDA (why): the engine runs on CPU, with the CPU layout. */
  readonly autoCpuReason: string | undefined;
  readonly cudaDeviceId: number;
  /** The configured layout; the engine may pick one session for a large model (engine/memoryLayout.ts). */
  readonly inferenceWorkers: number;
  readonly intraOpThreads: number;
  /** INFERENCE_WORKERS or INTRA_OP_THREADS was set: the engine uses the layout above as it is. */
  readonly layoutOverridden: boolean;
  /** CPU cores this process may use (os.availableParallelism). */
  readonly cores: number;
  /** MEMORY_LAYOUT: how the sessions hold the weights (engine/memoryLayout.ts). */
  readonly memoryLayout: MemoryLayoutRequest;
  readonly tokenizerWorkers: number;

  /** Padded tokens per batch; undefined: DEFAULT_BATCH_TOKENS for the provider the engine starts on (maxBatchTokensFor). */
  readonly maxBatchTokens: number | undefined;
  readonly maxBatchRequests: number;
  readonly maxConcurrentRequests: number;
  readonly maxClientBatchSize: number;

  /** Request body limit in bytes; 0 means unlimited (SAGEMAKER_MAX_PAYLOAD_IN_MB=0). */
  readonly maxPayloadBytes: number;
  readonly maxPayloadMb: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  /** Budgets that bound one request's work before it is done (http/budgets.ts). */
  readonly budgets: Budgets;

  readonly batchMode: boolean;
  readonly batchStrategy: BatchStrategy;
  readonly maxConcurrentTransforms: number;
  readonly batchStrict: boolean;

  readonly s3: S3Options;
  readonly extract: { readonly maxBytes: number; readonly maxEntries: number };

  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly logFormat: 'json' | 'text';

  /**
   * API_KEY / API_KEY_FILE: bearer keys every route but /ping, /health and /execution-parameters
   * requires; empty: no authentication (SageMaker authenticates callers with IAM before the container).
   */
  readonly apiKeys: readonly string[];
  /** UI: the playground at / and the API reference at /docs (default on, off in batch transform mode). */
  readonly ui: boolean;
  /** RESULT_CACHE_MB in bytes: the pair-score cache's budget; 0 turns the cache off. */
  readonly resultCacheBytes: number;

  /** FAULT_INJECTION: testing knobs, all off by default (faultInjection() below). */
  readonly faultInjection: { readonly workerExitFile?: string };

  /** CloudWatch EMF lines on stdout and OpenTelemetry traces (observabilityConfig() below). */
  readonly emf: EmfConfig;
  readonly tracing: TracingConfig;
}

/** AWS_ENDPOINT_URL*, AWS_REGION, S3_*: how the artifacts part talks to S3 (src/artifacts/). */
export interface S3Options {
  readonly endpoint: string | undefined;
  readonly forcePathStyle: boolean;
  readonly region: string | undefined;
  readonly objectConcurrency: number;
  readonly rangeConcurrency: number;
  readonly partSizeBytes: number;
  readonly multipartThresholdBytes: number;
  /** Failed attempts in a row (without new bytes) before an object download gives up. */
  readonly downloadAttempts: number;
}

/** METRICS_EMF*: CloudWatch Embedded Metric Format lines on stdout (src/cloudwatch/). */
export interface EmfConfig {
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly namespace: string;
  /** CloudWatch dimensions; SageMaker does not tell a container its names, deploy.js sets them. */
  readonly endpointName: string | undefined;
  readonly variantName: string | undefined;
  readonly modelName: string | undefined;
}

/** OTEL_*: spans exported over OTLP/HTTP when an endpoint is set (src/tracing/). */
export interface TracingConfig {
  /** The traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces); undefined: tracing off. */
  readonly tracesUrl: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  readonly scheduleDelayMs: number;
}

/**
 * Limits on what one request may make the server do, checked before the work (413/422 naming the
 * setting) and on the connection itself. Defaults in loadConfig; README's configuration table.
 */
export interface Budgets {
  /** Records (JSON Lines lines, CSV rows, MultiRecord lines; blank lines count) per request: MAX_RECORDS. */
  readonly maxRecords: number;
  /** Bytes of one answer: MAX_RESPONSE_MB. */
  readonly maxResponseBytes: number;
  /** Names in rank_fields: MAX_RANK_FIELDS. */
  readonly maxRankFields: number;
  /** Long-document windows per request: MAX_CHUNK_WINDOWS. */
  readonly maxChunkWindows: number;
  /** Bodies being received at once, in bytes (decompressed): MAX_BODY_MEMORY_MB. */
  readonly maxBodyMemoryBytes: number;
  /** Time for a whole request (headers and body) to arrive: BODY_TIMEOUT. */
  readonly bodyTimeoutMs: number;
  /** Time for the request headers to arrive: HEADERS_TIMEOUT. */
  readonly headersTimeoutMs: number;
}

/**
 * The settings each part of the server is given, by name. The Config is read and checked once
 * (loadConfig); settingsOf() then copies exactly these keys into one fresh, frozen object per part,
 * so a part cannot read another part's settings: not at compile time (its parameter is the part's
 * type below) and not at run time (the other keys are not on the object it holds). A key may belong
 * to several parts (DEVICE: the engine runs on it, the model folder picks a variant for it, /info
 * shows it); each gets its own copy. Every Config key belongs to a part (test/unit/config.test.ts).
 */
const PART_KEYS = {
  /** Where the model comes from: src/artifacts (resolveModel, downloadModel, extraction). */
  artifacts: ['modelDir', 'modelUri', 'sagemakerModelDir', 'demoModelDir', 'modelCacheDir', 'extract', 's3'],
  /** Which files of the folder are served (MODEL_ONNX_FILE, MODEL_DTYPE for DEVICE): modelSpec/readModelFiles. */
  modelFiles: ['onnxFile', 'modelDtype', 'device'],
  /** MODEL_TASK, MAX_INPUT_LENGTH, ACTIVATION and the decoder overrides: modelSpec/specOverrides. */
  overrides: ['taskOverride', 'maxInputLengthOverride', 'activationOverride', 'scoreTokensOverride', 'promptTemplateFile', 'instructionOverride'],
  /** Tokenizer and inference workers, device, memory layout: engine/createReranker. */
  engine: ['device', 'autoCpuReason', 'cudaDeviceId', 'inferenceWorkers', 'intraOpThreads', 'layoutOverridden', 'cores', 'memoryLayout', 'tokenizerWorkers', 'modelCacheDir', 'faultInjection'],
  /** The scheduler's limits (src/batching, through engine/createReranker). */
  batching: ['maxBatchTokens', 'maxBatchRequests', 'maxConcurrentRequests'],
  /** Routes, limits, budgets, keys, batch transform, and what /info and /execution-parameters show: src/http. */
  http: [
    'apiKeys', 'ui', 'budgets', 'maxPayloadBytes', 'maxPayloadMb', 'requestTimeoutMs', 'keepAliveTimeoutMs',
    'batchMode', 'batchStrategy', 'batchStrict', 'maxConcurrentTransforms', 'maxClientBatchSize',
    'device', 'intraOpThreads', 'maxBatchTokens', 'maxBatchRequests', 'maxConcurrentRequests', 'resultCacheBytes',
  ],
  /** What main.ts itself reads: the address, the drain, the result cache's budget. */
  server: ['host', 'port', 'shutdownTimeoutMs', 'resultCacheBytes'],
  /** The one "ready" line (startupSummary.ts). */
  startupSummary: [
    'batchMode', 'batchStrategy', 'cudaDeviceId', 'device', 'intraOpThreads', 'maxBatchTokens', 'maxClientBatchSize',
    'maxConcurrentTransforms', 'maxPayloadMb', 'requestTimeoutMs', 's3', 'tokenizerWorkers',
  ],
  /** CloudWatch EMF and OpenTelemetry (observability.ts). */
  observability: ['emf', 'tracing'],
  /** LOG_LEVEL and LOG_FORMAT (cli.ts configures the log with them). */
  log: ['logLevel', 'logFormat'],
} as const satisfies Record<string, readonly (keyof Config)[]>;

type PartKeys = typeof PART_KEYS;

/** One narrow, frozen options object per part (settingsOf). */
export type Settings = { readonly [P in keyof PartKeys]: Readonly<Pick<Config, PartKeys[P][number]>> };
export type ArtifactOptions = Settings['artifacts'];
export type ModelFileOptions = Settings['modelFiles'];
export type OverrideOptions = Settings['overrides'];
export type EngineOptions = Settings['engine'];
export type BatchingOptions = Settings['batching'];
export type HttpOptions = Settings['http'];
export type ServerOptions = Settings['server'];
export type StartupSummaryOptions = Settings['startupSummary'];
export type ObservabilityOptions = Settings['observability'];
export type LogOptions = Settings['log'];

/** The names of the parts and the keys each is given (for tests and docs; settingsOf uses them). */
export const SETTINGS_PARTS: { readonly [P in keyof PartKeys]: readonly (keyof Config)[] } = PART_KEYS;

/** Each part's options object: a fresh frozen copy of exactly its keys of `config`. */
export function settingsOf(config: Config): Settings {
  const parts: Record<string, object> = {};
  for (const [part, keys] of Object.entries(PART_KEYS) as Array<[string, readonly (keyof Config)[]]>) {
    parts[part] = Object.freeze(Object.fromEntries(keys.map((k) => [k, config[k]])));
  }
  return Object.freeze(parts) as Settings;
}

type Env = Record<string, string | undefined>;

/** One bad variable; loadConfig collects them all before it gives up. */
class VariableError extends AppError {
  constructor(readonly variable: string, message: string) {
    super('Config', message);
  }
}

/** Every bad variable at once (`problems`, one line each); `message` joins them. */
export class ConfigErrors extends AppError {
  constructor(readonly problems: readonly string[]) {
    super('Config', problems.length === 1 ? problems[0]! : `${problems.length} invalid settings: ${problems.join('; ')}`);
  }
}

function fail(name: string, expected: string, got: string): never {
  throw new VariableError(name, `invalid ${name}=${JSON.stringify(got)}: expected ${expected}`);
}

/** SCORE_TOKENS=yes,no: the true token, then optionally the false one (vocabulary strings). */
function scoreTokens(env: Env): string[] | undefined {
  const raw = read(env, 'SCORE_TOKENS');
  if (raw === undefined) return undefined;
  const tokens = raw.split(',').map((t) => t.trim());
  if (tokens.length > 2 || tokens.some((t) => t === '')) fail('SCORE_TOKENS', 'one or two comma-separated tokens, true first (e.g. yes,no)', raw);
  return tokens;
}

function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(env, name);
  if (raw === undefined) return def;
  if (!/^-?\d+$/.test(raw)) fail(name, `an integer from ${min} to ${max}`, raw);
  const n = Number(raw);
  if (n < min || n > max) fail(name, `an integer from ${min} to ${max}`, raw);
  return n;
}

function num(env: Env, name: string, def: number, min: number, max = Number.MAX_VALUE): number {
  const raw = read(env, name);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) fail(name, `a number from ${min} to ${max}`, raw);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return def;
  const v = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return fail(name, 'true, false, 1, 0, yes, no, on or off (any case)', raw);
}

/** MODEL_DTYPE: a dtype name or an .onnx file name; MODEL_ONNX_FILE and a non-auto MODEL_DTYPE contradict each other. */
function modelDtype(env: Env): DtypeRequest {
  const raw = read(env, 'MODEL_DTYPE');
  if (raw === undefined) return 'auto';
  const parsed = parseDtype(raw);
  if (parsed === undefined) fail('MODEL_DTYPE', `${DTYPES.join(' | ')} or an .onnx file name`, raw);
  if (parsed !== 'auto' && read(env, 'MODEL_ONNX_FILE') !== undefined) {
    throw new AppError('Config', `MODEL_DTYPE=${raw} and MODEL_ONNX_FILE=${read(env, 'MODEL_ONNX_FILE')} both choose the .onnx file; set only one`);
  }
  return parsed;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], def: T): T;
function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], def: undefined): T | undefined;
function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], def: T | undefined): T | undefined {
  const raw = read(env, name);
  if (raw === undefined) return def;
  const v = raw.toLowerCase();
  const hit = allowed.find((a) => a.toLowerCase() === v);
  if (hit === undefined) fail(name, `one of ${allowed.join(', ')}`, raw);
  return hit;
}

/** Seconds in the environment, milliseconds in the Config. */
function seconds(env: Env, name: string, defSeconds: number, min: number, max: number): number {
  return Math.round(num(env, name, defSeconds, min, max) * 1000);
}

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Reads the whole environment; with several bad variables, every one is reported at once
 * (ConfigErrors): each is read again without the bad ones until the rest reads cleanly.
 * `noCuda` says why CUDA cannot work here (engine/cudaProbe.ts); tests pass their own.
 */
export function loadConfig(env: Env = process.env, noCuda: () => string | undefined = noCudaReason): Config {
  const problems: string[] = [];
  const rest: Env = { ...env };
  for (;;) {
    try {
      const cfg = readConfig(rest, noCuda);
      if (problems.length === 0) return cfg;
      break;
    } catch (e) {
      if (!(e instanceof VariableError)) throw e;
      problems.push(e.message);
      // A value derived from another variable (MODEL_URI from HF_MODEL_ID) cannot be dropped: stop here.
      if (rest[e.variable] === undefined) break;
      delete rest[e.variable];
    }
  }
  throw new ConfigErrors(problems);
}

/** LOG_FORMAT for the lines written before (or instead of) a valid config: json unless it says text. */
export function logFormatOf(env: Env = process.env): 'json' | 'text' {
  return read(env, 'LOG_FORMAT')?.toLowerCase() === 'text' ? 'text' : 'json';
}

function readConfig(env: Env, noCuda: () => string | undefined): Config {
  const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const hfModelId = read(env, 'HF_MODEL_ID');
  const modelUri = read(env, 'MODEL_URI') ?? (hfModelId?.startsWith('s3://') ? hfModelId : undefined);
  const modelDirRaw = read(env, 'MODEL_DIR') ?? (hfModelId && !hfModelId.startsWith('s3://') && looksLikePath(hfModelId) ? hfModelId : undefined);
  if (modelUri !== undefined && !/^s3:\/\/[^/]+/.test(modelUri)) fail('MODEL_URI', 's3://bucket/prefix/ or s3://bucket/key.tar.gz', modelUri);
  if (hfModelId && !hfModelId.startsWith('s3://') && !looksLikePath(hfModelId)) {
    fail('HF_MODEL_ID', 'a local path or an s3:// URI (this container cannot download from the Hugging Face Hub; set MODEL_URI or mount the model)', hfModelId);
  }

  const payloadMb = num(env, 'SAGEMAKER_MAX_PAYLOAD_IN_MB', num(env, 'MAX_PAYLOAD_MB', 6, 0), 0);
  const batchStrategyRaw = read(env, 'SAGEMAKER_BATCH_STRATEGY');
  // SageMaker's API spells it MultiRecord, the container contract MULTI_RECORD: accept both.
  const strategyKey = (batchStrategyRaw ?? 'MULTI_RECORD').replace(/[_-]/g, '').toLowerCase();
  const batchStrategy: BatchStrategy | undefined = strategyKey === 'multirecord' ? 'MULTI_RECORD' : strategyKey === 'singlerecord' ? 'SINGLE_RECORD' : undefined;
  if (batchStrategy === undefined) fail('SAGEMAKER_BATCH_STRATEGY', 'MULTI_RECORD or SINGLE_RECORD', batchStrategyRaw ?? '');

  const device = oneOf(env, 'DEVICE', DEVICES, 'auto');
  const autoCpuReason = device === 'auto' ? noCuda() : undefined;
  const engine = engineThreads(env, autoCpuReason !== undefined ? 'cpu' : device, cores);
  const maxInputLengthOverride = read(env, 'MAX_INPUT_LENGTH') === undefined ? undefined : int(env, 'MAX_INPUT_LENGTH', 512, 3, 1 << 20);
  // Real-time endpoints cut an invocation at 60 s; batch transform's InvocationsTimeoutInSeconds
  // defaults to 600 s, and large MultiRecord payloads need that room.
  const batchMode = bool(env, 'SAGEMAKER_BATCH', false);
  const requestTimeoutMs = seconds(env, 'REQUEST_TIMEOUT', batchMode ? 595 : 55, 0.1, 3600);

  const cfg: Config = {
    host: read(env, 'HOST') ?? '0.0.0.0',
    port: int(env, 'SAGEMAKER_BIND_TO_PORT', int(env, 'PORT', 8080, 0, 65535), 0, 65535),
    modelDir: modelDirRaw ? path.resolve(modelDirRaw) : undefined,
    modelUri,
    sagemakerModelDir: path.resolve(read(env, 'SM_MODEL_DIR') ?? '/opt/ml/model'),
    demoModelDir: path.resolve(read(env, 'DEMO_MODEL_DIR') ?? path.join(PROJECT_ROOT, 'models', 'demo')),
    modelCacheDir: path.resolve(read(env, 'MODEL_CACHE_DIR') ?? path.join(os.tmpdir(), 'reranker-model-cache')),
    onnxFile: read(env, 'MODEL_ONNX_FILE'),
    modelDtype: modelDtype(env),
    taskOverride: oneOf(env, 'MODEL_TASK', TASKS, undefined),
    maxInputLengthOverride,
    activationOverride: oneOf(env, 'ACTIVATION', ACTIVATIONS, undefined),
    scoreTokensOverride: scoreTokens(env),
    promptTemplateFile: read(env, 'PROMPT_TEMPLATE') !== undefined ? path.resolve(read(env, 'PROMPT_TEMPLATE')!) : undefined,
    instructionOverride: read(env, 'INSTRUCTION'),

    device,
    autoCpuReason,
    cudaDeviceId: int(env, 'CUDA_DEVICE_ID', 0, 0, 64),
    inferenceWorkers: engine.workers,
    intraOpThreads: engine.threads,
    layoutOverridden: read(env, 'INFERENCE_WORKERS') !== undefined || read(env, 'INTRA_OP_THREADS') !== undefined,
    cores,
    memoryLayout: oneOf(env, 'MEMORY_LAYOUT', ['auto', 'per-session', 'shared', 'one-session'] as const, 'auto'),
    tokenizerWorkers: int(env, 'TOKENIZER_WORKERS', Math.max(1, Math.min(2, cores - 1)), 1, 64),

    maxBatchTokens: read(env, 'MAX_BATCH_TOKENS') === undefined ? undefined : int(env, 'MAX_BATCH_TOKENS', 16384, 16, 1 << 24),
    maxBatchRequests: int(env, 'MAX_BATCH_REQUESTS', 64, 1, 1 << 20),
    maxConcurrentRequests: int(env, 'MAX_CONCURRENT_REQUESTS', 8192, 1, 1 << 24),
    maxClientBatchSize: int(env, 'MAX_CLIENT_BATCH_SIZE', 4096, 1, 1 << 24),

    maxPayloadBytes: Math.round(payloadMb * 1024 * 1024),
    maxPayloadMb: payloadMb,
    requestTimeoutMs,
    keepAliveTimeoutMs: seconds(env, 'KEEP_ALIVE_TIMEOUT', 75, 1, 3600),
    shutdownTimeoutMs: seconds(env, 'SHUTDOWN_TIMEOUT', 25, 0, 3600),
    budgets: budgets(env, payloadMb),

    batchMode,
    batchStrategy,
    maxConcurrentTransforms: int(env, 'SAGEMAKER_MAX_CONCURRENT_TRANSFORMS', 1, 1, 1024),
    batchStrict: bool(env, 'BATCH_STRICT', false),

    s3: {
      endpoint: read(env, 'AWS_ENDPOINT_URL_S3') ?? read(env, 'AWS_ENDPOINT_URL'),
      forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', read(env, 'AWS_ENDPOINT_URL_S3') !== undefined || read(env, 'AWS_ENDPOINT_URL') !== undefined),
      region: read(env, 'AWS_REGION') ?? read(env, 'AWS_DEFAULT_REGION'),
      objectConcurrency: int(env, 'S3_CONCURRENCY', 4, 1, 256),
      rangeConcurrency: int(env, 'S3_RANGE_CONCURRENCY', 8, 1, 256),
      partSizeBytes: int(env, 'S3_PART_SIZE_MB', 16, 1, 5120) * 1024 * 1024,
      multipartThresholdBytes: int(env, 'S3_MULTIPART_THRESHOLD_MB', 64, 1, 1 << 20) * 1024 * 1024,
      downloadAttempts: int(env, 'S3_DOWNLOAD_ATTEMPTS', 5, 1, 100),
    },
    extract: {
      maxBytes: int(env, 'MAX_EXTRACT_GB', 50, 1, 1 << 16) * 1024 * 1024 * 1024,
      maxEntries: int(env, 'MAX_EXTRACT_ENTRIES', 100_000, 1, 1 << 30),
    },

    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
    logFormat: oneOf(env, 'LOG_FORMAT', ['json', 'text'] as const, 'json'),
    apiKeys: apiKeys(env),
    // A batch transform job has no person looking at pages; everywhere else the pages are on.
    ui: bool(env, 'UI', !batchMode),
    resultCacheBytes: Math.round(num(env, 'RESULT_CACHE_MB', 64, 0, 1 << 20) * 1024 * 1024),
    faultInjection: faultInjection(env),
    ...observabilityConfig(env),
  };
  return deepFreeze(cfg);
}

function budgets(env: Env, payloadMb: number): Budgets {
  const headersTimeoutMs = seconds(env, 'HEADERS_TIMEOUT', 10, 0.1, 3600);
  const bodyTimeoutMs = seconds(env, 'BODY_TIMEOUT', 60, 0.1, 3600);
  if (bodyTimeoutMs < headersTimeoutMs) fail('BODY_TIMEOUT', `at least HEADERS_TIMEOUT (${headersTimeoutMs / 1000} s): it counts from the same start`, String(bodyTimeoutMs / 1000));
  // Room for a few bodies at the payload limit at once; never less than one whole body.
  const bodyMemoryMb = num(env, 'MAX_BODY_MEMORY_MB', Math.max(256, 4 * payloadMb), 1);
  if (payloadMb > 0 && bodyMemoryMb < payloadMb) fail('MAX_BODY_MEMORY_MB', `at least the payload limit (${payloadMb} MB), or no body at the limit could ever be read`, String(bodyMemoryMb));
  return {
    maxRecords: int(env, 'MAX_RECORDS', 10_000, 1, 1 << 24),
    maxResponseBytes: Math.round(num(env, 'MAX_RESPONSE_MB', 32, 0.001, 4096) * 1024 * 1024),
    maxRankFields: int(env, 'MAX_RANK_FIELDS', 64, 1, 1 << 16),
    maxChunkWindows: int(env, 'MAX_CHUNK_WINDOWS', 1024, 1, 1 << 24),
    maxBodyMemoryBytes: Math.round(bodyMemoryMb * 1024 * 1024),
    bodyTimeoutMs,
    headersTimeoutMs,
  };
}

/**
 * MAX_BATCH_TOKENS when it is not set. A GPU wants big batches. On CPU each inference session
 * runs on one core (the CPU layout), and a session does the most work per CPU-second on small
 * batches, whose activations stay in the core's cache: `make bench-budget` measured 512 tokens
 * (about 3 pairs of 150 tokens) at +20 % tokens per CPU-second over 2048 for MiniLM-L6 and +17 %
 * for BERT-base, within 4 % of 256 (where the per-batch work of the main thread grows);
 * 16384 ran at -25 % pairs/s with more than twice the RSS of 2048 (docs/BENCHMARKS.md).
 * A pair longer than the budget still runs, alone.
 */
export const DEFAULT_BATCH_TOKENS: Readonly<Record<'cuda' | 'cpu', number>> = { cuda: 16384, cpu: 512 };

/** MAX_BATCH_TOKENS in force on a provider: the setting, or its default there (DEVICE=auto learns the provider only when the engine starts). */
export function maxBatchTokensFor(config: Pick<BatchingOptions, 'maxBatchTokens'>, provider: 'cuda' | 'cpu'): number {
  return config.maxBatchTokens ?? DEFAULT_BATCH_TOKENS[provider];
}

/**
 * Sessions and threads per session. DEVICE=cpu: two sessions sharing the cores (2 x 1 on 2 cores):
 * the threads of one ONNX Runtime run wait for each other at every operator, so a thread preempted
 * by tokenization or HTTP stalls its siblings, while two sessions run on without waiting for each
 * other: +15 % pairs/s with MiniLM-L6 on 2 cores (docs/BENCHMARKS.md). Setting one of the two
 * derives the other from the cores. GPU, or auto where CUDA may be there: one session owns the
 * device, threads = cores; auto on a machine without CUDA gets the CPU layout.
 */
function engineThreads(env: Env, device: Device, cores: number): { workers: number; threads: number } {
  if (device !== 'cpu') return { workers: int(env, 'INFERENCE_WORKERS', 1, 1, 64), threads: int(env, 'INTRA_OP_THREADS', cores, 1, 1024) };
  const threadsSet = read(env, 'INTRA_OP_THREADS') !== undefined;
  const defaultWorkers = threadsSet ? Math.max(1, Math.floor(cores / int(env, 'INTRA_OP_THREADS', 1, 1, 1024))) : Math.min(2, cores);
  const workers = int(env, 'INFERENCE_WORKERS', defaultWorkers, 1, 64);
  return { workers, threads: int(env, 'INTRA_OP_THREADS', Math.max(1, Math.floor(cores / workers)), 1, 1024) };
}

/**
 * FAULT_INJECTION, for tests of crash handling only; never set it in production.
 * `worker-exit:PATH`: while the file PATH exists, an inference worker about to run a batch removes
 * it and ends its thread with process.exit(70) (one crash per file); a file containing `always` is
 * kept and also ends every new worker at start (a crash loop).
 */
function faultInjection(env: Env): Config['faultInjection'] {
  const raw = read(env, 'FAULT_INJECTION');
  if (raw === undefined) return {};
  const m = /^worker-exit:(\/.+)$/.exec(raw);
  if (!m) fail('FAULT_INJECTION', 'worker-exit:/absolute/path (a testing knob; leave it unset)', raw);
  return { workerExitFile: m[1]! };
}

/**
 * API_KEY: one key or several, comma-separated; API_KEY_FILE: a file of keys, one per line (or
 * comma-separated); both may be set. A key is visible ASCII without spaces or commas, so it fits a
 * header as is. Error messages name the variable, never the key.
 */
function apiKeys(env: Env): readonly string[] {
  const keys: string[] = [];
  const inline = read(env, 'API_KEY');
  if (inline !== undefined) keys.push(...splitKeys(inline, 'API_KEY'));
  const file = read(env, 'API_KEY_FILE');
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new AppError('Config', `invalid API_KEY_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const fromFile = splitKeys(text, 'API_KEY_FILE');
    if (fromFile.length === 0) throw new AppError('Config', `invalid API_KEY_FILE: ${file} holds no key`);
    keys.push(...fromFile);
  }
  return [...new Set(keys)];
}

function splitKeys(text: string, name: string): string[] {
  const keys = text.split(/[\s,]+/).filter((k) => k !== '');
  for (const [i, k] of keys.entries()) {
    if (!/^[\x21-\x7e]+$/.test(k)) throw new AppError('Config', `invalid ${name}: key ${i + 1} has characters outside visible ASCII`);
  }
  return keys;
}

/**
 * CloudWatch EMF and OpenTelemetry, one block. METRICS_EMF defaults to off here; the container's
 * entrypoint (container/serve) turns it on, so that SageMaker endpoints get CloudWatch metrics
 * with no agent while tests and `make serve` keep a quiet stdout (docs/operations.md says why).
 * The OTEL_* names and meanings are OpenTelemetry's own (its SDK environment specification).
 */
function observabilityConfig(env: Env): Pick<Config, 'emf' | 'tracing'> {
  const name = (key: string): string | undefined => {
    const v = read(env, key);
    if (v !== undefined && v.length > 255) fail(key, 'at most 255 characters (a CloudWatch dimension value)', v);
    return v;
  };
  const base = read(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const traces = read(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const tracesUrl = traces ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (tracesUrl !== undefined && !/^https?:\/\/[^/]+/.test(tracesUrl)) fail(traces ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT', 'an http:// or https:// URL (OTLP/HTTP)', tracesUrl);
  const headers: Record<string, string> = {};
  for (const part of (read(env, 'OTEL_EXPORTER_OTLP_HEADERS') ?? '').split(',')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) fail('OTEL_EXPORTER_OTLP_HEADERS', 'key=value pairs separated by commas', '[not shown: may hold a secret]');
    headers[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return {
    emf: {
      enabled: bool(env, 'METRICS_EMF', false),
      intervalMs: seconds(env, 'METRICS_EMF_INTERVAL', 60, 0.1, 3600),
      namespace: read(env, 'METRICS_EMF_NAMESPACE') ?? 'SageMakerReranker',
      endpointName: name('ENDPOINT_NAME'),
      variantName: name('VARIANT_NAME'),
      modelName: name('MODEL_NAME'),
    },
    tracing: {
      tracesUrl,
      headers,
      serviceName: read(env, 'OTEL_SERVICE_NAME') ?? 'sagemaker-reranker',
      scheduleDelayMs: int(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, 1, 3_600_000),
    },
  };
}

function looksLikePath(v: string): boolean {
  return v.startsWith('/') || v.startsWith('./') || v.startsWith('../') || v.startsWith('~') || v === '.';
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v as object);
  return Object.freeze(o);
}
