/**
 * The Node version the project recommends is one fact in three places: .nvmrc (nvm, fnm, CI
 * set-ups), the README, and the images' base. The AWS SDK needs Node 22 for releases after
 * January 2027; package.json still allows 20 while the machines here run it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/paths';

test('.nvmrc, README and both Dockerfiles agree on Node 22 LTS; package.json still accepts 20', () => {
  const nvmrc = fs.readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim();
  assert.equal(nvmrc, '22');
  assert.match(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'), /Node 22 LTS recommended/);
  for (const f of ['Dockerfile', 'Dockerfile.cpu']) {
    const from = /FROM\s+(?:--platform=\S+\s+)?node:(\d+)\./.exec(fs.readFileSync(path.join(ROOT, 'container', f), 'utf8'));
    assert.equal(from?.[1], nvmrc, `${f} builds on node:${nvmrc}`);
  }
  const engines = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  assert.equal(engines, '>=20');
});
