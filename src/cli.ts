#!/usr/bin/env node
/**
 * reranker serve | inspect <model-dir> | upload <model-dir> s3://bucket/prefix/ [--tar] |
 *          quantize <model-dir> [--out FILE] | version
 */
import { parseArgs } from 'node:util';
import { ConfigErrors, loadConfig, logFormatOf, settingsOf } from './config';
import { isAppError, messageOf } from './errors';
import { configureLog, logger } from './log';
import { VERSION } from './version';
import { start } from './main';
import { inspectModel } from './modelSpec/inspect';
import { TASKS, type Task } from './modelSpec/types';
import { specOverrides } from './modelSpec/specOverrides';
import { uploadModel } from './artifacts/upload';
import { detectCpuFeatures } from './cpuFeatures';
import { DTYPES, parseDtype } from './modelSpec/variants';
import { quantizeCommand } from './quantize/quantizeCommand';
import { installSignals } from './signals';

const USAGE = `usage:
  reranker serve                                   start the server (SageMaker: docker run IMAGE serve)
  reranker inspect <model-dir> [--onnx FILE | --dtype D]
                                                   print the model spec and its .onnx variants as JSON; exit 0 exactly when it can be served
      [--task reranker|classifier] [--score-tokens yes,no] [--prompt-template FILE] [--instruction TEXT]
                                                   the same overrides as MODEL_TASK, SCORE_TOKENS, PROMPT_TEMPLATE, INSTRUCTION
  reranker upload <model-dir> <s3-uri> [--tar]     upload a model folder as an S3 prefix or a model.tar.gz
  reranker quantize <model-dir> [--out FILE]       write a dynamic int8 model_quantized.onnx and report its fidelity
  reranker version
  reranker <command> --help                        what a command does and takes`;

const HELP: Readonly<Record<string, string>> = {
  serve: `usage: reranker serve
  Starts the server. Everything is configured by environment variables (README, "Configuration"):
  MODEL_DIR, MODEL_URI or /opt/ml/model choose the model; PORT (or SAGEMAKER_BIND_TO_PORT) the port.`,
  inspect: `usage: reranker inspect <model-dir> [--onnx FILE | --dtype D]
  Decides the spec the server would use for <model-dir> and prints it as JSON, with the evidence.
  --onnx FILE   the .onnx to use, relative to <model-dir> (as MODEL_ONNX_FILE)
  --dtype D     which variant to pick (as MODEL_DTYPE; default MODEL_DTYPE)
  exit 0: servable; 1: refused or not servable (reason given); 2: the folder cannot be read`,
  upload: `usage: reranker upload <model-dir> <s3-uri> [--tar]
  Uploads a model folder to S3 as a prefix (s3://bucket/prefix/) or, with --tar, as one model.tar.gz.
  --tar         pack the folder into model.tar.gz first`,
  version: `usage: reranker version
  Prints the version.`,
};

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/**
 * parseArgs with every subcommand's manners: --help/-h prints that command's help (exit 0); an
 * unknown option or a missing value is one line plus the usage (exit 2), not Node's raw error.
 */
function parseCommand(command: string, args: string[], options: Options = {}): { values: Record<string, string | boolean | undefined>; positionals: string[] } | number {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`reranker ${command}: ${messageOf(e).split('\n')[0]!.replace(/\. To specify a positional.*/, '')}\n${HELP[command] ?? USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${HELP[command] ?? USAGE}\n`);
    return 0;
  }
  return parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      return serve([]);
    case 'serve':
      return serve(rest);
    case 'inspect':
      return inspect(rest);
    case 'upload':
      return upload(rest);
    case 'quantize':
      return quantizeCommand(rest);
    case 'version':
    case '--version': {
      const parsed = parseCommand('version', rest);
      if (typeof parsed === 'number') return parsed;
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return 0;
    default:
      process.stderr.write(`unknown command: ${command}\n${USAGE}\n`);
      return 2;
  }
}

async function serve(args: string[]): Promise<number> {
  const parsed = parseCommand('serve', args);
  if (typeof parsed === 'number') return parsed;
  if (parsed.positionals.length) {
    process.stderr.write(`reranker serve takes no arguments (got ${parsed.positionals.join(' ')})\n${HELP.serve}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    // Before the config is valid the log is still the one format every other line uses.
    configureLog('info', logFormatOf());
    const problems = e instanceof ConfigErrors ? e.problems : [messageOf(e)];
    logger('main').error(`start-up failed: ${messageOf(e)}`, { problems });
    return 1;
  }
  // Read and checked once; each part is then given only its own options object.
  const settings = settingsOf(config);
  configureLog(settings.log.logLevel, settings.log.logFormat);
  const log = logger('main');
  let running;
  try {
    running = await start(settings);
  } catch (e) {
    log.error(`start-up failed: ${messageOf(e)}`);
    return 1;
  }
  let exiting = false;
  const shutdown = (signal: string): void => {
    if (exiting) return;
    exiting = true;
    log.info(`${signal} received`);
    running.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error(`shutdown failed: ${messageOf(e)}`);
        process.exit(1);
      },
    );
  };
  installSignals(shutdown);
  try {
    await running.ready;
  } catch (e) {
    // One line that says what was tried and what to fix; SageMaker shows it in CloudWatch.
    log.error(`start-up failed: ${messageOf(e)}`);
    await running.stop().catch(() => undefined);
    return 1;
  }
  return new Promise<number>(() => undefined);
}

async function inspect(args: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const parsed = parseCommand('inspect', args, { onnx: str, dtype: str, task: str, 'score-tokens': str, 'prompt-template': str, instruction: str });
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values as { onnx?: string; dtype?: string; task?: string; 'score-tokens'?: string; 'prompt-template'?: string; instruction?: string };
  const { positionals } = parsed;
  const dir = positionals[0];
  if (!dir || positionals.length > 1) {
    process.stderr.write(`reranker inspect needs one model folder\n${HELP.inspect}\n`);
    return 2;
  }
  if (values.task !== undefined && !(TASKS as readonly string[]).includes(values.task)) {
    process.stderr.write(`--task must be reranker or classifier\n`);
    return 2;
  }
  let overrides;
  try {
    overrides = await specOverrides({
      taskOverride: values.task as Task | undefined,
      maxInputLengthOverride: undefined,
      activationOverride: undefined,
      scoreTokensOverride: values['score-tokens']?.split(',').map((t) => t.trim()),
      promptTemplateFile: values['prompt-template'],
      instructionOverride: values.instruction,
    });
  } catch (e) {
    process.stderr.write(`error: ${messageOf(e)}\n`);
    return 2;
  }
  // --dtype defaults to MODEL_DTYPE, so inspect shows what `serve` would pick here.
  const config = settingsOf(loadConfig()).modelFiles;
  const request = values.dtype !== undefined ? parseDtype(values.dtype) : config.modelDtype;
  if (request === undefined) {
    process.stderr.write(`--dtype must be one of ${DTYPES.join(', ')} or an .onnx file name\n`);
    return 2;
  }
  const onnxFile = values.onnx ?? config.onnxFile;
  const r = await inspectModel(dir, { ...(onnxFile !== undefined ? { onnxFile } : { dtype: { request, device: config.device, cpu: detectCpuFeatures() } }), overrides });
  (r.stream === 'stdout' ? process.stdout : process.stderr).write(r.output.endsWith('\n') ? r.output : r.output + '\n');
  return r.exitCode;
}

async function upload(args: string[]): Promise<number> {
  const parsed = parseCommand('upload', args, { tar: { type: 'boolean', default: false } });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [dir, uri] = positionals;
  if (!dir || !uri || positionals.length > 2) {
    process.stderr.write(`reranker upload needs a model folder and an s3:// URI\n${HELP.upload}\n`);
    return 2;
  }
  const settings = settingsOf(loadConfig());
  configureLog(settings.log.logLevel, 'text');
  const r = await uploadModel(dir, uri, { tar: values.tar === true, s3: settings.artifacts.s3 });
  process.stdout.write(`uploaded ${r.files} files (${r.bytes} bytes)\nMODEL_URI=${r.uri}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${isAppError(e) ? `${e.errorType}: ` : ''}${messageOf(e)}\n`);
    process.exit(1);
  },
);
