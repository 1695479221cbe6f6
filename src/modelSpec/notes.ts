/**
 * Collects, while the spec is decided, which file and field decided each value (evidence) and the
 * conflicts noticed on the way (warnings). One instance per buildSpec call.
 */
import type { Evidence } from './types';

export class Notes {
  readonly evidence: Evidence[] = [];
  readonly warnings: string[] = [];

  /** Records the source that decided `field`. */
  decide(field: string, value: unknown, source: string): void {
    this.evidence.push({ field, value, source });
  }

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }
}

/** How evidence names the graph: 'onnx:model.onnx'. */
export function onnxSource(onnxFile: string | undefined): string {
  return `onnx:${onnxFile ?? 'model.onnx'}`;
}

export function formatDims(dims: ReadonlyArray<number | string>): string {
  return `[${dims.join(',')}]`;
}
