/* gmc charts: draws every <canvas data-chart="ID"> from the JSON in <script type="application/json" id="ID">
   with the vendored Chart.js (loaded only on pages that have a chart). The data table and CSV link beside
   each canvas come from the server, so nothing is lost without JavaScript. No inline script is needed. */
(function () {
  "use strict";
  var me = document.currentScript;
  var chartjsUrl = me && me.dataset.chartjs;
  var loading = null;

  function loadChartJs() {
    if (window.Chart) return Promise.resolve(window.Chart);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = chartjsUrl;
        s.onload = function () { resolve(window.Chart); };
        s.onerror = function () { reject(new Error("Chart.js failed to load from " + chartjsUrl)); };
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  function outside(spec, v) {
    if (v === null || v === undefined) return false;
    if (spec.target !== null && spec.target !== undefined && v > spec.target) return true;
    if (spec.band && (v < spec.band[0] || v > spec.band[1])) return true;
    return false;
  }

  function fmt(v) {
    if (v === null || v === undefined) return "–";
    return Number.isInteger(v) ? v.toLocaleString("en-GB") : (Math.round(v * 1000) / 1000).toLocaleString("en-GB");
  }

  /* Draws the target line and the expected band on the value axis. */
  var guides = {
    id: "gmcGuides",
    beforeDatasetsDraw: function (chart, args, opts) {
      var spec = opts.spec;
      if (!spec || !spec.band) return;
      var axis = chart.scales[spec.horizontal ? "x" : "y"], area = chart.chartArea, ctx = chart.ctx;
      var a = axis.getPixelForValue(spec.band[0]), b = axis.getPixelForValue(spec.band[1]);
      ctx.save();
      ctx.fillStyle = "rgba(46,133,64,0.15)";
      if (spec.horizontal) ctx.fillRect(Math.min(a, b), area.top, Math.abs(b - a), area.bottom - area.top);
      else ctx.fillRect(area.left, Math.min(a, b), area.right - area.left, Math.abs(b - a));
      ctx.restore();
    },
    afterDatasetsDraw: function (chart, args, opts) {
      var spec = opts.spec;
      if (!spec || spec.target === null || spec.target === undefined) return;
      var axis = chart.scales[spec.horizontal ? "x" : "y"], area = chart.chartArea, ctx = chart.ctx;
      var p = axis.getPixelForValue(spec.target);
      ctx.save();
      ctx.strokeStyle = "#8a4500";
      ctx.fillStyle = "#8a4500";
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      if (spec.horizontal) { ctx.moveTo(p, area.top); ctx.lineTo(p, area.bottom); }
      else { ctx.moveTo(area.left, p); ctx.lineTo(area.right, p); }
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = "11px system-ui, sans-serif";
      ctx.textAlign = spec.horizontal ? "center" : "right";
      if (spec.horizontal) ctx.fillText("target " + fmt(spec.target), p, area.top - 4);
      else ctx.fillText("target " + fmt(spec.target), area.right, p - 4);
      ctx.restore();
    }
  };

  function config(spec) {
    var single = spec.series.length === 1;
    var datasets = spec.series.map(function (s) {
      var values = s.values.map(function (v) {
        return (spec.max !== null && spec.max !== undefined && v !== null && v > spec.max) ? spec.max : v;
      });
      var colours = s.values.map(function (v) { return outside(spec, v) ? spec.alert : s.colour; });
      return {
        label: s.label || spec.unit || spec.title,
        data: values,
        raw: s.values,
        backgroundColor: spec.kind === "bar" && single ? colours : s.colour,
        borderColor: spec.kind === "line" ? s.colour : undefined,
        pointBackgroundColor: spec.kind === "line" ? colours : undefined,
        spanGaps: true
      };
    });
    var valueAxis = {
      beginAtZero: true, stacked: spec.stacked,
      title: { display: !!spec.unit, text: spec.unit },
      max: spec.max === null ? undefined : spec.max,
      suggestedMax: spec.target !== null && spec.target !== undefined ? spec.target * 1.1
        : (spec.band ? spec.band[1] * 1.1 : undefined)
    };
    var categoryAxis = { stacked: spec.stacked, ticks: { autoSkip: false } };
    return {
      type: spec.kind,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        layout: { padding: { top: 16 } },
        scales: spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          legend: { display: !single },
          tooltip: {
            callbacks: {
              label: function (item) {
                var raw = item.dataset.raw[item.dataIndex];
                return (item.dataset.label ? item.dataset.label + ": " : "") + fmt(raw) + (spec.unit ? " " + spec.unit : "");
              }
            }
          },
          gmcGuides: { spec: spec }
        }
      },
      plugins: [guides]
    };
  }

  function draw(root) {
    var canvases = (root || document).querySelectorAll("canvas[data-chart]:not([data-drawn])");
    if (!canvases.length) return;
    loadChartJs().then(function (Chart) {
      canvases.forEach(function (canvas) {
        var block = document.getElementById(canvas.dataset.chart);
        if (!block) return;
        var spec = JSON.parse(block.textContent);
        var area = canvas.parentElement;
        var legend = spec.series.length > 1 ? 30 : 0;
        area.style.height = spec.horizontal ? Math.max(120, 60 + legend + spec.labels.length * 28) + "px" : "280px";
        canvas.dataset.drawn = "1";
        new Chart(canvas, config(spec));
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { draw(); });
  else draw();
  document.addEventListener("htmx:afterSettle", function (ev) { draw(ev.target); });
})();
