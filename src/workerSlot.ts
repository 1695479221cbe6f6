/**
 * One worker thread kept running: the crash-and-restart half of the worker primitive (workerThread.ts
 * starts a worker; this keeps one alive). The inference pool and the tokenizer pool each own N slots;
 * the file hasher (one worker per download, never restarted) uses startWorker alone.
 *
 * A slot starts its worker through the caller's factory (startWorker), and the worker is ready after
 * its first message, the handshake (a ready reply, or an init error that ends the start). Tasks go out
 * with an id and come back by id. When the worker dies (a native crash, out of memory, process.exit,
 * an uncaught exception) every task it held fails at once with a 424 Backend error that says what
 * happened and whether it is restarted, and the slot's RestartPolicy decides, in restartDecision()
 * only, whether and after what delay a new worker starts. A crash counts "in a row" until a task
 * succeeds; a replacement that fails to start is a crash too. close() fails the held tasks with the
 * caller's error, stops the worker, and no restart follows it.
 */
import type { TransferListItem } from 'node:worker_threads';
import { AppError } from './errors';
import type { TypedWorker } from './workerThread';

export interface RestartPolicy {
  /** At this many crashes in a row (no task succeeded in between) the slot stops restarting; Infinity: never. */
  readonly maxCrashes: number;
  /** Delay before the restart after crash n in a row (n >= 1), ms. */
  readonly backoffMs: (crashesInARow: number) => number;
}

export type RestartDecision = { readonly restart: true; readonly delayMs: number } | { readonly restart: false };

/** What a slot does after crash n in a row: the one place a policy is read. */
export function restartDecision(policy: RestartPolicy, crashesInARow: number): RestartDecision {
  if (crashesInARow >= policy.maxCrashes) return { restart: false };
  return { restart: true, delayMs: Math.max(0, policy.backoffMs(crashesInARow)) };
}

/** The first restart in a row at once, then firstMs, 2 x firstMs, ... at most maxMs. */
export function doublingBackoff(firstMs: number, maxMs: number): (crashesInARow: number) => number {
  return (n) => (n <= 1 ? 0 : Math.min(maxMs, firstMs * 2 ** (n - 2)));
}

/** A later message of the worker read as the answer to task `id`; undefined: not an answer. */
export type SlotReply = { readonly id: number; readonly value: unknown } | { readonly id: number; readonly error: Error };

/** What happens to a slot, for the owner's logs, metrics and state. */
export type SlotEvent<Out> =
  /** The worker answered its handshake; restarts is 0 for the first start. */
  | { readonly type: 'ready'; readonly reply: Out; readonly restarts: number }
  /** An uncaught exception in the worker (its exit follows). */
  | { readonly type: 'error'; readonly error: Error }
  /** The worker died or a replacement failed to start; a new one starts after delayMs. */
  | { readonly type: 'crash'; readonly reason: string; readonly crashesInARow: number; readonly delayMs: number }
  /** A replacement is being started now (restarts counts it). */
  | { readonly type: 'restarting'; readonly restarts: number }
  /** The policy's maxCrashes was reached: no worker runs in this slot again. */
  | { readonly type: 'gave-up'; readonly reason: string; readonly crashesInARow: number };

export interface WorkerSlotOptions<In, Out> {
  /** 'inference worker', 'tokenizer worker': in error messages. */
  readonly name: string;
  /** What a task is called in the crash error: 'batch', 'task'. */
  readonly taskNoun: string;
  /** Starts a new worker (startWorker with the caller's file, script and workerData). */
  readonly start: () => TypedWorker<In>;
  /** Reads the worker's first message: undefined when it is ready, or the error that ends its start. */
  readonly handshake: (first: Out) => Error | undefined;
  /** Reads a later message as a task's answer. */
  readonly reply: (msg: Out) => SlotReply | undefined;
  readonly policy: RestartPolicy;
  /** How close() stops a ready worker: a message it answers by exiting, and the time it gets before terminate(). Default: terminate() at once. */
  readonly stop?: { readonly message: In; readonly graceMs: number };
  /** The error of tasks still held (or a start still running) when close() is called. */
  readonly closedError: () => Error;
  readonly onEvent?: (e: SlotEvent<Out>) => void;
}

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

type State = 'new' | 'starting' | 'ready' | 'waiting' | 'gave-up' | 'closed';

export class WorkerSlot<In, Out> {
  private state: State = 'new';
  /** The running (or starting) worker; undefined once it died, was given up or closed. */
  private worker: TypedWorker<In> | undefined;
  private readonly held = new Map<number, Pending>();
  private nextId = 1;
  private crashes = 0;
  private restartCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private gaveUpReason: string | undefined;

  constructor(private readonly opts: WorkerSlotOptions<In, Out>) {}

  /** The first start: resolves with the handshake reply, or rejects with its error (and nothing restarts it). */
  async start(): Promise<Out> {
    if (this.state !== 'new') throw new Error(`${this.opts.name} slot already started`);
    try {
      return await this.launch();
    } catch (e) {
      if ((this.state as State) !== 'closed') this.state = 'gave-up';
      throw e;
    }
  }

  /** Ready and accepting tasks. */
  get live(): boolean {
    return this.state === 'ready';
  }

  /** Tasks sent and not yet answered. */
  get inFlight(): number {
    return this.held.size;
  }

  /** Replacements started since the first start. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Why the slot gave up restarting (the last crash), or undefined. */
  get failure(): string | undefined {
    return this.gaveUpReason;
  }

  /** Sends a task; resolves with its answer, or rejects with its error or the crash or close error. */
  request(message: (id: number) => In, transfer?: readonly TransferListItem[]): Promise<unknown> {
    const w = this.worker;
    if (this.state !== 'ready' || !w) return Promise.reject(new AppError('Unhealthy', `the ${this.opts.name} is not running`));
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      this.held.set(id, { resolve, reject });
      w.postMessage(message(id), transfer);
    });
  }

  /** Fails the held tasks, stops the worker (waiting for its exit) and cancels any restart. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.failHeld(this.opts.closedError());
    const w = this.worker;
    this.worker = undefined;
    if (!w || w.threadId < 0) return; // none, or it has exited
    const stop = this.opts.stop;
    if (!wasReady || !stop) {
      await w.terminate();
      return;
    }
    const exited = new Promise((r) => w.once('exit', r));
    w.postMessage(stop.message);
    const timer = setTimeout(() => void w.terminate(), stop.graceMs);
    await exited;
    clearTimeout(timer);
  }

  private emit(e: SlotEvent<Out>): void {
    this.opts.onEvent?.(e);
  }

  private failHeld(e: Error): void {
    const held = [...this.held.values()];
    this.held.clear();
    for (const p of held) p.reject(e);
  }

  /** Starts a worker; resolves once it answered its handshake. */
  private launch(): Promise<Out> {
    const { name } = this.opts;
    const worker = this.opts.start();
    this.worker = worker;
    this.state = 'starting';
    let lastError: string | undefined;
    let started = false;
    return new Promise<Out>((resolve, reject) => {
      worker.on('message', (msg: Out) => {
        if (this.worker !== worker) return;
        if (!started) {
          started = true;
          const e = this.state === 'closed' ? this.opts.closedError() : this.opts.handshake(msg);
          if (e) {
            this.worker = undefined;
            void worker.terminate();
            reject(e);
            return;
          }
          this.state = 'ready';
          resolve(msg);
          this.emit({ type: 'ready', reply: msg, restarts: this.restartCount });
          return;
        }
        const r = this.opts.reply(msg);
        const p = r && this.held.get(r.id);
        if (!r || !p) return;
        this.held.delete(r.id);
        if ('error' in r) {
          p.reject(r.error);
        } else {
          this.crashes = 0;
          p.resolve(r.value);
        }
      });
      worker.on('error', (e) => {
        lastError = e.message;
        this.emit({ type: 'error', error: e });
      });
      worker.on('exit', (code) => {
        if (!started) {
          started = true;
          if (this.worker === worker) this.worker = undefined;
          reject(this.state === 'closed' ? this.opts.closedError() : new AppError('Model', `the ${name} exited (code ${code}) while starting${lastError ? `: ${lastError}` : ''}`));
          return;
        }
        if (this.worker !== worker) return; // stopped after a failed handshake, or by close()
        this.worker = undefined;
        this.crashed(code, lastError);
      });
    });
  }

  /** A ready worker died: fail its tasks with a message that says what happens next, then restart or give up. */
  private crashed(code: number, lastError: string | undefined): void {
    this.crashes++;
    const decision = restartDecision(this.opts.policy, this.crashes);
    const next = decision.restart ? 'it is being restarted and the request can be retried' : `it crashed ${this.crashes} times in a row and is not restarted again`;
    this.failHeld(new AppError('Backend', `the ${this.opts.name} running this ${this.opts.taskNoun} exited (code ${code}${lastError ? `: ${lastError}` : ''}); ${next}`));
    this.follow(decision, `exited with code ${code}${lastError ? ` (${lastError})` : ''}`);
  }

  private follow(decision: RestartDecision, reason: string): void {
    if (!decision.restart) {
      this.state = 'gave-up';
      this.gaveUpReason = reason;
      this.emit({ type: 'gave-up', reason, crashesInARow: this.crashes });
      return;
    }
    this.state = 'waiting';
    this.emit({ type: 'crash', reason, crashesInARow: this.crashes, delayMs: decision.delayMs });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state !== 'waiting') return;
      this.restartCount++;
      this.emit({ type: 'restarting', restarts: this.restartCount });
      this.launch().catch((e: unknown) => {
        if (this.state === 'closed') return;
        this.crashes++;
        this.follow(restartDecision(this.opts.policy, this.crashes), e instanceof Error ? e.message : String(e));
      });
    }, decision.delayMs);
  }
}
