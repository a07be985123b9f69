import session, { type CookieOptions, type SessionData } from "express-session";

/**
 * Session fixtures. The cookie is express-session's own `Cookie` class (what a
 * store receives from the middleware), so serializers meet its getter and toJSON.
 */

const DAY_MS = 86_400_000;

const CookieClass = session.Cookie as unknown as new (options: CookieOptions) => session.Cookie;

export function cookie(maxAgeMs = DAY_MS): session.Cookie {
  return new CookieClass({
    maxAge: maxAgeMs,
    httpOnly: true,
    secure: false,
    sameSite: "lax",
    path: "/",
  });
}

/** A freshly logged-in user id and nothing else: ~150 bytes of JSON. */
export function smallSession(): SessionData {
  return { cookie: cookie(), userId: 4242 } as SessionData;
}

function profile(id: number) {
  return {
    id,
    name: "Ada Lovelace",
    email: "ada.lovelace@example.com",
    roles: ["user", "editor", "billing"],
    locale: "en-GB",
    timeZone: "Europe/London",
    avatarUrl: "https://cdn.example.com/avatars/4242/5f2b9c1e.png",
    createdAt: "2021-03-14T09:26:53.589Z",
    lastLoginAt: "2025-11-27T08:15:02.117Z",
    emailVerified: true,
    plan: { name: "team", seats: 12, renewsAt: "2026-01-01T00:00:00.000Z" },
  };
}

/**
 * What many apps keep: the cookie, a user profile, a CSRF token, a few flags
 * and short arrays. ~1 KB of JSON.
 */
export function typicalSession(id = 4242): SessionData {
  return {
    cookie: cookie(),
    user: profile(id),
    csrfSecret: "q5Xo0h3bM0c3m8Wj5f1Yc2Zt",
    flags: { onboarded: true, betaDashboard: false, darkMode: true, newsletter: false },
    featureGroups: ["search-v2", "fast-checkout", "new-nav"],
    recentlyViewed: [1043, 2210, 387, 99120, 4501, 7789, 12, 645],
    cart: [
      { sku: "BK-1024", qty: 1, price: 29.9 },
      { sku: "MUG-77", qty: 2, price: 9.5 },
    ],
    preferences: { currency: "GBP", itemsPerPage: 50, emailDigest: "weekly" },
    experiments: { checkoutButton: "green", pricingPage: "b" },
    returnTo: "/account/billing?tab=invoices",
    flash: [],
  } as unknown as SessionData;
}

/** A session someone stuffed with data (a draft, cached lists): ~100 KB of JSON. */
export function largeSession(): SessionData {
  const drafts = Array.from({ length: 375 }, (_, i) => ({
    id: `draft-${i}`,
    title: `Quarterly report section ${i}`,
    body: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.",
    tags: ["finance", "q3", i % 2 === 0 ? "review" : "draft"],
    updatedAt: "2025-11-26T17:45:00.000Z",
    words: 120 + i,
    pinned: i % 10 === 0,
  }));
  return { ...typicalSession(), cookie: cookie(), drafts } as unknown as SessionData;
}
