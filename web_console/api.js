// HTTP helpers for the console pages: JSON requests whose failures become clear, user-facing errors.

export const UNAVAILABLE = "The agent is not available right now";

export class AgentError extends Error {
  constructor(message, { status = 0, code = "error", unavailable = false } = {}) {
    super(message);
    this.name = "AgentError";
    this.status = status;
    this.code = code;
    this.unavailable = unavailable;
  }
}

/** fetch() a JSON endpoint; throws AgentError (unavailable=true for network failures and 5xx). */
export async function requestJson(method, url, body = undefined, { token = "" } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new AgentError(UNAVAILABLE, { code: "network", unavailable: true });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = data?.error?.code ?? `http_${response.status}`;
    const detail = data?.error?.message ?? "";
    if (response.status >= 500) {
      const message = detail && response.status === 503 ? `${UNAVAILABLE}: ${detail}` : UNAVAILABLE;
      throw new AgentError(message, { status: response.status, code, unavailable: true });
    }
    throw new AgentError(detail || `The request failed (HTTP ${response.status}).`, {
      status: response.status,
      code,
    });
  }
  return data;
}

/** An absolute ws:// or wss:// URL for a path on this server. */
export function socketUrl(path) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}
