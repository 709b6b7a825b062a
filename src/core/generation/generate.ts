import type { BatchKvCache } from '../batch-kv-cache.js';
import type { Decoder } from '../decoder.js';
import type { TokenEmbedder } from '../encoders.js';
import type { DecodeSequence } from './sequence.js';

/** The sessions a decode step runs; shared by every sequence of a model. */
export interface DecoderSessions {
  readonly embedder: TokenEmbedder;
  readonly decoder: Decoder;
}

/**
 * Decodes a sequence from the logits of its prompt's last position to its end (then calls its `end`):
 * decodeSequence, or a scheduler's loop that steps it together with others.
 */
export type DecodeLoop = (sequence: DecodeSequence, promptLogits: Float32Array) => Promise<void>;

/**
 * One decode step for one sequence: feeds its last token to the decoder (its KV cache grows by one
 * position) and picks the next token, unless the sequence was ended meanwhile (a scheduler's abort).
 */
export async function decodeStep(sessions: DecoderSessions, sequence: DecodeSequence): Promise<void> {
  const embeds = await sessions.embedder.embed([sequence.lastId]);
  const logits = await sessions.decoder.forward(embeds, 1, sequence.kv);
  if (!sequence.finished) sequence.accept(logits);
}

/**
 * One decode step for the sequences of a batch, given in the batch's row order: one decoder run for
 * all of them (each row's cache grows by one position), then each picks its next token.
 */
export async function decodeBatchStep(sessions: DecoderSessions, batch: BatchKvCache, sequences: readonly DecodeSequence[]): Promise<void> {
  const embeds = await sessions.embedder.embed(sequences.map((s) => s.lastId));
  const logits = await sessions.decoder.forwardBatch(embeds, batch);
  sequences.forEach((sequence, row) => {
    if (!sequence.finished) sequence.accept(logits[row]!);
  });
}

/**
 * Decodes one sequence to its end, starting from the logits of its prompt's last position. The last
 * sampled token is not fed to the decoder, so afterwards the KV cache holds the prompt plus all
 * generated ids but the last.
 */
export async function decodeSequence(sessions: DecoderSessions, sequence: DecodeSequence, promptLogits: Float32Array): Promise<void> {
  sequence.accept(promptLogits);
  await sequence.settled();
  while (!sequence.finished) {
    await decodeStep(sessions, sequence);
    await sequence.settled();
  }
  sequence.end();
}
