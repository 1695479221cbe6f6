/**
 * Which model to serve, in this order:
 *  1. MODEL_DIR (or HF_MODEL_ID as a path): the user said so; it must hold a model.
 *  2. /opt/ml/model (SM_MODEL_DIR) when it holds one: SageMaker put it there, and with network
 *     isolation the container could not reach S3 anyway. A lone model.tar.gz there is extracted.
 *  3. MODEL_URI (or HF_MODEL_ID as s3://): downloaded into MODEL_CACHE_DIR, reused when unchanged.
 *  4. The built-in demo model.
 * The caller logs the returned source and reason as one line.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ArtifactOptions } from '../config';
import { AppError } from '../errors';
import { downloadModel } from './downloadModel';
import { extractLocalArchive, singleArchive } from './localArchive';
import { checkModelFolder, holdsModel, missingFolder } from './modelFolder';

export type ModelSource = 'model_dir' | 'sagemaker' | 's3' | 'demo';

export interface ResolvedModel {
  readonly dir: string;
  readonly source: ModelSource;
  readonly reason: string;
  readonly uri?: string;
}

export interface ResolveOptions {
  readonly s3Client?: S3Client;
  /** 'listing' | 'cached' | 'downloading' | 'extracting' while an S3 model is fetched. */
  readonly onPhase?: (phase: string) => void;
  readonly progressIntervalMs?: number;
  readonly retryBaseMs?: number;
}

/** `config`: the artifacts part's own settings (config.ts settingsOf().artifacts). */
export async function resolveModel(config: ArtifactOptions, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const ignored = config.modelUri !== undefined ? `; MODEL_URI=${config.modelUri} is not used` : '';
  if (config.modelDir !== undefined) {
    const missing = await missingFolder(config.modelDir);
    if (missing !== undefined) {
      throw new AppError('Config', `MODEL_DIR=${config.modelDir} ${missing}. Fix MODEL_DIR, or unset it to use /opt/ml/model or MODEL_URI.`);
    }
    if (!(await holdsModel(config.modelDir))) {
      throw new AppError('Config', `MODEL_DIR=${config.modelDir} holds no model: expected config.json or an .onnx file at its root or in onnx/. Fix MODEL_DIR, or unset it to use /opt/ml/model or MODEL_URI.`);
    }
    return { dir: config.modelDir, source: 'model_dir', reason: `MODEL_DIR is set${ignored}` };
  }

  const sm = config.sagemakerModelDir;
  if (await holdsModel(sm)) {
    return { dir: sm, source: 'sagemaker', reason: `${sm} holds a model (placed there by SageMaker or a mount)${ignored}` };
  }
  const smArchive = await singleArchive(sm);
  if (smArchive !== undefined) {
    const dir = await extractLocalArchive(config, smArchive);
    await checkModelFolder(dir, `${smArchive} (extracted to ${dir})`);
    return { dir, source: 'sagemaker', reason: `${sm} holds only ${smArchive}; extracted it into the cache${ignored}` };
  }

  if (config.modelUri !== undefined) {
    const uri = config.modelUri;
    const r = await downloadModel(config, uri, {
      ...(opts.s3Client ? { client: opts.s3Client } : {}),
      ...(opts.onPhase ? { onPhase: opts.onPhase } : {}),
      ...(opts.progressIntervalMs !== undefined ? { progressIntervalMs: opts.progressIntervalMs } : {}),
      ...(opts.retryBaseMs !== undefined ? { retryBaseMs: opts.retryBaseMs } : {}),
    });
    let dir = r.dir;
    // A prefix that holds only model.tar.gz: what the user meant is the archive's content.
    const inner = (await holdsModel(dir)) ? undefined : await singleArchive(dir);
    if (inner !== undefined) dir = await extractLocalArchive(config, inner);
    await checkModelFolder(dir, `${uri} (downloaded to ${dir})`);
    const how = r.cached ? 'the cached copy matches S3' : `downloaded ${(r.bytes / 1024 / 1024).toFixed(1)} MB in ${r.seconds.toFixed(1)} s`;
    return { dir, source: 's3', reason: `MODEL_URI is set and ${sm} holds no model; ${how}`, uri };
  }

  if (await holdsModel(config.demoModelDir)) {
    return { dir: config.demoModelDir, source: 'demo', reason: `no MODEL_DIR, no model in ${sm} and no MODEL_URI: serving the built-in demo model` };
  }
  throw new AppError('Config', `no model to serve: set MODEL_URI=s3://bucket/prefix/ (or .../model.tar.gz), set MODEL_DIR, or let SageMaker place the model in ${sm}.`);
}
