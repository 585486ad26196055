// Chart.js, bundled from npm; no animation, so a chart is complete as soon as it is drawn.
import { Chart, registerables } from "chart.js";

Chart.register(...registerables);
Chart.defaults.animation = false;
Chart.defaults.responsive = true;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', sans-serif";

const COLORS = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#64748b"];
const live = new Set();

export function chart(canvasHolder, type, labels, datasets, options = {}) {
  const canvas = document.createElement("canvas");
  canvasHolder.replaceChildren(canvas);
  const instance = new Chart(canvas, {
    type,
    data: {
      labels,
      datasets: datasets.map((ds, i) => ({
        backgroundColor: COLORS[i % COLORS.length],
        borderColor: COLORS[i % COLORS.length],
        ...ds,
      })),
    },
    options: { plugins: { legend: { position: "bottom" } }, ...options },
  });
  live.add(instance);
  return instance;
}

export function destroyCharts() {
  for (const instance of live) instance.destroy();
  live.clear();
}
