/**
 * A tiny HTTP client over global fetch with a cookie jar of one origin, so a
 * test can play a browser: cookies the server sets are sent back, cleared
 * cookies are dropped, and a test can swap in an old cookie on purpose.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export interface JsonResponse<T = any> {
  status: number;
  body: T;
  /** `Set-Cookie` headers of this response, as sent. */
  setCookies: string[];
}

export class CookieClient {
  private readonly jar = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    /** Per-request bound: a hung server fails the test instead of stalling it. */
    private readonly timeoutMs = 10_000,
  ) {}

  /** The raw value of a cookie in the jar (still URL-encoded, as the server set it). */
  cookie(name: string): string | undefined {
    return this.jar.get(name);
  }

  /** Puts a cookie in the jar by hand, e.g. an old session cookie after logout. */
  setCookie(name: string, value: string): void {
    this.jar.set(name, value);
  }

  clearCookies(): void {
    this.jar.clear();
  }

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = this.timeoutMs,
  ): Promise<JsonResponse<T>> {
    const headers: Record<string, string> = { accept: "application/json" };
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (cookie) headers.cookie = cookie;
    const init: RequestInit = {
      method,
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(new URL(path, this.baseUrl), init);
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) this.absorb(line);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, setCookies };
  }

  get<T = any>(path: string): Promise<JsonResponse<T>> {
    return this.request<T>("GET", path);
  }

  post<T = any>(path: string, body: unknown = {}): Promise<JsonResponse<T>> {
    return this.request<T>("POST", path, body);
  }

  /** Applies one Set-Cookie line: stores the value, or drops it when the server expires it. */
  private absorb(line: string): void {
    const [pair = "", ...attrs] = line.split(";");
    const eq = pair.indexOf("=");
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attrs.some((a) => {
      const [k = "", v = ""] = a.split("=", 2).map((s) => s.trim());
      if (/^max-age$/i.test(k)) return Number(v) <= 0;
      if (/^expires$/i.test(k)) return Date.parse(v) <= Date.now();
      return false;
    });
    if (expired || value === "") this.jar.delete(name);
    else this.jar.set(name, value);
  }
}

/**
 * The session id inside a signed session cookie, or undefined when the
 * signature does not match `secret`. Handles express-session's `s:<sid>.<mac>`
 * (URL-encoded) and @fastify/session's `<sid>.<mac>`: both are an HMAC-SHA256
 * in unpadded base64.
 */
export function unsignSessionCookie(raw: string, secret: string): string | undefined {
  let value = decodeURIComponent(raw);
  if (value.startsWith("s:")) value = value.slice(2);
  const dot = value.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const sid = value.slice(0, dot);
  const mac = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(
    createHmac("sha256", secret).update(sid).digest("base64").replace(/=+$/, ""),
  );
  return mac.length === expected.length && timingSafeEqual(mac, expected) ? sid : undefined;
}
