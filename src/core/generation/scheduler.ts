/**
 * BatchScheduler: many generation requests on one model, their decode steps run together.
 *
 * Each request goes through the same pipeline as `model.generate` up to its prefill (images, tokens,
 * vision encoder, merge, prefill with batch size 1, prompt cache), so its prompt is processed exactly
 * as alone. Its DecodeSequence then joins the decode batch at the next step. Each step runs the
 * decoder once for every active sequence (batch-kv-cache.ts has the layout); a sequence that finishes
 * or is aborted leaves at once, and a waiting one joins at the following step. Every sequence keeps
 * its own sampler, stop strings, stream and limits.
 *
 * With one active sequence the step is the one-sequence step on the sequence's own cache, so a request
 * that decodes alone gets exactly `model.generate`'s ids. Decoder runs (prefills and steps) take turns,
 * first come first served: a new request's prefill waits for at most one step.
 */
import { BatchKvCache } from '../batch-kv-cache.js';
import { cancelledError, throwIfCancelled } from '../errors.js';
import type { SmolVLM } from '../model.js';
import { describeValue, usageError } from '../untyped.js';
import { decodeStep, type DecoderSessions } from './generate.js';
import { checkGenerateRequest } from './request.js';
import type { DecodeSequence } from './sequence.js';
import { TextStream } from './stream.js';
import type { GenerateRequest, GenerationResult } from './types.js';

/**
 * Sequences decoded together by default. scripts/bench-batch.ts, 256m preset int8, 64 tokens per
 * stream, 2 shared CPUs: per CPU-second 1 stream 17.7 tokens, 2: 21.1, 4: 38.2, 8: 40.8; eight
 * streams add little over four but double the batch's memory and each stream's step time.
 */
export const DEFAULT_MAX_BATCH = 4;
/** Requests between admission and decoding (images, encoder, prefill, waiting for a slot) by default. */
export const DEFAULT_MAX_PREPARING = 2;

export interface BatchSchedulerOptions {
  /** Sequences decoded together in one decoder run (default DEFAULT_MAX_BATCH); 1 decodes one at a time. */
  maxBatch?: number;
  /**
   * Requests prepared ahead at once: reading images, encoding, prefilling, or prefilled and waiting for
   * a decode slot (default DEFAULT_MAX_PREPARING). Later requests wait their turn, so a caller may hand
   * over thousands at once without holding their images and caches in memory together.
   */
  maxPreparing?: number;
}

type ScheduledRequest = GenerateRequest & { signal: AbortSignal };

/** A sequence in the decode loop, from its first token until it leaves. */
interface Member {
  readonly sequence: DecodeSequence;
  readonly signal: AbortSignal;
  /** Its request has a prompt cache, which will take its KV positions when it finishes. */
  readonly keepsCache: boolean;
  /** Called when it takes a decode slot (its request is no longer preparing). */
  readonly onActive: () => void;
  readonly onAbort: () => void;
  readonly settle: (error?: unknown) => void;
  /** An error of its own (its onToken or stream threw): it leaves with it. */
  error?: unknown;
}

export class BatchScheduler {
  readonly #model: SmolVLM;
  readonly #sessions: DecoderSessions;
  readonly #maxBatch: number;
  readonly #maxPreparing: number;
  readonly #closing = new AbortController();
  /** Requests waiting to be admitted (each entry admits one). */
  readonly #queue: (() => void)[] = [];
  #preparing = 0;
  /** Prefilled sequences waiting for a decode slot. */
  readonly #ready: Member[] = [];
  #active: Member[] = [];
  /** The batch cache while two or more sequences decode; alone, a sequence steps on its own cache. */
  #batch: BatchKvCache | undefined;
  /** The end of the chain of decoder runs (prefills and steps take turns). */
  #decoderTurn: Promise<unknown> = Promise.resolve();
  #looping = false;
  #stepping = false;

  constructor(model: SmolVLM, options: BatchSchedulerOptions = {}) {
    this.#model = model;
    this.#sessions = { embedder: model.embedder, decoder: model.decoder };
    this.#maxBatch = positiveInteger(options.maxBatch, DEFAULT_MAX_BATCH, 'maxBatch');
    this.#maxPreparing = positiveInteger(options.maxPreparing, DEFAULT_MAX_PREPARING, 'maxPreparing');
  }

  /** Sequences decoding now. */
  get active(): number {
    return this.#active.filter((m) => !m.sequence.finished).length;
  }

  /** Requests admitted but not yet decoding: waiting their turn, being prepared, or waiting for a slot. */
  get waiting(): number {
    return this.#queue.length + this.#preparing;
  }

  /**
   * Same as `model.generate(request)`: a TextStream whose `result` is the GenerationResult, with the
   * request's prompt cache, signal, onToken, stop strings, sampling and maxNewTokens honoured. A
   * malformed request throws a USAGE SmolVLMError at once; after `close` the result rejects (ABORTED).
   */
  generate(request: GenerateRequest): TextStream<GenerationResult> {
    checkGenerateRequest(request);
    const signal = request.signal ? AbortSignal.any([request.signal, this.#closing.signal]) : this.#closing.signal;
    return new TextStream((emit) => this.#run({ ...request, signal }, emit));
  }

  /** Aborts every request, waiting or decoding; later requests are refused. */
  close(): void {
    this.#closing.abort(cancelledError('generation'));
  }

  async #run(request: ScheduledRequest, emit: (piece: string) => void): Promise<GenerationResult> {
    await this.#admit(request.signal);
    let preparing = true;
    const release = () => {
      if (!preparing) return;
      preparing = false;
      this.#preparing--;
      this.#queue.shift()?.();
    };
    try {
      const state = await this.#model.startRequest(request, emit);
      try {
        await state.encode();
        state.mergeFeatures();
        await this.#decoderRun(() => state.prefill());
        await state.decode((sequence, logits) => this.#decode(request, sequence, logits, release));
        return state.finish();
      } finally {
        await state.dispose();
      }
    } finally {
      release();
    }
  }

  /** Waits until fewer than maxPreparing requests are being prepared (first come, first served). */
  #admit(signal: AbortSignal): Promise<void> {
    throwIfCancelled(signal, 'generation');
    if (this.#queue.length === 0 && this.#preparing < this.#maxPreparing) {
      this.#preparing++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const admit = () => {
        signal.removeEventListener('abort', onAbort);
        this.#preparing++;
        resolve();
      };
      const onAbort = () => {
        this.#queue.splice(this.#queue.indexOf(admit), 1);
        reject(cancelledError('generation', signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(admit);
    });
  }

  /** Runs `task` (a prefill or a step) when the decoder runs before it have finished. */
  #decoderRun<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#decoderTurn.then(task);
    this.#decoderTurn = run.catch(() => {});
    return run;
  }

  /** The scheduler's DecodeLoop: the first token, then the sequence waits for a slot in the batch. */
  #decode(request: ScheduledRequest, sequence: DecodeSequence, promptLogits: Float32Array, onActive: () => void): Promise<void> {
    sequence.accept(promptLogits);
    if (sequence.finished) {
      sequence.end();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const member: Member = {
        sequence,
        signal: request.signal,
        keepsCache: request.cache !== undefined,
        onActive,
        onAbort: () => this.#abort(member),
        settle: (error?: unknown) => (error === undefined ? resolve() : reject(error)),
      };
      request.signal.addEventListener('abort', member.onAbort, { once: true });
      this.#ready.push(member);
      void this.#loop();
    });
  }

  /** Decode steps while any sequence is active. */
  async #loop(): Promise<void> {
    if (this.#looping) return;
    this.#looping = true;
    try {
      while (this.#fillSlots()) await this.#decoderRun(() => this.#step());
    } finally {
      this.#looping = false;
    }
  }

  /** Moves ready sequences into free slots; false when nothing is left to decode. */
  #fillSlots(): boolean {
    while (this.#active.length < this.#maxBatch && this.#ready.length > 0) {
      const member = this.#ready.shift()!;
      this.#active.push(member);
      member.onActive();
    }
    return this.#active.length > 0;
  }

  /** One decoder run for every active sequence. */
  async #step(): Promise<void> {
    await this.#settle();
    this.#leaveFinished();
    if (this.#active.length === 0) return;
    this.#arrange();
    this.#stepping = true;
    try {
      if (this.#batch) await this.#batchStep(this.#batch);
      else await decodeStep(this.#sessions, this.#active[0]!.sequence);
    } catch (error) {
      for (const member of this.#active) member.error ??= error;
    } finally {
      this.#stepping = false;
    }
    await this.#settle();
    this.#leaveFinished();
  }

  /** Lets each structured-output constraint advance past its last token (a complete document ends its sequence). */
  async #settle(): Promise<void> {
    await Promise.all(
      this.#active.map((member) =>
        member.sequence.settled().catch((error: unknown) => {
          member.error ??= error;
        }),
      ),
    );
  }

  /** One run for the batch's rows, then each sequence picks its token (an error stays its own). */
  async #batchStep(batch: BatchKvCache): Promise<void> {
    const members = new Map(this.#active.map((m) => [m.sequence.kv, m]));
    const rows = batch.rows.map((kv) => members.get(kv)!);
    const embeds = await this.#sessions.embedder.embed(rows.map((m) => m.sequence.lastId));
    const logits = await this.#sessions.decoder.forwardBatch(embeds, batch);
    rows.forEach((member, row) => {
      try {
        if (!member.sequence.finished) member.sequence.accept(logits[row]!);
      } catch (error) {
        member.error = error;
      }
    });
  }

  /** Alone, a sequence steps on its own cache; two or more share the batch cache. */
  #arrange(): void {
    if (this.#active.length === 1) {
      const { kv } = this.#active[0]!.sequence;
      if (this.#batch?.has(kv)) this.#batch.remove(kv);
      this.#batch = undefined;
      return;
    }
    this.#batch ??= new BatchKvCache(this.#sessions.decoder.kvLayout, this.#maxBatch);
    for (const member of this.#active) if (!this.#batch.has(member.sequence.kv)) this.#batch.add(member.sequence.kv);
  }

  /** Finished, aborted and failed sequences leave. */
  #leaveFinished(): void {
    const staying: Member[] = [];
    for (const member of this.#active) {
      if (member.sequence.finished || member.error !== undefined) this.#leave(member);
      else staying.push(member);
    }
    this.#active = staying;
  }

  /** Ends a sequence: its KV positions go back to its cache when a prompt cache will keep them. */
  #leave(member: Member): void {
    member.signal.removeEventListener('abort', member.onAbort);
    const { kv } = member.sequence;
    if (this.#batch?.has(kv)) this.#batch.remove(kv, member.keepsCache);
    if (member.error !== undefined) return member.settle(member.error);
    member.sequence.end();
    member.settle();
  }

  /** An aborted sequence leaves at once, or right after the step in flight (which reads its row). */
  #abort(member: Member): void {
    member.sequence.abort();
    const waiting = this.#ready.indexOf(member);
    if (waiting >= 0) {
      this.#ready.splice(waiting, 1);
      this.#leave(member);
    } else if (!this.#stepping) {
      this.#leaveFinished();
    }
  }
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) usageError(`${name} must be an integer >= 1, got ${describeValue(value)}`);
  return value;
}
