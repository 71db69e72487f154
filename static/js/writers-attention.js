/* « Ce que le modèle regarde » on the writers' page (workshop mode only).

   Once a text is written (writers.js sends "aurore:written"), asks POST /generate/attention for one
   layer's and one head's weights over its tokens and draws them with Apache ECharts' heatmap
   (static/vendor/echarts): row = the token that looks, column = the tokens it looks at. Pointing at a
   token (in the strip above the chart, or at a row of the chart) shows where it looked: its three
   heaviest sources in words, the strip shaded by its weights, its row highlighted in the chart.
   The tooltip is built without inline styles (the pages' Content-Security-Policy forbids them). */
(function () {
  const { _ } = window.Aurore;
  const $ = (id) => document.getElementById(id);
  const panel = $("attention");
  if (!panel || !window.echarts) return;
  const layerSelect = $("attention-layer");
  const headSelect = $("attention-head");
  const errorLine = $("attention-error");
  const aboutLine = $("attention-about");
  const strip = $("attention-tokens");
  const sourcesLine = $("attention-sources");
  const chartBox = $("attention-chart");
  const csrf = document.querySelector('meta[name="csrf-token"]');

  let written = null;   // {prompt, text, model} of the text shown
  let map = null;       // the server's answer
  let chart = null;
  let request = 0;      // a newer request wins over a slower older one

  /** A token as a reader sees it: spaces and line breaks made visible. */
  function shown(piece) {
    return piece.replace(/\n/g, "⏎").replace(/ /g, "·") || "∅";
  }

  function percent(weight) {
    return (100 * weight).toLocaleString(window.Aurore.lang, { maximumFractionDigits: 0 }) + " %";
  }

  function decimal(value) {
    return Number(value).toLocaleString(window.Aurore.lang, { maximumSignificantDigits: 2 });
  }

  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  /** The `count` tokens row `row` looked at most: [{column, weight}], heaviest first. */
  function topSources(row, count = 3) {
    return map.weights[row].slice(0, row + 1).map((weight, column) => ({ column, weight }))
      .sort((a, b) => b.weight - a.weight || a.column - b.column).slice(0, count);
  }

  function fillSelect(select, count, value) {
    if (select.options.length !== count) {
      select.replaceChildren(...Array.from({ length: count }, (_unused, i) => new Option(String(i + 1), String(i + 1))));
    }
    select.value = String(value);
  }

  function showError(message) {
    errorLine.textContent = message;
    errorLine.hidden = !message;
  }

  async function load() {
    if (!written) return;
    const mine = ++request;
    showError("");
    aboutLine.textContent = _("Computing the attention weights…");
    panel.setAttribute("aria-busy", "true");
    try {
      const response = await fetch("/generate/attention", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf ? csrf.content : "" },
        body: JSON.stringify({ model: written.model, text: written.prompt + written.text,
                               layer: Number(layerSelect.value), head: Number(headSelect.value) }),
      });
      const payload = await response.json().catch(() => null);
      if (mine !== request) return;
      if (!response.ok) {
        aboutLine.textContent = "";
        showError((payload && payload.error && payload.error.message) || _("Something went wrong (%(status)s)", { status: response.status }));
        return;
      }
      map = payload;
      draw();
    } catch (error) {
      if (mine === request) {
        aboutLine.textContent = "";
        showError(_("The connection to the server failed."));
      }
    } finally {
      if (mine === request) panel.removeAttribute("aria-busy");
    }
  }

  function describe() {
    const who = map.function === "exercise" ? _("your multi_head_attention (its check passed)")
                                            : _("the reference multi_head_attention");
    let line = _("Layer %(layer)s of %(layers)s, head %(head)s of %(heads)s, computed by %(who)s: it gives the layer's own output to within %(difference)s (allowed: %(tolerance)s).",
                 { layer: map.layer, layers: map.layers, head: map.head, heads: map.heads, who,
                   difference: decimal(map.difference), tolerance: decimal(map.tolerance) });
    if (map.truncated) line += " " + _("The first %(count)s tokens are left out: the map shows the last %(shown)s.", { count: map.truncated, shown: map.pieces.length });
    return line;
  }

  function colours() {
    const style = getComputedStyle(document.documentElement);
    const read = (name, fallback) => (style.getPropertyValue(name) || "").trim() || fallback;
    return { ink: read("--ink", "#222"), muted: read("--muted", "#666"), card: read("--card", "#fff"),
             accent: read("--accent", "#8a3b12"), line: read("--sheet-line", "#ddd") };
  }

  function draw() {
    fillSelect(layerSelect, map.layers, map.layer);
    fillSelect(headSelect, map.heads, map.head);
    aboutLine.textContent = describe();
    const labels = map.pieces.map(shown);
    strip.replaceChildren(...labels.map((label, index) => {
      const token = document.createElement("span");
      token.className = "attention-token";
      token.tabIndex = 0;
      token.dataset.index = String(index);
      token.textContent = label;
      return token;
    }));
    const data = [];
    map.weights.forEach((row, y) => { for (let x = 0; x <= y; x += 1) data.push([x, y, row[x]]); });
    const colour = colours();
    const size = Math.min(640, Math.max(260, 22 * labels.length + 90));
    chartBox.style.height = `${size}px`;
    if (!chart) {
      chart = window.echarts.init(chartBox, null, { renderer: "canvas" });
      chart.on("mouseover", (event) => { if (event.seriesType === "heatmap") select(event.data[1]); });
      window.addEventListener("resize", () => chart.resize());
    }
    chart.setOption({
      animation: false,
      textStyle: { color: colour.ink },
      grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
      tooltip: {
        position: "top", confine: true, className: "attention-tooltip",   // confined: no arrow, an inline style the CSP refuses
        formatter: (item) => {
          const [x, y, weight] = item.data;
          return `<b>${escapeHtml(labels[y])}</b> → ${escapeHtml(labels[x])} : ${escapeHtml(percent(weight))}`;
        },
      },
      xAxis: { type: "category", data: labels, position: "top", axisLabel: { rotate: 60, color: colour.muted },
               splitArea: { show: false }, axisTick: { show: false } },
      yAxis: { type: "category", data: labels, inverse: true, axisLabel: { color: colour.muted }, axisTick: { show: false } },
      visualMap: { show: false, min: 0, max: 1, inRange: { color: [colour.card, colour.accent] } },
      series: [{ type: "heatmap", name: "attention", data,
                 itemStyle: { borderColor: colour.line, borderWidth: 0.5 },
                 emphasis: { itemStyle: { borderColor: colour.ink, borderWidth: 1.5 } } }],
    }, true);
    select(labels.length - 1);
  }

  /** Show where token `row` looked: the words, the strip's shading, its row in the chart. */
  function select(row) {
    if (!map || row < 0 || row >= map.pieces.length) return;
    const sources = topSources(row);
    sourcesLine.textContent = _("« %(token)s » looked most at: %(sources)s.", {
      token: shown(map.pieces[row]),
      sources: sources.map(({ column, weight }) => `« ${shown(map.pieces[column])} » ${percent(weight)}`).join(", "),
    });
    for (const token of strip.children) {
      const column = Number(token.dataset.index);
      const weight = column <= row ? map.weights[row][column] : 0;
      token.classList.toggle("attention-looking", column === row);
      token.classList.toggle("attention-heavy", weight > 0.5);     // light text on a dark cell
      token.style.setProperty("--weight", String(weight));
      token.dataset.weight = weight.toFixed(3);
    }
    const first = (row * (row + 1)) / 2;
    chart.dispatchAction({ type: "downplay", seriesIndex: 0 });
    chart.dispatchAction({ type: "highlight", seriesIndex: 0,
                           dataIndex: Array.from({ length: row + 1 }, (_unused, i) => first + i) });
    panel.dataset.row = String(row);
  }

  strip.addEventListener("mouseover", (event) => {
    const token = event.target.closest(".attention-token");
    if (token) select(Number(token.dataset.index));
  });
  strip.addEventListener("focusin", (event) => {
    const token = event.target.closest(".attention-token");
    if (token) select(Number(token.dataset.index));
  });
  // Another theme: the chart's colours come from its CSS variables, so draw it again.
  new MutationObserver(() => { if (map) draw(); }).observe(document.documentElement,
                                                           { attributes: true, attributeFilter: ["data-theme"] });
  layerSelect.addEventListener("change", load);
  headSelect.addEventListener("change", load);
  document.addEventListener("aurore:written", (event) => {
    written = event.detail;
    if (!written || !written.text) return;
    panel.hidden = false;
    load();
  });
})();
