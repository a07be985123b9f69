import { type Redis, Redis as RedisClient, type RedisOptions } from "ioredis";

/**
 * Holds writes while the sentinels run a failover of our master.
 *
 * After `SENTINEL FAILOVER` (or a master that went down) the old master keeps
 * answering as a master until the sentinels reconfigure it, and whatever is
 * written there in that window is discarded when it resyncs as a replica.
 * The sentinels publish the failover's progress on their own pub/sub, so we
 * listen on every sentinel: from `+try-failover` until our connection is on
 * the master named by `+switch-master`, writes wait at the gate.
 */

const CHANNELS = [
  "+try-failover",
  "+switch-master",
  "-failover-abort-not-elected",
  "-failover-abort-no-good-slave",
  "-failover-abort-slave-timeout",
  "+failover-end-for-timeout",
];

export interface WatchEvents {
  holding(reason: string): void;
  released(reason: string): void;
}

interface Address {
  host: string;
  port: number;
}

export class SentinelWatch {
  private readonly subscribers: Redis[] = [];
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private target: Address | undefined;
  private closed = false;
  private readonly onReady = () => this.checkTarget();

  constructor(
    private readonly client: Redis,
    private readonly maxHoldMs: number,
    private readonly events: WatchEvents,
  ) {
    const o = client.options;
    const name = o.name;
    const sentinels = (o.sentinels ?? []) as Array<Partial<Address>>;
    if (!name || sentinels.length === 0) return;
    this.masterName = name;
    const base: RedisOptions = {
      // Subscriber connections never carry commands; keep them quiet and retrying.
      maxRetriesPerRequest: null,
      enableReadyCheck: false,
      retryStrategy: (times) => Math.min(100 * times, 1000),
      connectionName: "connect-redis-ha:sentinel-watch",
    };
    if (o.sentinelUsername) base.username = o.sentinelUsername;
    if (o.sentinelPassword) base.password = o.sentinelPassword;
    if (o.sentinelTLS) base.tls = o.sentinelTLS;
    for (const s of sentinels) {
      const sub = new RedisClient({ ...base, host: s.host ?? "127.0.0.1", port: s.port ?? 26379 });
      sub.on("error", () => {
        // A dead sentinel is normal during the very outages we watch for.
      });
      sub.on("message", (channel: string, message: string) => this.onEvent(channel, message));
      sub.subscribe(...CHANNELS).catch(() => {});
      this.subscribers.push(sub);
    }
    client.on("ready", this.onReady);
  }

  private masterName = "";

  /** Resolves when writes may go; undefined when nothing is held (the fast path). */
  wait(): Promise<void> | undefined {
    return this.gate;
  }

  get holding(): boolean {
    return this.gate !== undefined;
  }

  private onEvent(channel: string, message: string): void {
    if (this.closed) return;
    const parts = message.split(" ");
    if (channel === "+switch-master") {
      // "<name> <old-ip> <old-port> <new-ip> <new-port>"
      if (parts[0] !== this.masterName) return;
      this.hold(channel);
      this.target = { host: parts[3] ?? "", port: Number(parts[4]) };
      this.checkTarget(true);
      return;
    }
    // "%@" events: "master <name> <ip> <port> ..."
    if (parts[0] !== "master" || parts[1] !== this.masterName) return;
    if (channel === "+try-failover") this.hold(channel);
    else this.release(channel);
  }

  private hold(reason: string): void {
    if (this.gate) return;
    this.gate = new Promise<void>((resolve) => {
      this.openGate = resolve;
    });
    // Bounded: a failover that never completes must not stall writes forever.
    this.holdTimer = setTimeout(() => this.release("hold timeout"), this.maxHoldMs);
    this.holdTimer.unref();
    this.events.holding(reason);
  }

  private release(reason: string): void {
    if (!this.gate) return;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.target = undefined;
    const open = this.openGate;
    this.gate = undefined;
    this.openGate = undefined;
    open?.();
    this.events.released(reason);
  }

  /** Opens the gate once the data connection is on the new master. */
  private checkTarget(fromSwitch = false): void {
    const target = this.target;
    if (!target || !this.gate) return;
    if (this.client.status !== "ready") return;
    const stream = (
      this.client as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }
    ).stream;
    const port = stream?.remotePort;
    const address = stream?.remoteAddress?.replace(/^::ffff:/, "");
    if (
      port === target.port &&
      (address === undefined || address === target.host || !isIp(target.host))
    ) {
      this.release("connected to new master");
      return;
    }
    // Still on the old master: ioredis' failover detector normally reconnects
    // us; a client built without it needs the nudge.
    if (fromSwitch && !this.client.options.failoverDetector) this.client.disconnect(true);
  }

  close(): void {
    this.closed = true;
    this.release("closed");
    this.client.off("ready", this.onReady);
    for (const sub of this.subscribers.splice(0)) sub.disconnect();
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}
