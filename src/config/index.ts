export { loadConfig, type LoadConfigInput, type LoadConfigResult } from './load.js';
export { originWithPort, publicOrigin } from './public-origin.js';
export { envVarName, ENV_PREFIX } from './env.js';
export { CONFIG_FIELD_NAMES, type Config } from './schema.js';
