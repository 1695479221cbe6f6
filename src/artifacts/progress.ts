/**
 * Progress of one model download: a log line every few seconds (bytes, MB/s, ETA) and the
 * download metrics on the shared registry.
 */
import type { Logger } from '../log';
import { counter, gauge, histogram } from '../metrics';

export const downloadBytes = counter('reranker_model_download_bytes_total', 'Bytes of model artifacts downloaded from S3');
export const downloadRetries = counter('reranker_model_download_retries_total', 'Retries of model artifact downloads after a failed attempt');
export const downloadSeconds = histogram('reranker_model_download_seconds', 'Wall time of model artifact downloads (listing to verified files)', [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800]);
export const downloadProgress = gauge('reranker_model_download_progress_ratio', 'Fraction of the current model download on disk (0..1)');

const MB = 1024 * 1024;

export class Progress {
  private done = 0;
  private fetched = 0;
  private readonly started = Date.now();
  private lastWriteAt = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly log: Logger,
    private readonly intervalMs = 5000,
  ) {}

  start(): void {
    downloadProgress.set(this.total === 0 ? 1 : this.done / this.total);
    this.timer = setInterval(() => this.report(), this.intervalMs);
    this.timer.unref();
  }

  /** Bytes already on disk from an earlier attempt: count toward done, not toward speed. */
  resumed(n: number): void {
    this.done += n;
  }

  /** Bytes written from the network just now. */
  add(n: number): void {
    this.lastWriteAt = Date.now();
    this.done += n;
    this.fetched += n;
    downloadBytes.inc(n);
  }

  /** Bytes thrown away (a file that failed verification and starts over). */
  discard(n: number): void {
    this.done -= n;
  }

  get fetchedBytes(): number {
    return this.fetched;
  }

  /** Seconds from the start to the last byte written (verification may end later). */
  get transferSeconds(): number {
    return (this.lastWriteAt - this.started) / 1000;
  }

  stop(): { seconds: number; mbPerSec: number } {
    if (this.timer) clearInterval(this.timer);
    const seconds = (Date.now() - this.started) / 1000;
    downloadProgress.set(1);
    return { seconds, mbPerSec: seconds > 0 ? this.fetched / MB / seconds : 0 };
  }

  private report(): void {
    const secs = (Date.now() - this.started) / 1000;
    const rate = secs > 0 ? this.fetched / secs : 0;
    const left = Math.max(0, this.total - this.done);
    downloadProgress.set(this.total === 0 ? 1 : this.done / this.total);
    this.log.info(
      `downloading ${this.label}: ${(this.done / MB).toFixed(1)}/${(this.total / MB).toFixed(1)} MB (${this.total ? Math.floor((100 * this.done) / this.total) : 100}%), ${(rate / MB).toFixed(1)} MB/s, ETA ${rate > 0 ? `${Math.ceil(left / rate)}s` : 'unknown'}`,
      { bytes: this.done, total: this.total, mbPerSec: Number((rate / MB).toFixed(2)) },
    );
  }
}
