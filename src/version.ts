/** The package version, read once from package.json next to the compiled tree. */
import fs from 'node:fs';
import path from 'node:path';

function find(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sagemaker-reranker') return pkg.version ?? '0.0.0';
    }
  }
  return '0.0.0';
}

export const VERSION = find();
