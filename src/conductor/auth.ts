/**
 * Orkes-style authentication: POST /api/token with {keyId, keySecret} gives a token sent as
 * X-Authorization. Refreshed before it is 45 minutes old and once on an expired-token answer.
 * A 404 on /token means an OSS server without auth: from then on no header is sent.
 * Nothing here logs or returns the secret.
 */
import { ConductorError } from "./errors.ts";

/** Anything that can hand out a token; plug your own in through ClientOptions.tokenSource. */
export interface TokenSource {
  /** A token to send, or undefined for "no auth". `force` asks for a fresh one. */
  token(force?: boolean): Promise<string | undefined>;
}

/**
 * Sends `POST path` with a JSON body and no authentication; answers the status and the body
 * text. Throws a ConductorError when no answer comes back.
 */
export type TokenPost = (path: string, body: unknown) => Promise<{ status: number; text: string }>;

const REFRESH_AFTER_MS = 45 * 60 * 1000;

export class KeySecretTokenSource implements TokenSource {
  private current?: { token: string; at: number };
  private pending?: Promise<string | undefined>;
  private noAuth = false;

  constructor(
    private readonly post: TokenPost,
    private readonly credentials: { keyId: string; keySecret: string },
    private readonly now: () => number = Date.now,
  ) {}

  async token(force = false): Promise<string | undefined> {
    if (this.noAuth) return undefined;
    if (!force && this.current && this.now() - this.current.at < REFRESH_AFTER_MS) return this.current.token;
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetch(): Promise<string | undefined> {
    const res = await this.post("/api/token", this.credentials);
    if (res.status === 404) {
      this.noAuth = true;
      return undefined;
    }
    const data = parseJson(res.text) as { token?: unknown; message?: unknown } | undefined;
    if (res.status >= 400 || typeof data?.token !== "string") {
      const said = typeof data?.message === "string" ? data.message.split(this.credentials.keySecret).join("***") : "";
      throw new ConductorError({
        call: "POST /api/token",
        status: res.status,
        message: `authentication failed: POST /api/token answered ${res.status}${said ? `: ${said}` : ""}. Check CONDUCTOR_AUTH_KEY and CONDUCTOR_AUTH_SECRET.`,
      });
    }
    this.current = { token: data.token, at: this.now() };
    return this.current.token;
  }
}

/** True for a 401/403 whose body says the token is expired or invalid. */
export function isExpiredTokenAnswer(status: number, body: unknown): boolean {
  if (status !== 401 && status !== 403) return false;
  const text = typeof body === "string" ? body : JSON.stringify(body ?? "");
  return /EXPIRED_TOKEN|INVALID_TOKEN/.test(text);
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}
