/* The run page's live loss curve, drawn by uPlot (vendored in static/vendor/uplot/: no CDN).
   Two series share one step axis: the training loss (a point at every progress event) and the
   validation loss (a point at every evaluation, so sparse). uPlot wants aligned columns
   [steps, training, validation]; a step where a series has no value holds `undefined`, which uPlot
   joins over (the validation line links its points) and which its cursor skips (hovering snaps to
   the nearest point within `HOVER_RADIUS`). Points are only ever added: the whole history stays.
   Colours come from CSS variables (--chart-*) read on the container, so a theme can restyle them. */
"use strict";
window.AuroreChart = function (container, summary) {
  const { _, pgettext, lang } = window.Aurore;
  const HOVER_RADIUS = 24;                 // CSS px: how far the cursor reaches for a sparse point
  const FALLBACK_COLOURS = { training: "#2563eb", validation: "#c2410c", ink: "#5b6472", grid: "#e3e0d8" };
  const steps = [], training = [], validation = [];
  const columns = { loss: training, val_loss: validation };
  const latest = { loss: null, val_loss: null };     // {step, value} of each series' furthest point
  const stepFormat = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });
  const lossFormat = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const tickFormat = new Intl.NumberFormat(lang, { maximumFractionDigits: 3 });
  let plot = null;
  let drawPending = false;

  container.setAttribute("aria-label", _("Loss curve by step: training and validation"));

  // -- data: a step's row is found by binary search (steps usually come in order: appending is the fast path)
  function rowOf(step) {
    let low = 0, high = steps.length;
    if (high && steps[high - 1] < step) low = high;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (steps[middle] < step) low = middle + 1; else high = middle;
    }
    if (steps[low] !== step) {
      steps.splice(low, 0, step);
      training.splice(low, 0, undefined);
      validation.splice(low, 0, undefined);
    }
    return low;
  }

  function put(name, step, value) {
    columns[name][rowOf(step)] = value;
    if (!latest[name] || step >= latest[name].step) latest[name] = { step, value };
  }

  const finite = (value) => value !== undefined && value !== null && Number.isFinite(Number(value));

  // -- drawing
  function colour(name) {
    const value = getComputedStyle(container).getPropertyValue(`--chart-${name}`).trim();
    return value || FALLBACK_COLOURS[name];
  }

  // Whole numbers only on the step axis (no "step 2.5" tick on a short run).
  const STEP_INCREMENTS = [];
  for (let power = 1; power <= 1e8; power *= 10) STEP_INCREMENTS.push(power, 2 * power, 5 * power);

  function options(width) {
    const ink = colour("ink"), grid = colour("grid");
    const axis = (label, format) => ({
      label, stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 },
      values: (self, splits) => splits.map((value) => format.format(value)),
    });
    const lossValue = (self, value) => (finite(value) ? tickFormat.format(value) : "—");
    return {
      ...sizeFor(width),
      scales: { x: { time: false } },
      cursor: { drag: { x: false, y: false }, hover: { prox: HOVER_RADIUS }, points: { size: 9 } },
      legend: { live: true },
      axes: [{ ...axis(pgettext("loss chart", "step"), stepFormat), incrs: STEP_INCREMENTS },
             { ...axis(pgettext("loss chart", "loss"), tickFormat), size: 56 }],
      series: [
        { label: pgettext("loss chart", "step"), value: (self, value) => (finite(value) ? stepFormat.format(value) : "—") },
        { label: pgettext("loss chart", "training"), stroke: colour("training"), width: 2, spanGaps: true,
          value: lossValue },
        // Dashed with filled dots: told apart from training without relying on colour.
        { label: pgettext("loss chart", "validation"), stroke: colour("validation"), width: 2, dash: [6, 4],
          spanGaps: true, value: lossValue,
          points: { show: true, size: 8, fill: colour("validation"), stroke: colour("validation") } },
      ],
    };
  }

  // Narrow screens get a shorter chart, so that the legend and the samples stay in view.
  function sizeFor(width) {
    return { width, height: width < 480 ? 220 : 280 };
  }

  function build() {
    if (plot) plot.destroy();
    plot = new window.uPlot(options(container.clientWidth || 640), [steps, training, validation], container);
    container.uplot = plot;          // for the browser tests (and a curious learner's devtools)
  }

  // Many events can arrive in one frame (a reload replays a whole run): draw once per frame.
  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      plot.setData([steps, training, validation]);
      describe();
    });
  }

  // The text alternative: where the run is, in words (what a screen reader reads for the chart).
  function describe() {
    const last = latest.loss, check = latest.val_loss;
    if (!last && !check) { summary.textContent = ""; return; }
    const step = stepFormat.format(last ? last.step : check.step);
    const loss = last ? lossFormat.format(last.value) : "—";
    summary.textContent = check
      ? _("Step %(step)s: training loss %(loss)s; validation %(validation)s (step %(checked)s).",
          { step, loss, validation: lossFormat.format(check.value), checked: stepFormat.format(check.step) })
      : _("Step %(step)s: training loss %(loss)s.", { step, loss });
  }

  // A theme change (dark mode) restyles the page's variables: rebuild with the new colours.
  const rebuild = () => { build(); describe(); };
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", rebuild);
  new MutationObserver(rebuild).observe(document.documentElement,
                                        { attributes: true, attributeFilter: ["class", "data-theme"] });

  build();

  // Follow the container's width (phones, a resized window); a hidden container measures 0: wait.
  new ResizeObserver((entries) => {
    const width = Math.floor(entries[0].contentRect.width);
    if (width > 0 && width !== plot.width) plot.setSize(sizeFor(width));
  }).observe(container);

  return {
    // values: {loss, val_loss}; each finite one becomes a point of its series. True if any did.
    add(step, values) {
      let added = false;
      for (const name of Object.keys(columns)) {
        if (finite(values[name]) && finite(step)) {
          put(name, Number(step), Number(values[name]));
          added = true;
        }
      }
      if (added) scheduleDraw();
      return added;
    },
    clear() {
      for (const column of [steps, training, validation]) column.length = 0;
      latest.loss = latest.val_loss = null;
      scheduleDraw();
    },
  };
};
