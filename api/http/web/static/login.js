// Log in with the API's OAuth2 password flow; the token stays in this tab only.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = new URLSearchParams({
      username: document.getElementById("username").value,
      password: document.getElementById("password").value,
    });
    const answer = await fetch("/auth/token", { method: "POST", body });
    if (!answer.ok) {
      document.getElementById("login-error").hidden = false;
      return;
    }
    sessionStorage.setItem(Relief.TOKEN, (await answer.json()).access_token);
    const next = new URLSearchParams(location.search).get("next");
    // Only a path on this server: never an address elsewhere.
    location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
  });
});
