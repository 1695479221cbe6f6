/** Public surface of spec/: read a folder, decide the spec, render it for `reranker inspect`. */
export { buildSpec } from './buildSpec';
export { readModelFiles, type ReadModelFilesOptions } from './readModelFiles';
export { readOnnxGraph, parseOnnxGraph } from './onnxGraph';
export { inspectModel, type InspectOptions, type InspectResult } from './inspect';
export * from './types';
