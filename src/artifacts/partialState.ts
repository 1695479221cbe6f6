/**
 * What an interrupted download already has on disk, so a retry or a restart fetches only the rest.
 * Bytes are recorded only after the write stream has handed them to the file system, and the file
 * is written with an atomic rename, so a crash leaves either the old or the new state.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';

export interface ObjectProgress {
  etag: string;
  size: number;
  /** Range start offsets used when the file was started; another layout starts the file over. */
  starts: number[];
  /** Bytes on disk from the start of each range. */
  done: number[];
  verified: boolean;
}

interface StateFile {
  version: 1;
  uri: string;
  objects: Record<string, ObjectProgress>;
}

/** Progress of a running download is saved at most this often; failures save at once. */
const SAVE_INTERVAL_MS = 1000;

export class PartialState {
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly file: string,
    private readonly data: StateFile,
  ) {}

  /** Loads the state of `uri`; any other URI's or an unreadable state starts empty. */
  static load(file: string, uri: string): PartialState {
    let data: StateFile = { version: 1, uri, objects: {} };
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StateFile>;
      if (parsed.version === 1 && parsed.uri === uri && parsed.objects && typeof parsed.objects === 'object') data = parsed as StateFile;
    } catch {
      // missing or torn: start over
    }
    return new PartialState(file, data);
  }

  get(key: string): ObjectProgress | undefined {
    return this.data.objects[key];
  }

  keys(): string[] {
    return Object.keys(this.data.objects);
  }

  set(key: string, p: ObjectProgress): Promise<void> {
    this.data.objects[key] = p;
    return this.save();
  }

  delete(key: string): Promise<void> {
    delete this.data.objects[key];
    return this.save();
  }

  /** Saves within a second; a crash loses at most that much progress, which is then fetched again. */
  saveSoon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.save().catch(() => undefined);
    }, SAVE_INTERVAL_MS);
    this.timer.unref();
  }

  /** Serialized: each save writes the latest snapshot after the previous one lands. */
  save(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const run = async (): Promise<void> => {
      const tmp = `${this.file}.tmp`;
      await fsp.writeFile(tmp, JSON.stringify(this.data));
      await fsp.rename(tmp, this.file);
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }
}
