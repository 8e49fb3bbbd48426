// Whole-tensor encoding and decoding by ggml type: the entry points for test fixtures, the model exporter and the
// float64 references. Rows are ggml rows: `cols` contiguous elements, cols a multiple of the type's block size.
import { ShapeError } from '../errors';
import { GgmlType, ggmlTensorBytes, ggmlTypeInfo } from '../model/ggmlTypes';
import { bf16Format, f16Format, f32Format } from './float';
import type { WeightFormat } from './format';
import { q4_0Format } from './q4_0';
import { q4kFormat } from './q4k';
import { q6kFormat } from './q6k';
import { q8_0Format } from './q8_0';

const formats: Readonly<Record<GgmlType, WeightFormat>> = {
  [GgmlType.F32]: f32Format,
  [GgmlType.F16]: f16Format,
  [GgmlType.BF16]: bf16Format,
  [GgmlType.Q8_0]: q8_0Format,
  [GgmlType.Q4_0]: q4_0Format,
  [GgmlType.Q4_K]: q4kFormat,
  [GgmlType.Q6_K]: q6kFormat,
};

/** The format module of `type`. */
export function weightFormat(type: GgmlType): WeightFormat {
  return formats[type];
}

/** Throws a ShapeError unless rows of `cols` elements are whole blocks of `type`. */
export function checkRowShape(what: string, type: GgmlType, rows: number, cols: number): void {
  const { name, blockSize } = ggmlTypeInfo[type];
  if (!(Number.isInteger(rows) && rows >= 1 && Number.isInteger(cols) && cols >= 1)) {
    throw new ShapeError(`${what}: rows (${rows}) and cols (${cols}) must be integers >= 1`);
  }
  if (cols % blockSize !== 0) {
    throw new ShapeError(`${what}: ${name} rows are whole blocks of ${blockSize}: cols % ${blockSize} must be 0, cols = ${cols}`);
  }
}

/** ggml bytes of a (rows, cols) tensor of `values` (row-major) encoded as `type`. */
export function quantizeRows(type: GgmlType, values: ArrayLike<number>, rows: number, cols: number): Uint8Array {
  checkRowShape('quantizeRows', type, rows, cols);
  if (values.length !== rows * cols) throw new ShapeError(`quantizeRows: ${values.length} values given, rows*cols = ${rows * cols}`);
  const rowBytes = ggmlTensorBytes(type, cols);
  const out = new Uint8Array(rows * rowBytes);
  const format = formats[type];
  for (let r = 0; r < rows; r++) format.encode(values, r * cols, cols, out, r * rowBytes);
  return out;
}

/** The exact float64 values of a (rows, cols) tensor of ggml `bytes` of `type`: the reference for every kernel. */
export function dequantizeRows(type: GgmlType, bytes: Uint8Array, rows: number, cols: number): Float64Array {
  checkRowShape('dequantizeRows', type, rows, cols);
  const rowBytes = ggmlTensorBytes(type, cols);
  if (bytes.byteLength < rows * rowBytes) {
    throw new ShapeError(`dequantizeRows: ${bytes.byteLength} bytes given, rows*rowBytes = ${rows}*${rowBytes} = ${rows * rowBytes}`);
  }
  const out = new Float64Array(rows * cols);
  const format = formats[type];
  for (let r = 0; r < rows; r++) format.decode(bytes, r * rowBytes, cols, out, r * cols);
  return out;
}
