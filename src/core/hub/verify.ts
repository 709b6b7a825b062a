import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Checks downloaded bytes against the Hub's ETag: a 64-hex ETag (X-Linked-Etag of LFS/xet files) is the sha256
 * of the content, a 40-hex one (ETag of regular files) the git blob sha1 `sha1("blob <len>\0" + content)`.
 * Anything else is checked by size only.
 */
export class ContentVerifier {
  private hash: Hash | undefined;
  readonly kind: 'sha256' | 'git-sha1' | 'size-only';

  constructor(
    private readonly etag: string,
    private readonly size: number,
  ) {
    this.kind = /^[0-9a-f]{64}$/.test(etag) ? 'sha256' : /^[0-9a-f]{40}$/.test(etag) ? 'git-sha1' : 'size-only';
    this.reset();
  }

  reset(): void {
    if (this.kind === 'sha256') this.hash = createHash('sha256');
    else if (this.kind === 'git-sha1') this.hash = createHash('sha1').update(`blob ${this.size}\0`);
    else this.hash = undefined;
  }

  update(chunk: Uint8Array): void {
    this.hash?.update(chunk);
  }

  /** Feeds the first `length` bytes of a file (resuming a previous download). */
  async updateFromFile(file: string, length: number): Promise<void> {
    if (!this.hash || length === 0) return;
    const stream = createReadStream(file, { start: 0, end: length - 1 });
    for await (const chunk of stream) this.hash.update(chunk as Buffer);
  }

  /** undefined when the content matches, else what was found. */
  mismatch(): string | undefined {
    if (!this.hash) return undefined;
    const digest = this.hash.digest('hex');
    return digest === this.etag ? undefined : `${this.kind} ${digest}`;
  }
}
