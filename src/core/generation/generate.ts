import type { Decoder } from '../decoder.js';
import type { TokenEmbedder } from '../encoders.js';
import type { DecodeSequence } from './sequence.js';

/** The sessions a decode step runs; shared by every sequence of a model. */
export interface DecoderSessions {
  readonly embedder: TokenEmbedder;
  readonly decoder: Decoder;
}

/**
 * One decode step for one sequence: feeds its last token to the decoder (its KV cache grows by one
 * position) and picks the next token. A scheduler that decodes several sequences together would run
 * one batched forward pass for all of them and then call each sequence's `accept`.
 */
export async function decodeStep(sessions: DecoderSessions, sequence: DecodeSequence): Promise<void> {
  const embeds = await sessions.embedder.embed([sequence.lastId]);
  sequence.accept(await sessions.decoder.forward(embeds, 1, sequence.kv));
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
