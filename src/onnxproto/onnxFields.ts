/**
 * Field numbers of the ONNX messages that src reads (onnxRead.ts) or writes (onnxEncode.ts, the
 * rewrites), and the enum values they use, as onnx/onnx.proto defines them (stable since IR
 * version 3). The one place these numbers are spelled; fields not listed are copied or skipped.
 */

/** ModelProto */
export const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, graph: 7, opsetImport: 8, metadataProps: 14 } as const;

/** OperatorSetIdProto */
export const OPSET = { domain: 1, version: 2 } as const;

/** StringStringEntryProto (ModelProto.metadata_props, TensorProto.external_data) */
export const ENTRY = { key: 1, value: 2 } as const;

/** GraphProto */
export const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13, sparseInitializer: 15 } as const;

/** NodeProto */
export const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;

/** AttributeProto */
export const ATTRIBUTE = { name: 1, f: 2, i: 3, s: 4, g: 6, ints: 8, graphs: 11, type: 20 } as const;

/** AttributeProto.AttributeType */
export const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

/** TensorProto */
export const TENSOR = { dims: 1, dataType: 2, floatData: 4, name: 8, rawData: 9, externalData: 13, dataLocation: 14 } as const;

/** TensorProto.DataLocation */
export const DATA_LOCATION = { DEFAULT: 0, EXTERNAL: 1 } as const;

/** TensorProto.DataType codes used in src (modelSpec/onnxGraph.ts names them all). */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, FLOAT16: 10, DOUBLE: 11, BFLOAT16: 16 } as const;

/** SparseTensorProto */
export const SPARSE_TENSOR = { values: 1, dims: 3 } as const;

/** ValueInfoProto */
export const VALUE_INFO = { name: 1, type: 2 } as const;

/** TypeProto: tensor_type, and the other kinds of value by field number. */
export const TYPE = { tensorType: 1, sequenceType: 4, mapType: 5, sparseTensorType: 8, optionalType: 9 } as const;

/** TypeProto.Tensor */
export const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;

/** TensorShapeProto (dim) and TensorShapeProto.Dimension (dim_value | dim_param) */
export const SHAPE = { dim: 1 } as const;
export const DIMENSION = { dimValue: 1, dimParam: 2 } as const;
