import { SmolVLMError } from '../errors.js';
import { findAlias } from './aliases.js';

export type ModelReference =
  | { kind: 'local'; path: string }
  | { kind: 'hub'; repo: string; revision?: string; alias?: string };

const SEGMENT = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$/;

export function isValidRepoId(repo: string): boolean {
  const parts = repo.split('/');
  return (
    parts.length === 2 &&
    repo.length <= 96 * 2 + 1 &&
    parts.every((p) => p.length <= 96 && SEGMENT.test(p) && !p.includes('--') && !p.includes('..'))
  );
}

/** A revision that is safe to use as a path under refs/ (branch, tag, `refs/pr/N`, commit sha). */
export function isValidRevision(revision: string): boolean {
  return (
    /^[A-Za-z0-9._\-/+]+$/.test(revision) &&
    !revision.startsWith('/') &&
    !revision.endsWith('/') &&
    revision.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..')
  );
}

export function isCommitSha(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

function looksLikePath(ref: string): boolean {
  return (
    ref.startsWith('/') ||
    ref.startsWith('./') ||
    ref.startsWith('../') ||
    ref === '.' ||
    ref === '..' ||
    ref.startsWith('~') ||
    ref.includes('\\') ||
    /^[A-Za-z]:/.test(ref)
  );
}

/**
 * Classifies a model reference without touching the disk: an alias (`256m`, optionally `@rev`), a Hub repo id
 * (`org/name` or `org/name@rev`), else a local path. resolveModelSource additionally prefers an existing local
 * directory whose path equals the reference.
 */
export function parseModelReference(ref: string): ModelReference {
  const text = ref.trim();
  if (text === '') throw new SmolVLMError('USAGE', 'empty model reference');
  if (looksLikePath(text)) return { kind: 'local', path: text };
  const at = text.indexOf('@');
  const name = at === -1 ? text : text.slice(0, at);
  const revision = at === -1 ? undefined : text.slice(at + 1);
  const alias = findAlias(name);
  const repo = alias?.repo ?? (isValidRepoId(name) ? name : undefined);
  if (repo === undefined) {
    if (revision !== undefined && name.includes('/')) {
      throw new SmolVLMError('MODEL_NOT_FOUND', `"${name}" is not a valid Hub repo id (expected org/name)`);
    }
    return { kind: 'local', path: text };
  }
  if (revision !== undefined && !isValidRevision(revision)) {
    throw new SmolVLMError('USAGE', `invalid revision "${revision}" in "${ref}"`);
  }
  return {
    kind: 'hub',
    repo,
    ...(revision !== undefined ? { revision } : {}),
    ...(alias ? { alias: alias.alias } : {}),
  };
}

/** `org/name@rev` for messages. */
export function formatRef(repo: string, revision: string | undefined): string {
  return revision === undefined ? repo : `${repo}@${revision}`;
}
