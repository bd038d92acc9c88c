// The "confirm your email" link carries its key after '#', which browsers never send to the server
// (so it stays out of access logs). Copy it into the form, and take it out of the address bar.
(function () {
  "use strict";
  var field = document.querySelector("input[name=key]");
  var key = window.location.hash.slice(1);
  if (field && key && !field.value) {
    field.value = decodeURIComponent(key);
    window.history.replaceState(null, "", window.location.pathname);
  }
  var missing = document.getElementById("link-missing");
  if (missing && field && field.value) {
    missing.hidden = true;
  }
})();
