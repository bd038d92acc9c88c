// The welcome email's link carries the PIN after '#' (/portal/pin/#pin=7KQFX82Z913P), which browsers
// never send to the server: it stays out of requests, access logs and Referer, and opening the link
// consumes nothing. Fill the PIN field in from it, take it out of the address bar, and move on to the
// child's date of birth. Typing the PIN stays the way in without the link.
//
// A parent with an account follows "Sign in first" and comes back to this page without the fragment:
// the PIN waits for them in this tab's sessionStorage (never sent anywhere), for half an hour at most,
// and is dropped once the form is sent.
(function () {
  "use strict";
  var KEY = "portalreg.pin-from-link";
  var KEPT_FOR_MS = 30 * 60 * 1000;
  var field = document.querySelector("input[name=pin]");

  function remember(code) {
    try {
      window.sessionStorage.setItem(KEY, JSON.stringify({ code: code, at: Date.now() }));
    } catch (e) {
      // Storage refused (private mode, quota): the parent types the PIN after signing in.
    }
  }

  function remembered() {
    try {
      var kept = JSON.parse(window.sessionStorage.getItem(KEY) || "null");
      if (kept && Date.now() - kept.at < KEPT_FOR_MS) {
        return kept.code;
      }
      window.sessionStorage.removeItem(KEY);
    } catch (e) {
      // Nothing kept, or unreadable: fall back to typing.
    }
    return "";
  }

  function forget() {
    try {
      window.sessionStorage.removeItem(KEY);
    } catch (e) {
      // Nothing to forget.
    }
  }

  var params = new URLSearchParams(window.location.hash.slice(1));
  var code = "";
  if (params.has("pin")) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    code = (params.get("pin") || "").toUpperCase().replace(/[^0-9A-Z]/g, "");
    if (code.length === 12) {
      remember(code);
    }
  } else {
    code = remembered();
  }
  if (!field || code.length !== 12) {
    return;
  }
  if (field.form) {
    field.form.addEventListener("submit", forget);
  }
  if (field.value) {
    return;
  }
  field.value = code.match(/.{4}/g).join("-");
  var birthDate = document.querySelector("input[name=child_birth_date]");
  if (birthDate) {
    birthDate.focus();
  }
})();
