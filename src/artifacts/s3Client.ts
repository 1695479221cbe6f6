/**
 * The one place S3 clients are made. Credentials always come from the SDK's default chain
 * (environment, shared profile, web identity, ECS/EC2/SageMaker role): nothing custom, nothing logged.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3Options } from '../config';

/** Region used when none is configured; followRegionRedirects finds the bucket's real region. */
export const FALLBACK_REGION = 'us-east-1';

export function createS3Client(s3: S3Options, overrides: Partial<S3ClientConfig> = {}): S3Client {
  const custom = s3.endpoint !== undefined;
  const sockets = Math.max(50, s3.objectConcurrency * s3.rangeConcurrency + 8);
  const agent = { keepAlive: true, maxSockets: sockets };
  return new S3Client({
    region: s3.region ?? FALLBACK_REGION,
    // A bucket in another region answers 301/PermanentRedirect; the SDK then retries there.
    followRegionRedirects: true,
    ...(custom ? { endpoint: s3.endpoint } : {}),
    forcePathStyle: s3.forcePathStyle,
    // On AWS the defaults add CRC checksums to uploads (S3 verifies them) and validate whole-object
    // GETs. S3-compatible stores (MinIO versions, Ceph, s3rver) mishandle the aws-chunked trailer
    // the default uses for streamed uploads and store the framing inside the object, so with a
    // custom endpoint checksums are sent and checked only where an operation requires them.
    ...(custom ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    requestHandler: {
      connectionTimeout: 10_000,
      // A stalled body (no bytes for this long) fails and the download resumes from what it has.
      socketTimeout: 60_000,
      httpAgent: agent,
      httpsAgent: agent,
    },
    ...overrides,
  });
}

/** Where requests go, for error messages: never contains credentials. */
export function describeEndpoint(s3: S3Options): string {
  if (s3.endpoint === undefined) return `AWS S3 (region ${s3.region ?? `${FALLBACK_REGION}, not configured`})`;
  try {
    const u = new URL(s3.endpoint);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'the configured S3 endpoint';
  }
}
