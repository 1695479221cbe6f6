/**
 * s3:// URIs as SageMaker reads them: a key ending in .tar.gz/.tgz/.tar is an archive (model.tar.gz),
 * anything else is a prefix whose keys, minus the prefix, are paths under the model folder.
 */
import { AppError } from '../errors';

export interface S3Location {
  readonly bucket: string;
  /** Key of the archive, or the prefix (always '' or ending in '/'). */
  readonly key: string;
  readonly kind: 'prefix' | 'archive';
}

const ARCHIVE = /\.(tar\.gz|tgz|tar)$/i;

export function isArchiveName(name: string): boolean {
  return ARCHIVE.test(name);
}

export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri.trim());
  const bucket = m?.[1];
  if (!m || !bucket) {
    throw new AppError('Config', `invalid S3 URI ${JSON.stringify(uri)}: expected s3://bucket/prefix/ or s3://bucket/path/model.tar.gz`);
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new AppError('Config', `invalid S3 bucket name ${JSON.stringify(bucket)} in ${uri}: bucket names are 3-63 lowercase letters, digits, dots and hyphens`);
  }
  const rest = m[2] ?? '';
  if (isArchiveName(rest)) return { bucket, key: rest, kind: 'archive' };
  // "s3://b/model" and "s3://b/model/" mean the same folder; without the slash "model-v2/..." would match too.
  const key = rest === '' || rest.endsWith('/') ? rest : rest + '/';
  return { bucket, key, kind: 'prefix' };
}

export function formatS3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
