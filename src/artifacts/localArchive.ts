/**
 * A folder that holds nothing but a model archive (SageMaker's uncompressed S3 source pointed at a
 * prefix that contains model.tar.gz puts the tarball itself in /opt/ml/model): extract it into the
 * cache once, keyed by the archive's path, size and mtime.
 */
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactOptions } from '../config';
import { extractTar } from './extractTar';
import { findModelRoot } from './modelFolder';
import { isArchiveName } from './s3Uri';

/** The one archive file in dir when it holds nothing else that matters. */
export async function singleArchive(dir: string): Promise<string | undefined> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  const visible = entries.filter((e) => !e.name.startsWith('.'));
  const only = visible[0];
  return visible.length === 1 && only?.isFile() && isArchiveName(only.name) ? path.join(dir, only.name) : undefined;
}

export async function extractLocalArchive(config: Pick<ArtifactOptions, 'extract' | 'modelCacheDir'>, archive: string): Promise<string> {
  const st = await fsp.stat(archive);
  const key = crypto.createHash('sha256').update(`${path.resolve(archive)}\n${st.size}\n${st.mtimeMs}`).digest('hex').slice(0, 16);
  const entry = path.join(config.modelCacheDir, `local-${path.basename(archive).replace(/[^A-Za-z0-9._-]+/g, '_')}-${key}`);
  const model = path.join(entry, 'model');
  const done = path.join(entry, 'complete');
  if (await fsp.stat(done).then(() => true, () => false)) return model;
  await fsp.rm(entry, { recursive: true, force: true });
  await fsp.mkdir(entry, { recursive: true });
  const tmp = path.join(entry, 'extract.tmp');
  await extractTar(archive, tmp, config.extract);
  await fsp.rename(await findModelRoot(tmp), model);
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.writeFile(done, new Date().toISOString());
  return model;
}
