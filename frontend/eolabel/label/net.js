// Writes to the labelling API with Django's CSRF token. A request that never got an answer throws
// NetworkError (the caller may retry it as is); an answer, good or bad, comes back as {status, body}.

export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.name = "NetworkError";
  }
}

export function makePost(csrfToken) {
  return async function post(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify(body ?? {}),
      });
    } catch (error) {
      throw new NetworkError(`the server cannot be reached (${error.message})`);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    return { status: response.status, ok: response.ok, body: data };
  };
}

// "detail" of a DRF error body, or of its first field error.
export function detailOf(body, status) {
  if (body && typeof body.detail === "string") return body.detail;
  if (body && typeof body === "object") {
    for (const [field, messages] of Object.entries(body)) {
      const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
      return `${field}: ${text}`;
    }
  }
  return `the server answered ${status}`;
}

export function newSubmissionId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
