/**
 * Decides how a downloaded object can be verified, from what S3 says about it:
 *  - plain ETag (32 hex) of an object without SSE-KMS/SSE-C: it is the MD5 of the content;
 *  - multipart ETag "<hex>-N": recomputed from the file when HeadObject(PartNumber=1) shows equal
 *    parts (ceil(size / part 1 size) = N), which is what the CLI, SDKs and lib-storage produce;
 *  - otherwise a full-object S3 checksum (SHA-256, SHA-1, CRC32) when the object has one;
 *  - otherwise size only (and each ranged response's size, Content-Range and ETag).
 */
import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { describeDigest, type DigestSpec } from './digest';

export interface VerifyPlan {
  readonly spec?: DigestSpec;
  /** Expected digest, in createDigester()'s encoding. */
  readonly expected?: string;
  /** For logs and errors: what is checked. */
  readonly describe: string;
}

export function normalizeEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/"/g, '').toLowerCase();
}

export function multipartCount(etag: string): number | undefined {
  const m = /^[0-9a-f]{32}-(\d+)$/.exec(normalizeEtag(etag));
  return m ? Number(m[1]) : undefined;
}

type Head = Pick<HeadObjectCommandOutput, 'ServerSideEncryption' | 'SSECustomerAlgorithm' | 'ChecksumSHA256' | 'ChecksumSHA1' | 'ChecksumCRC32' | 'ChecksumType'>;

/**
 * @param head HeadObject with ChecksumMode ENABLED.
 * @param part1Size ContentLength of HeadObject(PartNumber=1), asked only for multipart ETags.
 */
export function planVerification(etag: string, size: number, head: Head, part1Size?: number): VerifyPlan {
  const e = normalizeEtag(etag);
  // With SSE-KMS or SSE-C the ETag is not derived from the plaintext.
  const opaqueEtag = (head.ServerSideEncryption ?? '').startsWith('aws:kms') || head.SSECustomerAlgorithm !== undefined;
  if (!opaqueEtag && /^[0-9a-f]{32}$/.test(e)) return plan({ algo: 'md5' }, e);
  const parts = multipartCount(e);
  if (!opaqueEtag && parts !== undefined && part1Size !== undefined && part1Size > 0 && Math.max(1, Math.ceil(size / part1Size)) === parts) {
    return plan({ algo: 'multipart-md5', partSize: part1Size }, e);
  }
  // Composite checksums ("...-N") need every part's boundary; only full-object ones are usable here.
  const composite = head.ChecksumType === 'COMPOSITE';
  const full = (v: string | undefined): v is string => v !== undefined && !composite && !v.includes('-');
  if (full(head.ChecksumSHA256)) return plan({ algo: 'sha256' }, head.ChecksumSHA256);
  if (full(head.ChecksumSHA1)) return plan({ algo: 'sha1' }, head.ChecksumSHA1);
  if (full(head.ChecksumCRC32)) return plan({ algo: 'crc32' }, head.ChecksumCRC32);
  return { describe: `size only (${opaqueEtag ? 'the ETag of an SSE-KMS/SSE-C object is not an MD5' : 'no MD5 ETag or full-object checksum'})` };
}

function plan(spec: DigestSpec, expected: string): VerifyPlan {
  return { spec, expected, describe: describeDigest(spec) };
}
