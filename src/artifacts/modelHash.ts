/**
 * SHA-256 of the model's ONNX file, hashed in the download verifier's worker thread (fileHasher.ts)
 * so a multi-GB file does not block the event loop while the engine starts. The result cache keys
 * on it and /info shows it, so a cached score can only come from these exact weights.
 */
import fsp from 'node:fs/promises';
import { FileHasher } from './fileHasher';

export async function sha256OfFile(file: string): Promise<string> {
  const { size } = await fsp.stat(file);
  const hasher = new FileHasher();
  try {
    const job = hasher.start(file, { algo: 'sha256' });
    job.advance(size);
    // The digester speaks S3's checksum encoding (base64); hex is what people compare with sha256sum.
    return Buffer.from(await job.finish(), 'base64').toString('hex');
  } finally {
    await hasher.close();
  }
}
