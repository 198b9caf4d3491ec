/** The server as a library: what main.ts uses, for embedding and for other packages' tests. */
export { buildApp, type AppDeps } from './app.ts';
export { ConfigError, loadConfig, type Config } from './config.ts';
export { openStore, type Store } from './store/index.ts';
