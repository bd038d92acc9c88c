// A "Show password" button after each password field, so a parent on a phone can check what they typed.
// Without this script the fields work as usual. The button's words come from the script tag
// (data-show, data-hide), in the page's language.
(function () {
  "use strict";
  var words = document.currentScript ? document.currentScript.dataset : {};
  var show = words.show || "Show password";
  var hide = words.hide || "Hide password";
  document.querySelectorAll("input[type=password]").forEach(function (input) {
    var button = document.createElement("button");
    button.type = "button"; // never the form's default button: Enter still submits the form
    button.className = "password-toggle small";
    button.textContent = show;
    button.setAttribute("aria-controls", input.id);
    button.addEventListener("click", function () {
      var hidden = input.type === "password";
      input.type = hidden ? "text" : "password";
      button.textContent = hidden ? hide : show;
    });
    input.insertAdjacentElement("afterend", button);
  });
})();
