// One error banner per page: the latest message wins, the user can dismiss it.

const banner = document.getElementById("banner");
const text = banner.querySelector(".banner-text");
banner.querySelector(".banner-close").addEventListener("click", hideError);

export function showError(message) {
  text.textContent = message;
  banner.hidden = false;
}

export function hideError() {
  banner.hidden = true;
  text.textContent = "";
}

export function reportError(error) {
  showError(error && error.message ? error.message : String(error));
}
