export type { Storage, StorageOptions } from './storage.js';
export { openStorage } from './storage.js';
export type { StorageChoice, StorageEnv } from './storage-choice.js';
export { chooseStorage } from './storage-choice.js';
