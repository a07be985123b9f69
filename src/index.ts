export {
  AuthenticationError,
  ConfigurationError,
  type ErrorCode,
  ErrorCodes,
  RedisStoreError,
  ReplicationShortfallError,
  SessionDecodeError,
  SessionEncodeError,
  TopologyError,
} from "./errors.js";
export type {
  BatchOptions,
  ClusterGroupOptions,
  CompatibleClient,
  DurabilityOptions,
  NodeAddress,
  RedisStoreOptions,
  SentinelOptions,
  StandaloneOptions,
  TopologyName,
} from "./options.js";
export { defaults } from "./options.js";
export { jsonSerializer, msgpackSerializer, type Serializer } from "./serializer.js";
export { type Callback, RedisStore, type StoredSession, type StoreStats } from "./store.js";
