import type { AdminTarget } from "./admin.js";
import type { NodeHandle } from "./types.js";

/** A node the harness can send commands to; RedisProcess and RemoteNode both are. */
export interface ManagedNode extends NodeHandle {
  readonly target: AdminTarget;
}

/**
 * A server the harness did not start (an address from the environment, a
 * container): commands work, process controls throw and say why.
 */
export class RemoteNode implements ManagedNode {
  readonly pid = -1;
  readonly dir = "";
  readonly alive = true;
  readonly paused = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly auth: Omit<AdminTarget, "host" | "port">,
    /** Completes "Cannot kill 10.0.0.5:6379: ..." */
    private readonly reason: string,
  ) {}

  get target(): AdminTarget {
    return { host: this.host, port: this.port, ...this.auth };
  }

  private refuse(action: string): Error {
    return new Error(`Cannot ${action} ${this.host}:${this.port}: ${this.reason}`);
  }

  kill(): Promise<void> {
    return Promise.reject(this.refuse("kill"));
  }

  pause(): void {
    throw this.refuse("pause");
  }

  resume(): void {
    throw this.refuse("resume");
  }

  restart(): Promise<void> {
    return Promise.reject(this.refuse("restart"));
  }
}
