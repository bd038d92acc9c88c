// The Import page: "Preview the import" stays disabled until a file is chosen. Without script the
// button works and the server answers an empty form with "Choose the file to import first."
const form = document.querySelector("form.import-upload");
if (form) {
  const input = form.querySelector('input[type="file"]');
  const button = form.querySelector('button[type="submit"]');
  const update = () => {
    button.disabled = input.files.length === 0;
  };
  input.addEventListener("change", update);
  // A file kept by the browser's back button counts as chosen.
  window.addEventListener("pageshow", update);
  update();
}
