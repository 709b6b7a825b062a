import { OPTIONAL_JSON_FILES, REQUIRED_JSON_FILES } from '../model-files/dtypes.js';
import { onnxFilePath, SESSION_NAMES, type SessionDtypes, type SessionName } from './dtypes.js';

/** Files every model needs besides the ONNX sessions (spec §7.4), as the engine reads them. */
export const REQUIRED_FILES = REQUIRED_JSON_FILES;

/** Files that may be absent from a repo; a 404 is recorded as a `.no_exist` marker. */
export const OPTIONAL_FILES = OPTIONAL_JSON_FILES;

/** Most external-data chunks looked for (transformers.js stops at 100 as well). */
export const MAX_DATA_PARTS = 100;

export function sessionFiles(dtypes: SessionDtypes): Record<SessionName, string> {
  const out = {} as Record<SessionName, string>;
  for (const s of SESSION_NAMES) out[s] = onnxFilePath(s, dtypes[s]);
  return out;
}

/** `X.onnx_data`, then `X.onnx_data_1`, `X.onnx_data_2`, ... for the part index 0, 1, 2, ... */
export function dataPartName(onnxFile: string, index: number): string {
  return index === 0 ? `${onnxFile}_data` : `${onnxFile}_data_${index}`;
}

/** True if `name` (a base name) is an external-data part of `onnxBase` (a base name ending in .onnx). */
export function isDataPartOf(name: string, onnxBase: string): boolean {
  if (!name.startsWith(`${onnxBase}_data`)) return false;
  const rest = name.slice(onnxBase.length + '_data'.length);
  return rest === '' || /^_[1-9]\d*$/.test(rest);
}

/** Data parts in download order (`_data`, `_data_1`, `_data_2`, ...). */
export function sortDataParts(names: string[]): string[] {
  const index = (n: string): number => {
    const m = /_data_(\d+)$/.exec(n);
    return m ? Number(m[1]) : 0;
  };
  return [...names].sort((a, b) => index(a) - index(b));
}
