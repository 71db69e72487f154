/* A small line chart on a canvas, for the live loss curve (no library, nothing from a CDN). */
"use strict";
window.AuroreChart = function (canvas) {
  const series = { loss: [], val_loss: [] };
  const colours = { loss: "#2563eb", val_loss: "#ea580c" };
  const ctx = canvas.getContext("2d");

  function draw() {
    const w = canvas.width, h = canvas.height, pad = 40;
    ctx.clearRect(0, 0, w, h);
    const points = series.loss.concat(series.val_loss);
    if (!points.length) return;
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
    let y0 = Math.min(...ys), y1 = Math.max(...ys);
    if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
    const px = (x) => pad + (x - x0) / (x1 - x0) * (w - 2 * pad);
    const py = (y) => h - pad + (y0 - y) / (y1 - y0) * (h - 2 * pad);
    ctx.strokeStyle = "#9ca3af"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(pad, pad / 2); ctx.lineTo(pad, h - pad); ctx.lineTo(w - pad / 2, h - pad); ctx.stroke();
    ctx.fillStyle = "#4b5563"; ctx.font = "12px sans-serif";
    ctx.fillText(y1.toFixed(2), 2, py(y1) + 4); ctx.fillText(y0.toFixed(2), 2, py(y0));
    ctx.fillText(String(x0), pad, h - pad + 16); ctx.fillText(String(x1), w - pad - 20, h - pad + 16);
    for (const name of Object.keys(series)) {
      const data = series[name];
      if (!data.length) continue;
      ctx.strokeStyle = colours[name]; ctx.fillStyle = colours[name]; ctx.lineWidth = 2;
      ctx.beginPath();
      data.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
      ctx.stroke();
      data.forEach(([x, y]) => { ctx.beginPath(); ctx.arc(px(x), py(y), 2.5, 0, 2 * Math.PI); ctx.fill(); });
    }
  }

  return {
    add(step, values) {
      let added = false;
      for (const name of Object.keys(series)) {
        const value = Number(values[name]);
        if (values[name] !== undefined && values[name] !== null && Number.isFinite(value)) {
          series[name].push([Number(step), value]);
          series[name].sort((a, b) => a[0] - b[0]);
          added = true;
        }
      }
      if (added) draw();
      return added;
    },
    clear() { series.loss = []; series.val_loss = []; draw(); },
    count() { return series.loss.length + series.val_loss.length; },
  };
};
