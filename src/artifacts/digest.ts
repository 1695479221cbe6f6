/**
 * Sequential digests of a file, in the encodings S3 reports them: MD5 hex (plain ETag),
 * multipart ETag (MD5 of the parts' MD5s, "-N"), and full-object SHA-256 / SHA-1 / CRC32 checksums
 * (base64). Pure and synchronous, so the hash worker and tests share it.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';

export type DigestSpec =
  | { readonly algo: 'md5' }
  | { readonly algo: 'multipart-md5'; readonly partSize: number }
  | { readonly algo: 'sha256' }
  | { readonly algo: 'sha1' }
  | { readonly algo: 'crc32' };

export interface Digester {
  update(chunk: Buffer): void;
  /** Hex for md5, "<hex>-<parts>" for multipart-md5, base64 for the S3 checksums. */
  digest(): string;
}

export function createDigester(spec: DigestSpec): Digester {
  switch (spec.algo) {
    case 'md5':
      return hashDigester('md5', 'hex');
    case 'sha256':
    case 'sha1':
      return hashDigester(spec.algo, 'base64');
    case 'crc32':
      return crc32Digester();
    case 'multipart-md5':
      return multipartDigester(spec.partSize);
  }
}

function hashDigester(algo: string, enc: 'hex' | 'base64'): Digester {
  const h = crypto.createHash(algo);
  return { update: (c) => void h.update(c), digest: () => h.digest(enc) };
}

function crc32Digester(): Digester {
  const crc32 = (zlib as unknown as { crc32?: (data: Buffer, value?: number) => number }).crc32;
  if (!crc32) throw new Error('zlib.crc32 is not available in this Node version');
  let value = 0;
  return {
    update: (c) => void (value = crc32(c, value)),
    digest: () => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(value >>> 0);
      return b.toString('base64');
    },
  };
}

/** Every part but the last has partSize bytes: what the AWS CLI, SDKs and lib-storage upload. */
function multipartDigester(partSize: number): Digester {
  const parts: Buffer[] = [];
  let cur = crypto.createHash('md5');
  let inPart = 0;
  return {
    update(chunk) {
      let off = 0;
      while (off < chunk.length) {
        const take = Math.min(partSize - inPart, chunk.length - off);
        cur.update(chunk.subarray(off, off + take));
        off += take;
        inPart += take;
        if (inPart === partSize) {
          parts.push(cur.digest());
          cur = crypto.createHash('md5');
          inPart = 0;
        }
      }
    },
    digest() {
      if (inPart > 0 || parts.length === 0) parts.push(cur.digest());
      return `${crypto.createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}`;
    },
  };
}

export function describeDigest(spec: DigestSpec): string {
  return spec.algo === 'multipart-md5' ? `multipart ETag (parts of ${spec.partSize} bytes)` : spec.algo === 'md5' ? 'MD5 (ETag)' : `S3 checksum ${spec.algo.toUpperCase()}`;
}
