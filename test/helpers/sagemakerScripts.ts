/**
 * Runs the SageMaker user scripts as users do (the compiled .js under dist, or the .ts through tsx
 * when tests run from source), with no AWS credentials or region: a dry run must not need them.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './paths';

export type ScriptName = 'deploy' | 'invoke' | 'batch-transform' | 'teardown' | 'local-transform';

const FROM_SOURCE = __filename.endsWith('.ts');

function argvFor(name: ScriptName): string[] {
  return FROM_SOURCE ? ['--import', 'tsx', path.join(ROOT, 'scripts/sagemaker', `${name}.ts`)] : [path.join(ROOT, 'dist/scripts/sagemaker', `${name}.js`)];
}

const bareEnv = (): Record<string, string> => ({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: os.tmpdir() });

export function runScript(name: ScriptName, args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...argvFor(name), ...args], { cwd: ROOT, env: { ...bareEnv(), ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same without blocking this process (needed when the script talks to a server in this process). */
export async function runScriptAsync(name: ScriptName, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...argvFor(name), ...args], { cwd: ROOT, env: { ...bareEnv(), ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { status, stdout, stderr };
}

export function dryRun(name: ScriptName, args: string[]): Array<{ command: string; input: Record<string, unknown> }> {
  const r = runScript(name, [...args, '--dry-run']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Array<{ command: string; input: Record<string, unknown> }>;
}
