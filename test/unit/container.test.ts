/**
 * The container images cannot be built here (no Docker engine), so their Dockerfiles are checked
 * statically, and container/serve, the entrypoint, is run directly with a stub in place of node
 * so each test sees the exact command line it execs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

function repoRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'container'))) return dir;
  }
  throw new Error('repository root not found');
}
const ROOT = repoRoot();

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  /** Index of the FROM stage it belongs to (0-based). */
  readonly stage: number;
}

/** Dockerfile -> logical instructions: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let stage = -1;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (pending === '' && /^\s*#/.test(line)) continue;
    if (pending !== '' && /^\s*#/.test(line)) continue; // comment lines inside a continuation
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') continue;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(full);
    assert.ok(m, `cannot parse Dockerfile line: ${full}`);
    const keyword = m[1]!.toUpperCase();
    if (keyword === 'FROM') stage++;
    out.push({ keyword, args: m[2]!, stage });
  }
  return out;
}

function fromImages(ins: readonly Instruction[]): Array<{ image: string; alias: string | undefined }> {
  return ins
    .filter((i) => i.keyword === 'FROM')
    .map((i) => {
      const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const asAt = words.findIndex((w) => w.toUpperCase() === 'AS');
      return { image: words[0]!, alias: asAt >= 0 ? words[asAt + 1] : undefined };
    });
}

function finalStage(ins: readonly Instruction[]): Instruction[] {
  const last = Math.max(...ins.map((i) => i.stage));
  return ins.filter((i) => i.stage === last);
}

/** KEY=VALUE pairs of ENV/ARG instructions (also the legacy `ENV KEY VALUE` form). */
function envPairs(ins: readonly Instruction[], keyword: 'ENV' | 'ARG'): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const i of ins.filter((x) => x.keyword === keyword)) {
    if (!i.args.includes('=')) {
      const [k, ...rest] = i.args.split(/\s+/);
      pairs.push([k!, rest.join(' ')]);
      continue;
    }
    for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) pairs.push([m[1]!, m[2]!.replace(/^"|"$/g, '')]);
  }
  return pairs;
}

const DOCKERFILES = ['container/Dockerfile', 'container/Dockerfile.cpu'] as const;

for (const file of DOCKERFILES) {
  describe(`${file} (static)`, () => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const ins = parseDockerfile(text);
    const runtime = finalStage(ins);

    it('is multi-stage with every base image pinned by an exact tag', () => {
      const froms = fromImages(ins);
      assert.ok(froms.length >= 2, 'expected a build stage and a runtime stage');
      const aliases = new Set(froms.map((f) => f.alias).filter(Boolean));
      for (const { image } of froms) {
        if (aliases.has(image)) continue;
        const tag = /^[^@]+:([^/:@]+)(@sha256:[0-9a-f]{64})?$/.exec(image)?.[1];
        assert.ok(tag, `${image}: base image without a tag`);
        assert.notEqual(tag, 'latest', `${image}: pinned to latest`);
        assert.match(tag, /^\d+\.\d+\.\d+/, `${image}: tag is not an exact version`);
      }
    });

    it('ends in an exec-form ENTRYPOINT that runs container/serve', () => {
      const eps = runtime.filter((i) => i.keyword === 'ENTRYPOINT');
      assert.equal(eps.length, 1);
      const argv = JSON.parse(eps[0]!.args) as unknown;
      assert.ok(Array.isArray(argv) && argv.every((a) => typeof a === 'string'), 'ENTRYPOINT must be a JSON array');
      assert.ok((argv as string[]).includes('/app/container/serve'));
      const cmd = runtime.filter((i) => i.keyword === 'CMD');
      if (cmd.length) assert.deepEqual(JSON.parse(cmd[0]!.args), ['serve']);
      assert.match(text, /COPY --from=build --chmod=0755 \/app\/container\/serve \/app\/container\/serve/);
    });

    it('exposes 8080 and carries the accept-bind-to-port label', () => {
      assert.ok(runtime.some((i) => i.keyword === 'EXPOSE' && i.args.split(/\s+/).includes('8080')));
      assert.ok(runtime.some((i) => i.keyword === 'LABEL' && /com\.amazonaws\.sagemaker\.capabilities\.accept-bind-to-port=true/.test(i.args)));
    });

    it('keeps the model cache under /tmp and documents running as another user on a read-only root', () => {
      const env = new Map(envPairs(runtime, 'ENV'));
      assert.match(env.get('MODEL_CACHE_DIR') ?? '', /^\/tmp\//);
      const user = runtime.filter((i) => i.keyword === 'USER');
      assert.equal(user.length, 0, 'SageMaker runs the image as root; other users come from --user');
      assert.match(text, /--user \S+/);
      assert.match(text, /--read-only --tmpfs \/tmp/);
    });

    it('holds no secrets in ENV or ARG', () => {
      for (const [k, v] of [...envPairs(ins, 'ENV'), ...envPairs(ins, 'ARG')]) {
        assert.doesNotMatch(k, /SECRET|PASSWORD|TOKEN|(^|_)KEY$|ACCESS_KEY|CREDENTIAL|^AWS_/i, `${k} looks like a secret`);
        assert.doesNotMatch(v, /AKIA[0-9A-Z]{16}/, `${k} holds an access key id`);
      }
      assert.doesNotMatch(text, /AWS_SECRET|AWS_ACCESS_KEY_ID|\bKEY=|\bTOKEN=/);
    });

    it('runs npm ci, the build, the demo model and a production prune in the build stage', () => {
      const build = ins.filter((i) => i.stage === 0 && i.keyword === 'RUN').map((i) => i.args).join('\n');
      assert.match(build, /npm ci\b/);
      assert.match(build, /npm run build/);
      assert.match(build, /dist\/scripts\/gen-model\.js --preset demo --out models\/demo/);
      assert.match(build, /npm prune --omit=dev/);
      assert.match(build, /rm -rf "\$ort\/darwin" "\$ort\/win32"/);
    });
  });
}

describe('container/Dockerfile (GPU specifics)', () => {
  const text = readFileSync(path.join(ROOT, 'container/Dockerfile'), 'utf8');
  const ins = parseDockerfile(text);

  it('runs on a CUDA 12 + cuDNN runtime base and picks the device automatically', () => {
    const base = fromImages(ins).at(-1)!.image;
    assert.match(base, /^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu\d\d\.\d\d$/);
    assert.equal(new Map(envPairs(finalStage(ins), 'ENV')).get('DEVICE'), 'auto');
  });

  it('lets onnxruntime-node download its CUDA provider and checks that it did', () => {
    const npmCi = ins.filter((i) => i.keyword === 'RUN' && /npm ci\b/.test(i.args));
    assert.equal(npmCi.length, 1);
    assert.doesNotMatch(npmCi[0]!.args, /ONNXRUNTIME_NODE_INSTALL(_CUDA)?=skip/);
    assert.ok(!envPairs(ins, 'ENV').some(([k, v]) => k.startsWith('ONNXRUNTIME_NODE_INSTALL') && v === 'skip'));
    assert.ok(!envPairs(ins, 'ARG').some(([k]) => k.startsWith('ONNXRUNTIME_NODE_INSTALL')));
    assert.match(npmCi[0]!.args, /test -s node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/libonnxruntime_providers_cuda\.so/);
  });

  it('approves onnxruntime-node\'s install script in package.json (npm 12 blocks unapproved ones)', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    assert.equal(pkg.allowScripts?.['onnxruntime-node'], true);
  });
});

describe('container/Dockerfile.cpu (CPU specifics)', () => {
  const ins = parseDockerfile(readFileSync(path.join(ROOT, 'container/Dockerfile.cpu'), 'utf8'));
  it('runs on a slim glibc Node 22 base with DEVICE=cpu', () => {
    assert.match(fromImages(ins).at(-1)!.image, /^node:22\.\d+\.\d+-(bookworm|trixie)-slim$/);
    assert.equal(new Map(envPairs(finalStage(ins), 'ENV')).get('DEVICE'), 'cpu');
  });
});

/**
 * The build stage's shell steps, run by sh on a fake /app with stubs for npm and node: no image can
 * be built here, but quoting mistakes and wrong paths in a RUN line show up this way.
 */
describe('build-stage shell steps (stubbed npm and node)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'docker-run-test-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const bin = path.join(tmp, 'bin');
  mkdirSync(bin);
  // npm: records its arguments; `npm ci` creates what onnxruntime-node's postinstall would.
  writeFileSync(
    path.join(bin, 'npm'),
    '#!/bin/sh\necho "npm $*" >> npm.log\nif [ "$1" = ci ] && [ "${FAKE_CUDA_DOWNLOAD:-}" = 1 ]; then d=node_modules/onnxruntime-node/bin/napi-v6/linux/x64; mkdir -p $d; echo x > $d/libonnxruntime_providers_cuda.so; echo x > $d/libonnxruntime_providers_shared.so; fi\n',
  );
  writeFileSync(path.join(bin, 'node'), '#!/bin/sh\nif [ "$1" = -p ] && [ "$2" = process.arch ]; then echo x64; fi\n');
  chmodSync(path.join(bin, 'npm'), 0o755);
  chmodSync(path.join(bin, 'node'), 0o755);

  function fakeApp(name: string, srcJs: string): string {
    const app = path.join(tmp, name);
    const files = [
      'node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/libonnxruntime.dylib',
      'node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_tensorrt.so',
      'node_modules/onnxruntime-web/dist/ort.wasm',
      'node_modules/sharp/package.json',
      'node_modules/@img/sharp-linux-x64/package.json',
      'node_modules/@huggingface/transformers/package.json',
      'node_modules/@huggingface/tokenizers/package.json',
      'dist/test/unit/a.test.js',
      'dist/scripts/gen-model.js',
      'dist/src/tsconfig.tsbuildinfo',
      'src/main.ts',
      'scripts/gen-model.ts',
    ];
    for (const f of files) {
      mkdirSync(path.dirname(path.join(app, f)), { recursive: true });
      writeFileSync(path.join(app, f), 'x');
    }
    writeFileSync(path.join(app, 'dist/src/main.js'), srcJs);
    return app;
  }

  function runStep(file: string, pattern: RegExp, app: string, env: Record<string, string> = {}) {
    const step = parseDockerfile(readFileSync(path.join(ROOT, file), 'utf8')).find((i) => i.keyword === 'RUN' && pattern.test(i.args));
    assert.ok(step, `${file}: no RUN matching ${pattern}`);
    return spawnSync('sh', ['-c', step.args], { cwd: app, env: { PATH: `${bin}:/usr/bin:/bin`, ...env }, encoding: 'utf8' });
  }
  const exists = (app: string, p: string) => existsSync(path.join(app, p));

  for (const file of DOCKERFILES) {
    it(`${file}: the prune step keeps only this platform and the server's own modules`, () => {
      const app = fakeApp(`prune-${path.basename(file)}`, 'const t = await import("@huggingface/tokenizers"); // not @huggingface/transformers\n');
      const r = runStep(file, /npm prune/, app);
      assert.equal(r.status, 0, r.stderr);
      const ort = 'node_modules/onnxruntime-node/bin/napi-v6';
      for (const gone of [`${ort}/darwin`, `${ort}/win32`, `${ort}/linux/arm64`, 'node_modules/onnxruntime-web', 'node_modules/sharp', 'node_modules/@img', 'node_modules/@huggingface/transformers', 'dist/test', 'dist/scripts', 'src', 'scripts', 'dist/src/tsconfig.tsbuildinfo']) {
        assert.ok(!exists(app, gone), `${gone} survived`);
      }
      for (const kept of [`${ort}/linux/x64/onnxruntime_binding.node`, 'node_modules/@huggingface/tokenizers', 'dist/src/main.js']) assert.ok(exists(app, kept), `${kept} was removed`);
      assert.match(readFileSync(path.join(app, 'npm.log'), 'utf8'), /npm prune --omit=dev/);
    });

    it(`${file}: the prune step keeps transformers' dependencies when the server imports it`, () => {
      const app = fakeApp(`keep-${path.basename(file)}`, 'const t = require("@huggingface/transformers");\n');
      const r = runStep(file, /npm prune/, app);
      assert.equal(r.status, 0, r.stderr);
      for (const kept of ['node_modules/onnxruntime-web', 'node_modules/sharp', 'node_modules/@huggingface/transformers']) assert.ok(exists(app, kept), `${kept} was removed`);
    });
  }

  it('container/Dockerfile: the npm ci step fails the build when the CUDA provider did not download', () => {
    const missing = fakeApp('ci-missing', '');
    rmSync(path.join(missing, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64'), { recursive: true });
    assert.notEqual(runStep('container/Dockerfile', /npm ci/, missing).status, 0);
    const ok = fakeApp('ci-ok', '');
    const r = runStep('container/Dockerfile', /npm ci/, ok, { FAKE_CUDA_DOWNLOAD: '1' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(path.join(ok, 'npm.log'), 'utf8'), /npm ci --no-audit --no-fund/);
  });
});

describe('.dockerignore', () => {
  it('allowlists the build inputs and nothing local', () => {
    const lines = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.equal(lines[0], '*', 'starts by excluding everything');
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'scripts', 'container/serve', 'ui']) assert.ok(lines.includes(`!${p}`), `!${p} missing`);
    for (const l of lines.filter((x) => x.startsWith('!'))) assert.doesNotMatch(l, /node_modules|dist|\.env|\.git|models/);
  });
});

describe('container/serve', () => {
  const serve = path.join(ROOT, 'container/serve');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'serve-test-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** A fake app root holding a copy of the script and an empty cli.js, and a stub "node". */
  const app = path.join(tmp, 'app');
  mkdirSync(path.join(app, 'container'), { recursive: true });
  mkdirSync(path.join(app, 'dist/src'), { recursive: true });
  copyFileSync(serve, path.join(app, 'container/serve'));
  chmodSync(path.join(app, 'container/serve'), 0o755);
  writeFileSync(path.join(app, 'dist/src/cli.js'), '');
  const stub = path.join(tmp, 'node-stub');
  // One line per argument (so spaces survive), then its PID and LD_LIBRARY_PATH.
  writeFileSync(stub, '#!/bin/sh\nfor a in "$@"; do printf "arg:%s\\n" "$a"; done\nprintf "pid:%s\\n" "$$"\nprintf "ld:%s\\n" "${LD_LIBRARY_PATH-<unset>}"\nprintf "emf:%s\\n" "${METRICS_EMF-<unset>}"\n');
  chmodSync(stub, 0o755);

  const compat = path.join(tmp, 'compat');
  mkdirSync(compat);
  writeFileSync(path.join(compat, 'libcuda.so.575.57.08'), '');
  symlinkSync('libcuda.so.575.57.08', path.join(compat, 'libcuda.so.1'));
  const driverFile = (version: string) => {
    const f = path.join(tmp, `driver-${version}`);
    writeFileSync(f, `NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  ${version}  Release Build  (dvs-builder@U16)  Thu Sep 26 2024\nGCC version:  gcc version 10.5.0\n`);
    return f;
  };

  function run(script: string, args: string[], env: Record<string, string> = {}) {
    const r = spawnSync(script, args, { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', RERANKER_NODE: stub, ...env }, encoding: 'utf8', cwd: tmp });
    const lines = r.stdout.split('\n');
    return {
      status: r.status,
      stderr: r.stderr,
      argv: lines.filter((l) => l.startsWith('arg:')).map((l) => l.slice(4)),
      execPid: Number(lines.find((l) => l.startsWith('pid:'))?.slice(4)),
      spawnPid: r.pid,
      ld: lines.find((l) => l.startsWith('ld:'))?.slice(3),
      emf: lines.find((l) => l.startsWith('emf:'))?.slice(4),
    };
  }
  const appServe = path.join(app, 'container/serve');
  const cli = path.join(realpathSync(app), 'dist/src/cli.js');

  it('is an executable POSIX sh script', () => {
    assert.ok((statSync(serve).mode & 0o111) !== 0, 'container/serve is not executable');
    assert.match(readFileSync(serve, 'utf8'), /^#!\/bin\/sh\n/);
    const syntax = spawnSync('sh', ['-n', serve], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
    if (existsSync('/usr/bin/dash') || existsSync('/bin/dash')) assert.equal(spawnSync('dash', ['-n', serve]).status, 0);
  });

  it('starts the server with no argument and with `serve` (what SageMaker passes)', () => {
    assert.deepEqual(run(appServe, []).argv, [cli, 'serve']);
    assert.deepEqual(run(appServe, ['serve']).argv, [cli, 'serve']);
    assert.deepEqual(run(appServe, ['serve', '--port', '9000']).argv, [cli, 'serve', '--port', '9000']);
  });

  it('turns CloudWatch EMF lines on for `serve` unless METRICS_EMF says otherwise, and only for serve', () => {
    assert.equal(run(appServe, []).emf, 'true');
    assert.equal(run(appServe, ['serve']).emf, 'true');
    assert.equal(run(appServe, ['serve'], { METRICS_EMF: 'false' }).emf, 'false');
    assert.equal(run(appServe, ['inspect', '/opt/ml/model']).emf, '<unset>');
  });

  it('passes any other command line to the reranker CLI unchanged', () => {
    assert.deepEqual(run(appServe, ['inspect', 'a dir/with spaces']).argv, [cli, 'inspect', 'a dir/with spaces']);
  });

  it('execs node in its own place, so signals reach node directly', () => {
    const r = run(appServe, ['serve']);
    assert.equal(r.status, 0);
    assert.equal(r.execPid, r.spawnPid);
  });

  it('finds the app root from its own location, wherever it is called from', () => {
    const rel = path.relative(tmp, appServe);
    assert.deepEqual(run(`./${rel}`, []).argv, [cli, 'serve']);
    const other = path.join(tmp, 'other');
    mkdirSync(path.join(other, 'dist/src'), { recursive: true });
    writeFileSync(path.join(other, 'dist/src/cli.js'), '');
    assert.deepEqual(run(appServe, [], { RERANKER_APP_ROOT: other }).argv, [path.join(other, 'dist/src/cli.js'), 'serve']);
  });

  it('says how to build when the app is not built', () => {
    const r = run(appServe, [], { RERANKER_APP_ROOT: path.join(tmp, 'nowhere') });
    assert.equal(r.status, 127);
    assert.match(r.stderr, /not found: build the app first \(make build\)/);
  });

  it('resolves the repository checkout itself after make build', (t) => {
    if (!existsSync(path.join(ROOT, 'dist/src/cli.js'))) return t.skip('dist/src/cli.js not built');
    assert.deepEqual(run(serve, []).argv, [path.join(realpathSync(ROOT), 'dist/src/cli.js'), 'serve']);
  });

  describe('CUDA forward compatibility', () => {
    const env = (driver: string, extra: Record<string, string> = {}) => ({ RERANKER_CUDA_COMPAT_DIR: compat, RERANKER_NVIDIA_VERSION_FILE: driverFile(driver), ...extra });

    it('puts the compat libcuda first when the host driver is older than the image CUDA', () => {
      const r = run(appServe, ['serve'], env('535.104.05', { LD_LIBRARY_PATH: '/usr/local/nvidia/lib64' }));
      assert.equal(r.ld, `${compat}:/usr/local/nvidia/lib64`);
      assert.match(r.stderr, /host driver 535\.104\.05 < 575\.57\.08/);
      assert.equal(run(appServe, ['serve'], env('470.256.02')).ld, compat);
    });

    it('leaves a newer or equal host driver alone', () => {
      assert.equal(run(appServe, ['serve'], env('580.65.06')).ld, '<unset>');
      assert.equal(run(appServe, ['serve'], env('575.57.08')).ld, '<unset>');
    });

    it('does nothing without a GPU driver, without compat libraries, or on DEVICE=cpu', () => {
      assert.equal(run(appServe, ['serve'], { RERANKER_CUDA_COMPAT_DIR: compat, RERANKER_NVIDIA_VERSION_FILE: path.join(tmp, 'none') }).ld, '<unset>');
      assert.equal(run(appServe, ['serve'], { RERANKER_CUDA_COMPAT_DIR: path.join(tmp, 'none'), RERANKER_NVIDIA_VERSION_FILE: driverFile('470.256.02') }).ld, '<unset>');
      assert.equal(run(appServe, ['serve'], env('470.256.02', { DEVICE: 'CPU' })).ld, '<unset>');
    });

    it('obeys RERANKER_CUDA_COMPAT=on|off and rejects other values', () => {
      assert.equal(run(appServe, ['serve'], env('580.65.06', { RERANKER_CUDA_COMPAT: 'on' })).ld, compat);
      assert.equal(run(appServe, ['serve'], env('470.256.02', { RERANKER_CUDA_COMPAT: 'off' })).ld, '<unset>');
      const bad = run(appServe, ['serve'], env('470.256.02', { RERANKER_CUDA_COMPAT: 'maybe' }));
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /RERANKER_CUDA_COMPAT must be auto, on or off/);
    });
  });
});
