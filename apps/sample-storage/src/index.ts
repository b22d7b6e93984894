export type { FailureReport } from './cli-failure.js';
export { describeFailure, ExitCode } from './cli-failure.js';
export type { Storage, StorageOptions } from './storage.js';
export { CONNECT_TIMEOUT_MS, DEFAULT_LOCK_WAIT_MS, openStorage } from './storage.js';
export type { StorageChoice, StorageEnv } from './storage-choice.js';
export { chooseStorage, isStorageChoiceError, StorageChoiceError } from './storage-choice.js';
