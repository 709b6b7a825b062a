/**
 * What the commands' actions use beyond their definitions, for one `await import('./actions.js')`
 * when an action runs. The CLI bundle (dist/bundle, scripts/bundle-cli.ts) loads this module, and the
 * model, generation, server, video, structured-output and download code behind it, only then: the
 * model-free commands (`--help`, `--version`, `models`, `completion`) never parse them. A command
 * module imports statically only what its definition (options, help text) needs.
 */
export {
  assertSingleStdinSource,
  BatchScheduler,
  chatPageRoutes,
  Conversation,
  environmentReport,
  formatEnvironmentReport,
  pullModel,
  removeCachedModel,
  SmolVLM,
  sourceLabel,
  startServer,
  STDIN_SOURCE,
} from '../index.js';
export { captionImagesCommand } from './caption-run.js';
export { checkImages, isImageArgument, isImageError, readStdinText } from './inputs.js';
export { resolveModel } from './model-ref.js';
export { verifyCache } from './commands/models-verify.js';
export { History, historyFile } from './repl/history.js';
export { runPiped, runTerminal } from './repl/loop.js';
export { ChatSession, describeImage } from './repl/session.js';
export { incompleteAnswer, readOutputFormat } from './structured.js';
