/**
 * A minimal protobuf wire-format writer, the counterpart of wireReader.ts (the reader).
 * It builds a message as a list of chunks, so large payloads (tensor raw_data, unchanged fields
 * copied verbatim from a source model) are referenced, not copied, until finish() joins them once.
 * Shared by every ONNX rewriter in src (quantize/, and any graph surgery that needs to write a model).
 */
import { WIRE_I32, WIRE_LEN, WIRE_VARINT } from './wireReader';

export class WireWriter {
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  private size = 0;

  /** Total bytes written so far. */
  get length(): number {
    return this.size + this.pending.length;
  }

  private flushPending(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(Uint8Array.from(this.pending));
    this.size += this.pending.length;
    this.pending = [];
  }

  /** Unsigned varint of a non-negative safe integer (field numbers, lengths, enum values, dims). */
  varint(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint needs a non-negative safe integer, got ${n}`);
    let v = n;
    while (v >= 0x80) {
      this.pending.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.pending.push(v);
    return this;
  }

  /** int64 varint: negative values take ten bytes of two's complement, as protobuf writes them. */
  int64(n: number): this {
    if (n >= 0) return this.varint(n);
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 0x80n) {
      this.pending.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.pending.push(Number(v));
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  /** Raw bytes, appended by reference (do not change them before finish()). */
  raw(bytes: Uint8Array): this {
    this.flushPending();
    if (bytes.length) this.chunks.push(bytes);
    this.size += bytes.length;
    return this;
  }

  bytesField(field: number, bytes: Uint8Array): this {
    return this.tag(field, WIRE_LEN).varint(bytes.length).raw(bytes);
  }

  stringField(field: number, s: string): this {
    return this.bytesField(field, Buffer.from(s, 'utf8'));
  }

  varintField(field: number, n: number): this {
    return this.tag(field, WIRE_VARINT).int64(n);
  }

  floatField(field: number, x: number): this {
    const b = Buffer.alloc(4);
    b.writeFloatLE(x, 0);
    return this.tag(field, WIRE_I32).raw(b);
  }

  /** A nested message, written as a length-delimited field. */
  messageField(field: number, inner: WireWriter): this {
    this.tag(field, WIRE_LEN).varint(inner.length);
    inner.flushPending();
    for (const c of inner.chunks) this.raw(c);
    return this;
  }

  /** Repeated int64 in packed form (proto3's default, what onnx writes for dims and ints). */
  packedInt64Field(field: number, values: readonly number[]): this {
    const inner = new WireWriter();
    for (const v of values) inner.int64(v);
    return this.messageField(field, inner);
  }

  finish(): Buffer {
    this.flushPending();
    return Buffer.concat(this.chunks, this.size);
  }
}
