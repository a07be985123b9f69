/** Messages between bench/e2e.ts and the app process it forks (bench/e2e-app.ts). */

export const APP_STORES = ["memory", "ha", "ha-touch60", "cr81", "cr10"] as const;
export type AppStore = (typeof APP_STORES)[number];

export const APP_LABELS: Record<AppStore, string> = {
  memory: "MemoryStore (upper bound)",
  ha: "connect-redis-ha",
  "ha-touch60": "connect-redis-ha, touchAfter: 60",
  cr81: "connect-redis 8.1 + ioredis",
  cr10: "connect-redis 10 + node-redis",
};

export type ToApp = { type: "stats" } | { type: "close" };

export type FromApp =
  | { type: "ready"; port: number }
  | { type: "stats"; cpu: NodeJS.CpuUsage; requests: number }
  | { type: "error"; message: string };
