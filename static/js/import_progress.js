// The progress of an import or a Register all: asks how far the task worker got, every second, and shows
// the finished page when the run ends. Loaded as a file: the Content-Security-Policy allows no inline script.
// Without script, a <noscript> refresh reloads the whole page instead.
(() => {
  const box = document.querySelector("[data-progress-url]");
  if (!box) return;
  const bar = box.querySelector("progress");
  const stage = box.querySelector("[data-stage]");
  const count = box.querySelector("[data-count]");
  const number = new Intl.NumberFormat("en-US");
  const noun = box.dataset.noun || "records";  // what is counted: an import's records, Register all's patients

  const show = (run) => {
    if (stage.textContent !== run.label) stage.textContent = run.label;  // role=status: said when it changes
    if (run.total > 0) {
      bar.max = run.total;
      bar.value = Math.min(run.done, run.total);
      count.textContent = `${number.format(run.done)} of ${number.format(run.total)} ${noun}`;
    }
  };

  const poll = async () => {
    try {
      const response = await fetch(box.dataset.progressUrl, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      const json = (response.headers.get("Content-Type") || "").startsWith("application/json");
      if (response.ok && json) {
        const run = await response.json();
        if (run.finished) {
          window.location.reload();  // the page now shows the report, or what went wrong
          return;
        }
        show(run);
      } else if (response.status < 500) {
        window.location.reload();  // signed out, or no longer allowed: the page itself says so
        return;
      }
    } catch {
      // The network blinked; ask again at the next tick.
    }
    window.setTimeout(poll, 1000);
  };
  window.setTimeout(poll, 1000);
})();
