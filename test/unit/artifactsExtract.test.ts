import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { extractTar } from '../../src/artifacts/extractTar';
import { findModelRoot } from '../../src/artifacts/modelFolder';

interface Entry {
  name: string;
  type?: tar.Header['type'];
  data?: string | Buffer;
  linkname?: string;
}

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    await new Promise<void>((resolve, reject) => {
      const header = { name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}), size: data?.length ?? 0 };
      pack.entry(header, data ?? '', (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

const LIMITS = { maxBytes: 1 << 20, maxEntries: 100 };

const made: string[] = [];
function mkTemp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** sandbox/ holds only the target; the archive lives elsewhere, so sandbox must end empty on refusal. */
function setup(archive: Buffer, gzip = false): { sandbox: string; target: string; archive: string } {
  const sandbox = mkTemp('xsafe-');
  const store = mkTemp('xarch-');
  const file = path.join(store, gzip ? 'model.tar.gz' : 'model.tar');
  fs.writeFileSync(file, gzip ? zlib.gzipSync(archive) : archive);
  return { sandbox, target: path.join(sandbox, 'out'), archive: file };
}

/** Paths under dir without following symlinks. */
function allFiles(dir: string, base = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    out.push(rel);
    if (e.isDirectory()) out.push(...allFiles(dir, rel));
  }
  return out.sort();
}

async function refused(entries: Entry[], pattern: RegExp, limits = LIMITS): Promise<void> {
  const s = setup(await makeTar(entries), true);
  await assert.rejects(extractTar(s.archive, s.target, limits), pattern);
  assert.deepEqual(allFiles(s.sandbox), [], 'nothing is left in or next to the target');
  assert.ok(!fs.existsSync(path.join(os.tmpdir(), 'escaped.txt')));
}

test('extracts files, folders, exec bits and in-archive links', async () => {
  const s = setup(
    await makeTar([
      { name: './', type: 'directory' },
      { name: 'config.json', data: '{}' },
      { name: 'onnx/', type: 'directory' },
      { name: 'onnx/model.onnx', data: Buffer.alloc(3000, 7) },
      { name: 'latest', type: 'symlink', linkname: 'onnx' },
      { name: 'latest/extra.txt', data: 'through an inside link' },
      { name: 'copy.onnx', type: 'link', linkname: 'onnx/model.onnx' },
    ]),
    true,
  );
  const r = await extractTar(s.archive, s.target, LIMITS);
  assert.equal(r.files, 4);
  assert.equal(fs.readFileSync(path.join(s.target, 'onnx/model.onnx')).length, 3000);
  assert.equal(fs.readFileSync(path.join(s.target, 'onnx/extra.txt'), 'utf8'), 'through an inside link');
  assert.equal(fs.lstatSync(path.join(s.target, 'copy.onnx')).isFile(), true);
  assert.deepEqual(allFiles(s.sandbox), ['out', 'out/config.json', 'out/copy.onnx', 'out/latest', 'out/onnx', 'out/onnx/extra.txt', 'out/onnx/model.onnx']);
});

test('tar-slip ../ entry is refused and named', async () => {
  await refused([{ name: 'ok.txt', data: 'a' }, { name: '../escaped.txt', data: 'x' }], /"\.\.\/escaped\.txt".*'\.\.'/);
  await refused([{ name: 'a/../../escaped.txt', data: 'x' }], /a\/\.\.\/\.\.\/escaped\.txt/);
});

test('absolute path entry is refused', async () => {
  const sandboxSibling = path.join(os.tmpdir(), 'escaped.txt');
  await refused([{ name: sandboxSibling, data: 'x' }], /absolute path/);
});

test('symlink escapes are refused: outside target, absolute, and through a chain of links', async () => {
  await refused([{ name: 'evil', type: 'symlink', linkname: '../../escaped.txt' }], /"evil".*outside the target/);
  await refused([{ name: 'evil', type: 'symlink', linkname: '/etc' }], /"evil".*absolute/);
  // each link alone looks inside; together "y" is the target's parent
  await refused(
    [
      { name: 'a', type: 'symlink', linkname: '.' },
      { name: 'y', type: 'symlink', linkname: 'a/..' },
      { name: 'y/escaped.txt', data: 'x' },
    ],
    /"y\/escaped\.txt".*symlink that leads outside/,
  );
  await refused(
    [
      { name: 'a', type: 'symlink', linkname: '.' },
      { name: 'y', type: 'symlink', linkname: 'a/..' },
    ],
    /"y".*resolves outside the target through other links/,
  );
});

test('hard links that leave the target are refused', async () => {
  await refused([{ name: 'h', type: 'link', linkname: '../escaped.txt' }], /"h"/);
  await refused([{ name: 'h', type: 'link', linkname: '/etc/passwd' }], /absolute path/);
  await refused(
    [
      { name: 'a', type: 'symlink', linkname: '.' },
      { name: 'y', type: 'symlink', linkname: 'a/..' },
      { name: 'h', type: 'link', linkname: 'y/etc-passwd-like' },
    ],
    /"h"/,
  );
});

test('FIFO, character and block device entries are refused', async () => {
  await refused([{ name: 'ok.txt', data: 'a' }, { name: 'pipe', type: 'fifo' }], /"pipe" is a fifo entry/);
  await refused([{ name: 'tty', type: 'character-device' }], /"tty" is a character-device entry/);
  await refused([{ name: 'disk', type: 'block-device' }], /"disk" is a block-device entry/);
});

test('caps on extracted bytes and on entry count', async () => {
  await refused([{ name: 'small', data: Buffer.alloc(600) }, { name: 'big', data: Buffer.alloc(600) }], /"big" would take the extracted size past 1000 bytes/, { maxBytes: 1000, maxEntries: 100 });
  const many = Array.from({ length: 6 }, (_, i) => ({ name: `f${i}`, data: 'x' }));
  await refused(many, /"f3" is past the limit of 3 entries/, { maxBytes: 1 << 20, maxEntries: 3 });
});

test('an entry past the byte cap is refused from its header, before its data is inflated', async () => {
  const s = setup(await makeTar([{ name: 'zeros', data: Buffer.alloc(8 << 20) }]), true);
  await assert.rejects(extractTar(s.archive, s.target, { maxBytes: 1024, maxEntries: 10 }), /"zeros" would take the extracted size past 1024 bytes/);
  assert.deepEqual(allFiles(s.sandbox), []);
});

test('corrupt gzip, truncated gzip and truncated tar give clear errors', async () => {
  const tarBuf = await makeTar([{ name: 'config.json', data: '{}' }, { name: 'model.onnx', data: Buffer.alloc(5000, 1) }]);
  const gz = zlib.gzipSync(tarBuf);
  const cases: [Buffer, RegExp][] = [
    [Buffer.concat([gz.subarray(0, 10), Buffer.alloc(200, 0xab)]), /not a valid gzip stream/],
    [gz.subarray(0, Math.floor(gz.length / 2)), /not a valid gzip stream|truncated/],
    [tarBuf.subarray(0, 1200), /truncated or not a tar archive/],
    [tarBuf.subarray(0, 512 + 512 + 512 + 5120), /truncated: it ends without the tar end-of-archive marker/],
    [Buffer.from('this is not an archive at all, just text'.repeat(20)), /truncated or not a tar archive/],
  ];
  for (const [buf, pattern] of cases) {
    const sandbox = mkTemp('xsafe-');
    const file = path.join(mkTemp('xarch-'), 'model.tar.gz');
    fs.writeFileSync(file, buf);
    await assert.rejects(extractTar(file, path.join(sandbox, 'out'), LIMITS), pattern);
    assert.deepEqual(allFiles(sandbox), []);
  }
});

test('a single top-level folder holding the model is accepted as the model root', async () => {
  const s = setup(await makeTar([{ name: 'my-model/', type: 'directory' }, { name: 'my-model/config.json', data: '{}' }, { name: 'my-model/onnx/model.onnx', data: 'x' }, { name: '._my-model', data: 'mac' }]), true);
  await extractTar(s.archive, s.target, LIMITS);
  assert.equal(await findModelRoot(s.target), path.join(s.target, 'my-model'));
  const flat = setup(await makeTar([{ name: 'config.json', data: '{}' }, { name: 'model.onnx', data: 'x' }]), false);
  await extractTar(flat.archive, flat.target, LIMITS);
  assert.equal(await findModelRoot(flat.target), flat.target);
});
