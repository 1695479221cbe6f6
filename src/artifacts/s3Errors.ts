/**
 * S3 failures as one line each: what was tried (operation, URI, endpoint) and what to fix.
 * SageMaker shows the process's last line in CloudWatch, so the line has to stand on its own.
 * Nothing here prints credentials: only the names of the settings that hold them.
 */
import { AppError } from '../errors';

export interface S3ErrorContext {
  /** ListObjectsV2, HeadObject, GetObject, PutObject, ... */
  readonly op: string;
  readonly uri: string;
  readonly bucket: string;
  /** Key or prefix the operation was about. */
  readonly key?: string;
  /** describeEndpoint(): where the request went. */
  readonly endpoint: string;
  readonly write?: boolean;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'TimeoutError', 'RequestTimeout', 'RequestTimeTooSkewed',
]);

/** The S3 error code (NoSuchKey, AccessDenied, ...) or the Node/network error code. */
export function errorCode(e: unknown): string | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const o = e as { Code?: unknown; code?: unknown; name?: unknown };
  for (const v of [o.Code, o.code, o.name]) if (typeof v === 'string' && v !== 'Error' && v !== 'S3ServiceException') return v;
  return undefined;
}

export function httpStatus(e: unknown): number | undefined {
  const s = (e as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}

export function isNetworkError(e: unknown): boolean {
  const code = errorCode(e);
  if (code !== undefined && NETWORK_CODES.has(code)) return true;
  const cause = (e as { cause?: unknown } | undefined)?.cause;
  if (cause && cause !== e && isNetworkError(cause)) return true;
  const msg = e instanceof Error ? e.message : '';
  return /socket hang up|premature close|aborted|ECONNRESET|ECONNREFUSED/i.test(msg);
}

/** Worth trying again: the network, a throttle, or a server-side 5xx. */
export function isRetryable(e: unknown): boolean {
  if ((e as { retryable?: unknown } | undefined)?.retryable === true) return true;
  const status = httpStatus(e);
  if (status !== undefined && (status >= 500 || status === 408 || status === 429)) return true;
  const code = errorCode(e);
  if (code === 'SlowDown' || code === 'InternalError' || code === 'ServiceUnavailable') return true;
  return isNetworkError(e);
}

function redirectRegion(e: unknown): string | undefined {
  const o = e as { Region?: unknown; $response?: { headers?: Record<string, string> } };
  if (typeof o.Region === 'string') return o.Region;
  return o.$response?.headers?.['x-amz-bucket-region'];
}

export function s3Error(e: unknown, ctx: S3ErrorContext): AppError {
  if (e instanceof AppError) return e;
  const code = errorCode(e) ?? 'UnknownError';
  const status = httpStatus(e);
  const what = `${ctx.op} ${ctx.uri} (${status !== undefined ? `HTTP ${status} ` : ''}${code}, endpoint ${ctx.endpoint})`;
  const arnKey = `arn:aws:s3:::${ctx.bucket}/${ctx.key ?? ''}*`;
  const perms = ctx.write
    ? `s3:PutObject on ${arnKey}`
    : `s3:ListBucket on arn:aws:s3:::${ctx.bucket} and s3:GetObject on ${arnKey} (plus kms:Decrypt if the objects use SSE-KMS)`;
  let msg: string;
  switch (code) {
    case 'NoSuchBucket':
      msg = `S3 bucket "${ctx.bucket}" does not exist: ${what}. Check the bucket name in the URI, and AWS_ENDPOINT_URL_S3 if you use an S3-compatible store.`;
      break;
    case 'NoSuchKey':
    case 'NotFound':
      msg = `S3 object does not exist: ${what}. Check the URI: a model.tar.gz must be named by its full key; a folder must be given as s3://bucket/prefix/.`;
      break;
    case 'InvalidAccessKeyId':
      msg = `S3 does not recognise the access key in use: ${what}. Fix AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or unset them so the container uses its IAM role.`;
      break;
    case 'SignatureDoesNotMatch':
      msg = `S3 rejected the request signature: ${what}. The secret key does not match the access key: fix AWS_SECRET_ACCESS_KEY (or the profile), or unset them to use the IAM role.`;
      break;
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
    case 'InvalidToken':
      msg = `S3 rejected the session token: ${what}. Refresh the temporary credentials (AWS_SESSION_TOKEN) or use the IAM role.`;
      break;
    case 'AccessDenied':
    case 'Forbidden':
    case 'AllAccessDisabled':
      msg = `S3 denied access: ${what}. The credentials in use (AWS_ACCESS_KEY_ID/AWS_PROFILE, or the SageMaker execution role / instance role) need ${perms}; check bucket policies too.`;
      break;
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException': {
      const region = redirectRegion(e);
      msg = `S3 bucket "${ctx.bucket}" is in another region${region ? ` (${region})` : ''}: ${what}. Set AWS_REGION to the bucket's region${region ? ` (AWS_REGION=${region})` : ''}.`;
      break;
    }
    case 'CredentialsProviderError':
      msg = `no AWS credentials found for ${ctx.op} ${ctx.uri}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or run with an IAM role (the SageMaker execution role).`;
      break;
    default:
      if (status === 403) {
        msg = `S3 denied access: ${what}. The credentials in use need ${perms}.`;
      } else if (status === 301) {
        msg = `S3 bucket "${ctx.bucket}" is in another region: ${what}. Set AWS_REGION to the bucket's region.`;
      } else if (isNetworkError(e)) {
        msg = `cannot reach S3: ${what}. Check network access to S3 (in a SageMaker VPC: an S3 VPC endpoint or NAT; with network isolation the container cannot reach S3, so let SageMaker place the model in /opt/ml/model via ModelDataUrl), or AWS_ENDPOINT_URL_S3.`;
      } else {
        const detail = e instanceof Error && e.message && e.message !== code ? `: ${e.message}` : '';
        msg = `S3 request failed: ${what}${detail}`;
      }
  }
  return new AppError('Artifact', msg, { cause: e });
}
