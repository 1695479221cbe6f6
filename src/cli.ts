#!/usr/bin/env node
/**
 * reranker serve | inspect <model-dir> | upload <model-dir> s3://bucket/prefix/ [--tar] | version
 */
import { parseArgs } from 'node:util';
import { loadConfig } from './config';
import { isAppError, messageOf } from './errors';
import { configureLog, logger } from './log';
import { VERSION } from './version';
import { start } from './main';
import { inspectModel } from './modelSpec/inspect';
import { uploadModel } from './artifacts/upload';

const USAGE = `usage:
  reranker serve                                   start the server (SageMaker: docker run IMAGE serve)
  reranker inspect <model-dir> [--onnx FILE]       print the model spec as JSON; exit 0 when it can be served
  reranker upload <model-dir> <s3-uri> [--tar]     upload a model folder as an S3 prefix or a model.tar.gz
  reranker version`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'serve':
      return serve();
    case 'inspect':
      return inspect(rest);
    case 'upload':
      return upload(rest);
    case 'version':
    case '--version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
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

async function serve(): Promise<number> {
  const config = loadConfig();
  configureLog(config.logLevel, config.logFormat);
  const log = logger('main');
  const running = await start(config);
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
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
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
  const { values, positionals } = parseArgs({ args, options: { onnx: { type: 'string' } }, allowPositionals: true });
  const dir = positionals[0];
  if (!dir) {
    process.stderr.write(`inspect needs a model folder\n${USAGE}\n`);
    return 2;
  }
  const r = await inspectModel(dir, values.onnx !== undefined ? { onnxFile: values.onnx } : {});
  (r.stream === 'stdout' ? process.stdout : process.stderr).write(r.output.endsWith('\n') ? r.output : r.output + '\n');
  return r.exitCode;
}

async function upload(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { tar: { type: 'boolean', default: false } }, allowPositionals: true });
  const [dir, uri] = positionals;
  if (!dir || !uri) {
    process.stderr.write(`upload needs a model folder and an s3:// URI\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  configureLog(config.logLevel, 'text');
  const r = await uploadModel(dir, uri, { tar: values.tar ?? false, config });
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
