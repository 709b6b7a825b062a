import { DEFAULT_MODEL } from './hub/aliases.js';
import type { HubOptions } from './hub/options.js';
import { resolveModelSource, type ModelSource } from './hub/resolve.js';
import { SmolVLM, type LoadOptions } from './model.js';

export interface LoadModelOptions extends LoadOptions {
  /** Hub settings: endpoint, token, cache folder, offline, download progress, abort signal. */
  hub?: Omit<HubOptions, 'dtype'>;
}

/**
 * Loads a model by reference: a local directory, a Hub repo id (`org/name@revision`) or an alias such
 * as `256m`, downloading into the huggingface_hub cache only the files of the chosen dtype that are missing.
 */
export async function loadModel(ref: string = DEFAULT_MODEL, options: LoadModelOptions = {}): Promise<{ model: SmolVLM; source: ModelSource }> {
  const { hub, ...load } = options;
  const source = await resolveModelSource(ref, { ...hub, ...(load.dtype !== undefined ? { dtype: load.dtype } : {}) });
  const model = await SmolVLM.load(source.dir, { ...load, dtype: source.dtypes });
  return { model, source };
}
