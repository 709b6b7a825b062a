/** Entry of a benchmark child process: `node --import tsx scripts/bench/child.ts <task json>`. */
import { writeFileSync } from 'node:fs';
import type { ChildResult, ChildTask } from './common.js';

const task = JSON.parse(process.argv[2]!) as ChildTask;
let result: ChildResult;
try {
  const run =
    task.engine === 'ours'
      ? (await import('./child-ours.js')).runOurs
      : task.engine === 'theirs'
        ? (await import('./child-theirs.js')).runTheirs
        : (await import('./child-floor.js')).runFloor;
  result = await run(task);
} catch (error) {
  result = { engine: task.engine, label: task.label, dtype: task.dtype, scenario: task.scenario.name, loadMs: 0, rssAfterLoadMB: 0, turns: [], error: String((error as Error)?.stack ?? error) };
}
writeFileSync(task.resultFile, JSON.stringify(result));
process.exit(0);
