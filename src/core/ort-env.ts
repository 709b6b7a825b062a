/**
 * Process settings onnxruntime reads when it starts. Import this module before `onnxruntime-node`
 * in every file that imports it: ES modules evaluate their imports in order, so this runs first.
 *
 * ORT_DISABLE_TELEMETRY: onnxruntime's Linux telemetry reads /proc/self/cmdline while a session is
 * created and crashes the process (SIGSEGV) when one command-line word is longer than about 29 KB,
 * e.g. a long question given as an argument. A value the user set is kept.
 */
process.env.ORT_DISABLE_TELEMETRY ??= '1';

export {};
