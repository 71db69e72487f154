/* The home page's reference model (aurore/web/workshop/reference.py): start its background job, then follow it.
   The job lives on the server (its record on disk), so a reload finds it and this line follows it again. */
"use strict";
(function () {
  const { _, get, post, errorMessage } = window.Aurore;
  const section = document.getElementById("reference");
  if (!section) return;

  const start = document.getElementById("reference-start");
  if (start) {
    start.addEventListener("click", async () => {
      start.disabled = true;
      const answer = await post("/jobs", { step: "reference", variant: "solution" });
      if (answer.ok) {
        window.location.reload();      // the page now says it runs, and follows it
        return;
      }
      const error = document.getElementById("reference-error");
      error.textContent = errorMessage(answer, _("The server does not answer."));
      error.hidden = false;
      start.disabled = false;
    });
  }

  const jobId = section.dataset.job;
  if (section.dataset.state !== "running" || !jobId) return;
  const line = document.getElementById("reference-progress");
  const bar = document.getElementById("reference-bar");
  const finished = ["succeeded", "failed", "cancelled", "interrupted"];

  async function follow() {
    // Only the record: a huge `after` asks for no events.
    const answer = await get(`/jobs/${encodeURIComponent(jobId)}?after=1000000000&limit=1`);
    const job = answer.ok && answer.data.job;
    if (job && finished.includes(job.status)) {
      window.location.reload();        // done or failed: the server says which
      return;
    }
    const progress = job && job.progress;
    if (progress && progress.total) {
      line.textContent = _("%(task)s: %(done)s / %(total)s %(unit)s", {
        task: progress.task || "", done: progress.done, total: progress.total, unit: progress.unit || ""});
      bar.max = progress.total;
      bar.value = progress.done;
    } else if (progress) {
      line.textContent = _("%(task)s: %(done)s %(unit)s", {task: progress.task || "", done: progress.done, unit: progress.unit || ""});
    } else {
      line.textContent = _("Starting…");
    }
    window.setTimeout(follow, 2000);
  }
  follow();
})();
