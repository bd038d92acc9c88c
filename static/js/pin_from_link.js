// The welcome email's link carries the PIN after '#' (/portal/pin/#pin=7KQFX82Z913P), which browsers
// never send to the server: it stays out of requests, access logs and Referer, and opening the link
// consumes nothing. Fill the PIN field in from it, take it out of the address bar, and move on to the
// child's date of birth. Typing the PIN stays the way in without the link.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.hash.slice(1));
  if (!params.has("pin")) {
    return;
  }
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  var field = document.querySelector("input[name=pin]");
  var code = (params.get("pin") || "").toUpperCase().replace(/[^0-9A-Z]/g, "");
  if (!field || field.value || code.length !== 12) {
    return;
  }
  field.value = code.match(/.{4}/g).join("-");
  var birthDate = document.querySelector("input[name=child_birth_date]");
  if (birthDate) {
    birthDate.focus();
  }
})();
