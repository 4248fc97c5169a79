// Same-origin JSON reads from the eolabel API. Every failure becomes an ApiError with a readable message.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

function withParams(url, params) {
  const target = new URL(url, window.location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(key, value);
  }
  return target;
}

export async function failureMessage(response) {
  if (response.status === 401 || response.status === 403) {
    return "Your session has ended or lacks permission: reload the page to log in again.";
  }
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") return `${response.status}: ${body.detail}`;
  } catch {
    // Not JSON (an HTML error page): the status line says enough.
  }
  return `${response.status}: ${response.statusText || "request failed"}`;
}

export async function getJson(url, params = {}) {
  let response;
  try {
    response = await fetch(withParams(url, params), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
  } catch (error) {
    throw new ApiError(`The server cannot be reached (${error.message}).`, 0);
  }
  if (!response.ok) throw new ApiError(await failureMessage(response), response.status);
  return response.json();
}

// Every result of a paginated list ({count, next, previous, results}), following `next` up to maxPages.
export async function getAllPages(url, params = {}, { maxPages = 20 } = {}) {
  const results = [];
  let page = await getJson(url, params);
  results.push(...page.results);
  for (let n = 1; page.next && n < maxPages; n += 1) {
    page = await getJson(page.next);
    results.push(...page.results);
  }
  return { count: page.count, results };
}
