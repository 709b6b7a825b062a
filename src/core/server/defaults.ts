/**
 * The server's defaults, apart from server.ts so that `smolvlm serve --help` shows them without
 * loading the server (the CLI bundle loads a module with everything it imports).
 */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
export const DEFAULT_QUEUE = 16;
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;
export const DEFAULT_SHUTDOWN_GRACE_MS = 5000;
