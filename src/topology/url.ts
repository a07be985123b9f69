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

const SCHEME = /^\s*([a-z][a-z0-9+.-]*):\/\//i;

function bad(url: string, why: string, option = "url"): never {
  throw new ConfigurationError(`Invalid \`${option}\` "${redact(url)}": ${why}`);
}

/**
 * Where the user:pass part of a URL ends: at the last "@" after "//". The
 * host list, /db, ?query and #name never need an "@" (a master name with one
 * writes it %40), while a password may hold any of "/ # ? @ :" unencoded; the
 * first "@" or the first "/" would cut such a password in two and then quote
 * half of it as a host or port.
 */
function splitUserinfo(rest: string): { userinfo: string | undefined; tail: string } {
  const at = rest.lastIndexOf("@");
  if (at < 0) return { userinfo: undefined, tail: rest };
  return { userinfo: rest.slice(0, at), tail: rest.slice(at + 1) };
}

/** Hides the password of a URL before it goes into an error message. */
export function redact(url: string): string {
  // Without a scheme everything before the last "@" is user:pass, as in parseUrl.
  const head = SCHEME.exec(url)?.[0] ?? "";
  const { userinfo, tail } = splitUserinfo(url.slice(head.length));
  if (userinfo === undefined) return url;
  // user:pass keeps the user (not a secret, and it helps find the mistake);
  // the password-only forms (:pass@, pass@) show nothing of what was typed.
  const colon = userinfo.indexOf(":");
  const shown = colon < 0 ? "***" : `${userinfo.slice(0, colon)}:***`;
  return `${head}${shown}@${tail}`;
}

function decodePart(url: string, text: string, part: string, option: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return bad(
      url,
      `the ${part} is not valid percent-encoding; write a literal "%" in it as %25`,
      option,
    );
  }
}

function parseHost(url: string, text: string, defaultPort: number, option: string): HostPort {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) bad(url, `unterminated IPv6 address "${text}"`, option);
    host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest !== "" && !rest.startsWith(":"))
      bad(url, `unexpected "${rest}" after "${host}"`, option);
    portText = rest === "" ? undefined : rest.slice(1);
  } else {
    const colon = text.lastIndexOf(":");
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  if (host === "") bad(url, "a host is empty", option);
  let port = defaultPort;
  if (portText !== undefined) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      bad(url, `port "${portText}" of "${host}" is not a number from 1 to 65535`, option);
    }
  }
  return { host, port };
}

/**
 * Parses the URL schemes of the spec. Multi-host forms (comma-separated
 * hosts) are not valid WHATWG URLs, so this is a small hand parser.
 */
export function parseUrl(url: string, option = "url"): ParsedUrl {
  const text = url.trim();
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) bad(url, "expected scheme://[user:pass@]host[:port]...", option);
  const spec = SCHEMES[scheme];
  if (!spec) {
    bad(
      url,
      `unknown scheme "${scheme}://"; use one of ${Object.keys(SCHEMES).join(", ")}`,
      option,
    );
  }
  const { userinfo, tail } = splitUserinfo(text.slice(scheme.length + 3));
  // Always matches: every part after the host list is optional.
  const match = /^([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/.exec(tail)!;
  const authority = match[1]!;
  const out: ParsedUrl = { kind: spec.kind, tls: spec.tls, hosts: [] };
  if (userinfo !== undefined) {
    // A username cannot hold ":" unencoded; a password can, so split at the first.
    const colon = userinfo.indexOf(":");
    const user = decodePart(
      url,
      colon < 0 ? userinfo : userinfo.slice(0, colon),
      "username",
      option,
    );
    const pass =
      colon < 0 ? undefined : decodePart(url, userinfo.slice(colon + 1), "password", option);
    // redis://pass@host and redis://:pass@host are the password-only forms.
    if (colon < 0) {
      if (user !== "") out.password = user;
    } else {
      if (user !== "") out.username = user;
      if (pass !== undefined && pass !== "") out.password = pass;
    }
  }
  const hostList = authority === "" ? ["127.0.0.1"] : authority.split(",");
  for (const h of hostList) out.hosts.push(parseHost(url, h.trim(), spec.port, option));
  if (spec.kind === "single" && out.hosts.length > 1) {
    bad(
      url,
      `${scheme}:// takes one host; use redis-cluster:// or redis-sentinel:// for several`,
      option,
    );
  }
  const path = match[2];
  if (path !== undefined && path !== "/" && path !== "") {
    const db = Number(path.slice(1));
    if (!Number.isInteger(db) || db < 0) {
      bad(url, `database "${path.slice(1)}" is not a number`, option);
    }
    if (spec.kind === "cluster" && db !== 0) bad(url, "a cluster has only database 0", option);
    out.db = db;
  }
  const query = new URLSearchParams(match[3]?.slice(1) ?? "");
  const fragment = match[4]?.slice(1);
  const name = fragment ? decodePart(url, fragment, "master name", option) : query.get("name");
  if (name) out.masterName = name;
  const qdb = query.get("db");
  if (qdb !== null && out.db === undefined) {
    const db = Number(qdb);
    if (!Number.isInteger(db) || db < 0) bad(url, `database "${qdb}" is not a number`, option);
    out.db = db;
  }
  return out;
}
