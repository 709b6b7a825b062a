/** The OpenAI-compatible server (`smolvlm serve`) and its parts that are useful on their own. */
export { DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, DEFAULT_QUEUE, DEFAULT_SHUTDOWN_GRACE_MS, SmolVLMServer, startServer, type HealthJson, type RequestLog, type ServerOptions } from './server.js';
export { SequentialEngine, type GenerationEngine } from './engine.js';
export { PromptCachePool, DEFAULT_PROMPT_CACHES, DEFAULT_PROMPT_CACHE_BYTES, type CachePoolOptions } from './cache-pool.js';
export { imageUrlPolicy, isLoopbackHost, type ImageUrlPolicy } from './image-policy.js';
export type { ServerDefaults, ServerImageSource } from './completions.js';
export type { Route, Handler, RequestContext } from './http.js';
export type { ResponseFormat } from './response-format.js';
export { CHAT_PAGE_CSP, CHAT_PAGE_DIR, chatPageRoutes, type ChatPageConfig, type ChatPageOptions } from './chat-page.js';
