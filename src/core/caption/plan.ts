/**
 * Before any captioning: which images are done (their record is in the output file, their sidecar
 * exists), which need which output, and which cannot be written (two images, one sidecar).
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { OpenOutputs } from './outputs.js';
import { recordFileName } from './records.js';
import { sidecarPath } from './sidecar.js';
import type { CaptionResult } from './types.js';

/** An image to caption, and which of the requested outputs it still lacks. */
export interface CaptionJob {
  path: string;
  fileName: string;
  /** Append a record (to the output file or stdout). */
  writeRecord: boolean;
  /** Write this sidecar. */
  sidecar?: string;
}

export type PlanStep =
  | { kind: 'settled'; result: CaptionResult }
  /** Its record is in the output file but its sidecar is missing: written from the record's text. */
  | { kind: 'restore'; path: string; fileName: string; sidecar: string; text: string }
  | { kind: 'caption'; job: CaptionJob };

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * One step per image, in the given order. With `overwrite` every image is captioned again; otherwise an
 * image is done when it has every requested output, and gets only the outputs it lacks.
 */
export async function planRun(images: readonly string[], outputs: OpenOutputs, overwrite: boolean): Promise<PlanStep[]> {
  const steps: PlanStep[] = [];
  const seen = new Set<string>();
  const sidecarOwners = new Map<string, string>();
  for (const image of images) {
    const file = path.resolve(image);
    if (seen.has(file)) continue;
    seen.add(file);
    const fileName = recordFileName(file, outputs.bases);
    const sidecar = outputs.sidecarExtension === undefined ? undefined : sidecarPath(file, outputs.sidecarExtension);
    if (sidecar !== undefined) {
      const owner = sidecarOwners.get(sidecar);
      if (owner !== undefined) {
        const message = `${file}: its caption file ${sidecar} would also be ${owner}'s; rename one of the two images`;
        steps.push({ kind: 'settled', result: { status: 'failed', path: file, fileName, error: { code: 'USAGE', message } } });
        continue;
      }
      sidecarOwners.set(sidecar, file);
    }
    const recorded = outputs.resumable && !overwrite ? outputs.done.get(fileName) : undefined;
    const needsRecord = outputs.records !== undefined && recorded === undefined;
    const needsSidecar = sidecar !== undefined && (overwrite || !(await exists(sidecar)));
    if (!needsRecord && !needsSidecar) {
      const reason = recorded !== undefined ? 'record' : 'sidecar';
      steps.push({ kind: 'settled', result: { status: 'skipped', path: file, fileName, reason } });
    } else if (!needsRecord && recorded !== undefined && sidecar !== undefined) {
      steps.push({ kind: 'restore', path: file, fileName, sidecar, text: recorded });
    } else {
      steps.push({ kind: 'caption', job: { path: file, fileName, writeRecord: needsRecord, sidecar: needsSidecar ? sidecar : undefined } });
    }
  }
  return steps;
}
