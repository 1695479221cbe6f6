/**
 * A minimal protobuf wire-format reader, just enough to walk an ONNX ModelProto without a schema
 * library at runtime (onnxRead.ts walks the ONNX messages with it; wireWriter.ts is the writer). It
 * reads through a ByteSource so a model of hundreds of MB is never loaded whole: length-delimited
 * fields we do not need (tensor raw_data, float_data, ...) are skipped by moving the cursor, without
 * reading or copying their bytes.
 */
import fs from 'node:fs';

/** Random access to the bytes of a protobuf message. */
export interface ByteSource {
  readonly size: number;
  byteAt(pos: number): number;
  /** Bytes [start, end); may be a view into a shared buffer, copy it if you keep it. */
  slice(start: number, end: number): Uint8Array;
}

export function bufferSource(buf: Uint8Array): ByteSource {
  return {
    size: buf.length,
    byteAt(pos) {
      const b = buf[pos];
      if (b === undefined) throw new RangeError(`read past the end of the data at byte ${pos}`);
      return b;
    },
    slice: (start, end) => buf.subarray(start, end),
  };
}

/**
 * Reads a file on demand through one cached window, so parsing the graph touches only the pages
 * that hold graph metadata. Synchronous: start-up work, and each read is small.
 */
export function fileSource(fd: number, size: number, windowBytes = 1 << 16): ByteSource {
  let winStart = 0;
  let win: Buffer = Buffer.alloc(0);
  const load = (start: number, minLen: number): void => {
    const len = Math.min(Math.max(windowBytes, minLen), size - start);
    if (len <= 0 || start < 0) throw new RangeError(`read past the end of the file at byte ${start}`);
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = fs.readSync(fd, buf, got, len - got, start + got);
      if (n === 0) break;
      got += n;
    }
    if (got < len) throw new RangeError(`file ended early at byte ${start + got}`);
    win = buf;
    winStart = start;
  };
  return {
    size,
    byteAt(pos) {
      if (pos < winStart || pos >= winStart + win.length) load(pos, 1);
      return win[pos - winStart] as number;
    },
    slice(start, end) {
      if (start < winStart || end > winStart + win.length) load(start, end - start);
      return win.subarray(start - winStart, end - winStart);
    },
  };
}

/** Wire types (the low three bits of a field's key); the writer uses the same. */
export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const TWO_32 = 2 ** 32;
const TWO_64 = 2n ** 64n;

/** A cursor over one message: [pos, end) of a source. */
export class WireReader {
  pos: number;

  constructor(
    private readonly src: ByteSource,
    start: number,
    readonly end: number,
  ) {
    if (end > src.size) throw new RangeError(`message ends at byte ${end}, past the data (${src.size} bytes)`);
    this.pos = start;
  }

  static whole(src: ByteSource): WireReader {
    return new WireReader(src, 0, src.size);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The next field's number and wire type, or undefined at the end of the message. */
  nextField(): { field: number; wire: number } | undefined {
    if (this.done) return undefined;
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw new RangeError(`invalid field number 0 at byte ${this.pos}`);
    return { field, wire: key % 8 };
  }

  /**
   * A varint as a JS number. int64 values above 2^53 lose precision (no dimension or size is that
   * large); negative int64 values (ten-byte two's complement) come back negative.
   */
  varint(): number {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError('varint runs past the end of its message');
      const b = this.src.byteAt(this.pos++);
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if ((b & 0x80) === 0) {
        const value = (hi >>> 0) * TWO_32 + (lo >>> 0);
        if (hi >>> 0 >= 0x80000000) {
          // Negative int64: recompute exactly with BigInt to avoid float rounding near 2^64.
          return Number((BigInt(hi >>> 0) << 32n) + BigInt(lo >>> 0) - TWO_64);
        }
        return value;
      }
      shift += 7;
    }
    throw new RangeError('varint longer than 10 bytes');
  }

  /** Length of a length-delimited field, checked against the enclosing message. */
  private length(): number {
    const len = this.varint();
    if (len < 0 || this.pos + len > this.end) throw new RangeError(`field length ${len} runs past its message`);
    return len;
  }

  string(): string {
    const len = this.length();
    const s = Buffer.from(this.src.slice(this.pos, this.pos + len)).toString('utf8');
    this.pos += len;
    return s;
  }

  /** The next n bytes (a fixed32 / fixed64 payload); the cursor moves past them. */
  rawBytes(n: number): Uint8Array {
    if (this.pos + n > this.end) throw new RangeError(`${n} bytes run past the end of their message`);
    const b = this.src.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** A fixed32 float (wire type 5). */
  float32(): number {
    return Buffer.from(this.rawBytes(4)).readFloatLE(0);
  }

  /** Where a length-delimited payload lies in the source; the cursor moves past it without reading it. */
  range(): { start: number; end: number } {
    const len = this.length();
    const start = this.pos;
    this.pos += len;
    return { start, end: this.pos };
  }

  /** A nested message as its own reader; the cursor moves past it. */
  message(): WireReader {
    const len = this.length();
    const sub = new WireReader(this.src, this.pos, this.pos + len);
    this.pos += len;
    return sub;
  }

  /** A repeated integer field, accepting both packed (proto3 default) and unpacked encodings. */
  repeatedVarint(wire: number, into: number[]): void {
    if (wire === WIRE_VARINT) {
      into.push(this.varint());
      return;
    }
    if (wire !== WIRE_LEN) throw new RangeError(`unexpected wire type ${wire} for a repeated integer`);
    const sub = this.message();
    while (!sub.done) into.push(sub.varint());
  }

  /** Skips a field of the given wire type without reading its payload. */
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_LEN: {
        // Read the length first: `this.pos += this.length()` would add it to the stale position.
        const len = this.length();
        this.pos += len;
        return;
      }
      case WIRE_I32:
        this.pos += 4;
        break;
      default:
        throw new RangeError(`unsupported wire type ${wire} at byte ${this.pos}`);
    }
    if (this.pos > this.end) throw new RangeError('fixed-size field runs past its message');
  }
}
