import { SmolVLMError } from '../errors.js';
import { parseModelReference } from './model-reference.js';
import type { HubOptions } from './options.js';
import { hubModelSource, type ModelSource } from './resolve.js';

/**
 * Downloads (or updates) a Hub model for the requested dtypes. Unlike resolveModelSource it asks the Hub what the
 * revision points to even when the cache is complete, unless `checkForUpdates: false` or offline.
 */
export async function pullModel(ref: string, options: HubOptions = {}): Promise<ModelSource> {
  const parsed = parseModelReference(ref);
  if (parsed.kind !== 'hub') {
    throw new SmolVLMError('USAGE', `"${ref}" is a local path, not a Hub model (org/name or an alias such as 256m); nothing to pull`);
  }
  return hubModelSource(parsed, options, options.checkForUpdates ?? true);
}
