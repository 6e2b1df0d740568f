/* Draws the dashboard's charts from the JSON the page carries (#analytics-data).
   Every chart's numbers are also in a table next to it; lines differ by dash and marker, not colour alone. */
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("analytics-data");
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var ink = "#1f2430", accent = "#7a3e9d";
    Chart.defaults.color = ink;
    Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
    Chart.defaults.animation = false;

    function bars(id, set, label, horizontal) {
      var canvas = document.getElementById(id);
      if (!canvas || !set.labels.length) return;
      new Chart(canvas, {
        type: "bar",
        data: { labels: set.labels, datasets: [{ label: label, data: set.counts, backgroundColor: accent, borderColor: ink, borderWidth: 1 }] },
        options: {
          indexAxis: horizontal ? "y" : "x",
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { beginAtZero: true, ticks: { precision: 0 } } }
        }
      });
    }

    bars("funnel-chart", data.funnel, "Calls", true);
    bars("missed-chart", data.missed, "Missed calls", false);
    bars("escalations-chart", data.escalations, "Escalations", false);

    var daily = document.getElementById("daily-chart");
    if (daily) {
      var styles = [
        ["calls", "Calls", "#1f2430", [], "circle"],
        ["missed", "Missed", "#b42318", [6, 4], "triangle"],
        ["texted", "Texted back", "#2f6fed", [2, 3], "rect"],
        ["booked", "Booked", "#166534", [10, 3, 2, 3], "rectRot"]
      ];
      new Chart(daily, {
        type: "line",
        data: {
          labels: data.daily.labels,
          datasets: styles.map(function (s) {
            return { label: s[1], data: data.daily[s[0]], borderColor: s[2], backgroundColor: s[2], borderDash: s[3], pointStyle: s[4], pointRadius: 3, borderWidth: 2, tension: 0 };
          })
        },
        options: {
          maintainAspectRatio: false,
          interaction: { mode: "index", intersect: false },
          plugins: { legend: { labels: { usePointStyle: true } } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
        }
      });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
