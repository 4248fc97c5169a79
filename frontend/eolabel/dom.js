// Building DOM from data without ever parsing it as HTML: text goes through text nodes only.

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key === "style") element.style.cssText = String(value); // CSSOM: allowed by the CSP, a style attribute is not
    else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

// "2024-06-01 10:32 UTC", or a dash when the date is unknown.
export function formatAcquired(iso) {
  if (!iso) return "date unknown";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "date unknown";
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

// A file-like name that may wrap after its underscores, dots and dashes instead of anywhere.
export function breakableName(name) {
  const parts = String(name).split(/(?<=[_.-])/);
  return parts.flatMap((part, index) => (index ? [document.createElement("wbr"), part] : [part]));
}
