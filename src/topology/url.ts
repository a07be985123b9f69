import { ConfigurationError } from "../errors.js";

export interface HostPort {
  host: string;
  port: number;
}

/** What a connection URL says, before any client exists. */
export interface ParsedUrl {
  /** `redis`/`rediss` → "single"; the rest name their topology. */
  kind: "single" | "sentinel" | "cluster";
  tls: boolean;
  hosts: HostPort[];
  username?: string;
  password?: string;
  db?: number;
  /** Sentinel master group name, from `#name` or `?name=`. */
  masterName?: string;
}

const SCHEMES: Record<string, { kind: ParsedUrl["kind"]; tls: boolean; port: number }> = {
  redis: { kind: "single", tls: false, port: 6379 },
  rediss: { kind: "single", tls: true, port: 6379 },
  "redis-sentinel": { kind: "sentinel", tls: false, port: 26379 },
  "rediss-sentinel": { kind: "sentinel", tls: true, port: 26379 },
  "redis-cluster": { kind: "cluster", tls: false, port: 6379 },
  "rediss-cluster": { kind: "cluster", tls: true, port: 6379 },
};

function bad(url: string, why: string): never {
  throw new ConfigurationError(`Invalid \`url\` "${redact(url)}": ${why}`);
}

/** Hides the password of a URL before it goes into an error message. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:@/]*:)[^@/]*@/, "$1***@");
}

function parseHost(url: string, text: string, defaultPort: number): HostPort {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) bad(url, `unterminated IPv6 address "${text}"`);
    host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest !== "" && !rest.startsWith(":")) bad(url, `unexpected "${rest}" after "${host}"`);
    portText = rest === "" ? undefined : rest.slice(1);
  } else {
    const colon = text.lastIndexOf(":");
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  if (host === "") bad(url, "a host is empty");
  let port = defaultPort;
  if (portText !== undefined) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      bad(url, `port "${portText}" of "${host}" is not a number from 1 to 65535`);
    }
  }
  return { host, port };
}

/**
 * Parses the URL schemes of the spec. Multi-host forms (comma-separated
 * hosts) are not valid WHATWG URLs, so this is a small hand parser.
 */
export function parseUrl(url: string): ParsedUrl {
  const match = /^([a-z-]+):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i.exec(url.trim());
  if (!match) bad(url, "expected scheme://[user:pass@]host[:port]...");
  const scheme = match[1]!.toLowerCase();
  const spec = SCHEMES[scheme];
  if (!spec) {
    bad(url, `unknown scheme "${scheme}://"; use one of ${Object.keys(SCHEMES).join(", ")}`);
  }
  let authority = match[2]!;
  const out: ParsedUrl = { kind: spec.kind, tls: spec.tls, hosts: [] };
  const at = authority.lastIndexOf("@");
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userinfo.indexOf(":");
    const user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    const pass = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
    // redis://:pass@host is the password-only form.
    if (colon < 0) {
      if (user !== "") out.password = user;
    } else {
      if (user !== "") out.username = user;
      if (pass !== undefined && pass !== "") out.password = pass;
    }
  }
  const hostList = authority === "" ? ["127.0.0.1"] : authority.split(",");
  for (const h of hostList) out.hosts.push(parseHost(url, h.trim(), spec.port));
  if (spec.kind === "single" && out.hosts.length > 1) {
    bad(url, `${scheme}:// takes one host; use redis-cluster:// or redis-sentinel:// for several`);
  }
  const path = match[3];
  if (path !== undefined && path !== "/" && path !== "") {
    const db = Number(path.slice(1));
    if (!Number.isInteger(db) || db < 0) bad(url, `database "${path.slice(1)}" is not a number`);
    if (spec.kind === "cluster" && db !== 0) bad(url, "a cluster has only database 0");
    out.db = db;
  }
  const query = new URLSearchParams(match[4]?.slice(1) ?? "");
  const fragment = match[5]?.slice(1);
  const name = fragment ? decodeURIComponent(fragment) : (query.get("name") ?? undefined);
  if (name) out.masterName = name;
  const qdb = query.get("db");
  if (qdb !== null && out.db === undefined) {
    const db = Number(qdb);
    if (!Number.isInteger(db) || db < 0) bad(url, `database "${qdb}" is not a number`);
    out.db = db;
  }
  return out;
}
