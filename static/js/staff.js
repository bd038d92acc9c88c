// Small behaviours for staff pages. Loaded as a file: the Content-Security-Policy allows no inline script.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action='print']");
  if (button) window.print();
});
