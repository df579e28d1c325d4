// kmirror's live page: polls /status and /api/history every two seconds and
// draws the clusters and flows, lag and latency charts, and problems.
// Plain JavaScript and SVG, embedded in the binary: no build step.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2"];
const STATE_COLORS = { running: "#16a34a", paused: "#9ca3af", failed: "#dc2626", stopped: "#9ca3af" };

function el(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmtNumber(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  const abs = Math.abs(n);
  if (abs >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (abs >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (abs >= 1e4) return (n / 1e3).toFixed(1) + "k";
  if (abs >= 100 || Number.isInteger(n)) return Math.round(n).toString();
  return n.toFixed(1);
}

function fmtBytes(n) {
  if (!n) return "0 B";
  const units = ["B", "kB", "MB", "GB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return n.toFixed(n >= 100 || i === 0 ? 0 : 1) + " " + units[i];
}

function colorOf(flows, name) {
  return COLORS[Math.max(0, flows.indexOf(name)) % COLORS.length];
}

// ---- topology -------------------------------------------------------------

function drawTopology(status) {
  const svg = document.getElementById("topology");
  svg.replaceChildren();
  const defs = el("defs");
  for (const [state, color] of Object.entries(STATE_COLORS).concat([["lagging", "#d97706"]])) {
    const marker = el("marker", { id: "arrow-" + state, viewBox: "0 0 10 10", refX: "9", refY: "5",
      markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
    marker.appendChild(el("path", { d: "M0,0 L10,5 L0,10 z", fill: color }));
    defs.appendChild(marker);
  }
  svg.appendChild(defs);

  const clusters = [];
  for (const f of status.flows) {
    for (const c of [f.source, f.target]) if (!clusters.includes(c)) clusters.push(c);
  }
  if (clusters.length === 0) {
    svg.appendChild(el("text", { x: 450, y: 130, "text-anchor": "middle" }, "no flows"));
    return;
  }
  const W = 900, H = 260, boxW = 170, boxH = 56;
  const pos = {};
  if (clusters.length <= 2) {
    clusters.forEach((c, i) => { pos[c] = { x: clusters.length === 1 ? W / 2 : (i === 0 ? 150 : W - 150), y: H / 2 }; });
  } else {
    clusters.forEach((c, i) => {
      const a = (2 * Math.PI * i) / clusters.length - Math.PI / 2;
      pos[c] = { x: W / 2 + Math.cos(a) * (W / 2 - 120), y: H / 2 + Math.sin(a) * (H / 2 - 40) };
    });
  }

  for (const f of status.flows) {
    const a = pos[f.source], b = pos[f.target];
    const dx = b.x - a.x, dy = b.y - a.y;
    const len = Math.hypot(dx, dy) || 1;
    const ux = dx / len, uy = dy / len;
    // Each direction bends to its own side, so A->B and B->A do not overlap.
    const nx = -uy, ny = ux;
    const bend = 52;
    const sx = a.x + ux * (boxW / 2 + 6) + nx * 14, sy = a.y + uy * (boxH / 2) * Math.abs(uy) + ny * 14;
    const ex = b.x - ux * (boxW / 2 + 10) + nx * 14, ey = b.y - uy * (boxH / 2) * Math.abs(uy) + ny * 14;
    const cx = (sx + ex) / 2 + nx * bend, cy = (sy + ey) / 2 + ny * bend;
    const lagging = f.state === "running" && f.lag_records > 0 && f.lag_seconds > 5;
    const key = lagging ? "lagging" : (STATE_COLORS[f.state] ? f.state : "stopped");
    const color = lagging ? "#d97706" : STATE_COLORS[key];
    const g = el("g", { class: "flow", "data-flow": f.name });
    g.appendChild(el("path", { d: `M${sx},${sy} Q${cx},${cy} ${ex},${ey}`, stroke: color,
      "marker-end": `url(#arrow-${key})`, "stroke-dasharray": f.state === "running" ? "" : "6 5" }));
    const lx = (sx + ex) / 2 + nx * (bend / 2 + 8), ly = (sy + ey) / 2 + ny * (bend / 2 + 8);
    const heartbeatsOnly = f.mode === "heartbeats only";
    const label = f.state !== "running" ? f.state
      : heartbeatsOnly ? "heartbeats only"
      : `${fmtNumber(f.records_per_second)} rec/s · ${fmtBytes(f.bytes_per_second)}/s`;
    g.appendChild(el("text", { class: "rate", x: lx, y: ly + (ny > 0 ? 10 : -4), "text-anchor": "middle" }, label));
    const detail = heartbeatsOnly ? f.name : `${f.name} · lag ${fmtNumber(f.lag_records)}` +
      (f.latency_mean_ms != null ? ` · ${fmtNumber(f.latency_mean_ms)} ms` : "");
    g.appendChild(el("text", { class: "detail", x: lx, y: ly + (ny > 0 ? 25 : -19), "text-anchor": "middle" }, detail));
    svg.appendChild(g);
  }
  for (const c of clusters) {
    const p = pos[c];
    const g = el("g", { class: "cluster", "data-cluster": c });
    g.appendChild(el("rect", { x: p.x - boxW / 2, y: p.y - boxH / 2, width: boxW, height: boxH, rx: 10 }));
    g.appendChild(el("text", { x: p.x, y: p.y + 6, "text-anchor": "middle" }, c));
    svg.appendChild(g);
  }
}

// ---- charts ---------------------------------------------------------------

function drawChart(svgId, legendId, history, flows, pick, unit) {
  const svg = document.getElementById(svgId);
  svg.replaceChildren();
  const W = 440, H = 200, left = 46, right = 8, top = 8, bottom = 22;
  const samples = history.samples || [];
  const t1 = samples.length ? samples[samples.length - 1].time_ms : Date.now();
  const t0 = samples.length ? Math.min(samples[0].time_ms, t1 - 60000) : t1 - 60000;
  let max = 0;
  for (const s of samples) for (const f of flows) {
    const v = s.flows[f] ? pick(s.flows[f]) : null;
    if (v != null && v > max) max = v;
  }
  max = max > 0 ? max * 1.15 : 1;
  const x = t => left + ((t - t0) / Math.max(1, t1 - t0)) * (W - left - right);
  const y = v => top + (1 - v / max) * (H - top - bottom);
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    svg.appendChild(el("line", { class: "axis", x1: left, x2: W - right, y1: y(v), y2: y(v) }));
    svg.appendChild(el("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end" }, fmtNumber(v)));
  }
  const minutes = Math.round((t1 - t0) / 60000);
  svg.appendChild(el("text", { x: left, y: H - 6 }, `−${minutes} min`));
  svg.appendChild(el("text", { x: W - right, y: H - 6, "text-anchor": "end" }, "now"));
  const legend = document.getElementById(legendId);
  legend.replaceChildren();
  flows.forEach((f, i) => {
    const points = [];
    for (const s of samples) {
      const v = s.flows[f] ? pick(s.flows[f]) : null;
      if (v != null) points.push(`${x(s.time_ms).toFixed(1)},${y(v).toFixed(1)}`);
    }
    const color = COLORS[i % COLORS.length];
    svg.appendChild(el("polyline", { points: points.join(" "), fill: "none", stroke: color,
      "stroke-width": 2, "data-flow": f, "data-points": points.length }));
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = color;
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(`${f} (${points.length ? fmtNumber(lastValue(samples, f, pick)) : "–"} ${unit})`));
    legend.appendChild(item);
  });
}

function lastValue(samples, flow, pick) {
  for (let i = samples.length - 1; i >= 0; i--) {
    const v = samples[i].flows[flow] ? pick(samples[i].flows[flow]) : null;
    if (v != null) return v;
  }
  return null;
}

// ---- tables ---------------------------------------------------------------

function drawTable(status) {
  const body = document.querySelector("#flows tbody");
  body.replaceChildren();
  for (const f of status.flows) {
    const tr = document.createElement("tr");
    tr.dataset.flow = f.name;
    // A heartbeats-only pair replicates nothing: its state says so.
    const state = f.mode === "heartbeats only" ? `${f.state} (heartbeats only)` : f.state;
    const cells = [f.name, f.connector || "–", state, fmtNumber(f.records_per_second), fmtBytes(f.bytes_per_second) + "/s",
      fmtNumber(f.lag_records), fmtNumber(f.lag_seconds), fmtNumber(f.latency_mean_ms),
      fmtNumber(f.heartbeat_age_seconds), `${f.topics.reduce((n, t) => n + t.partitions.length, 0)}` + (f.paused_partitions ? ` (${f.paused_partitions} paused)` : "")];
    cells.forEach((c, i) => {
      const td = document.createElement("td");
      td.textContent = c;
      if (i === 2) td.className = "state-" + f.state;
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
}

// Who runs what of each flow (the flows table shows this worker's share).
function drawWorkers(status) {
  const body = document.querySelector("#workers tbody");
  body.replaceChildren();
  for (const f of status.flows) {
    const g = f.group;
    if (!g) continue;
    const members = g.generation < 0 ? [null] : g.members;
    for (const m of members) {
      const tr = document.createElement("tr");
      const runs = !m ? "not a member (rejoining)"
        : (m.refused ? "refused: configuration differs"
          : [m.control ? "control" : null, `${m.partitions} partitions`].filter(Boolean).join(" + "));
      const worker = !m ? g.worker_id : m.worker_id + (m.worker_id === g.worker_id ? " (this)" : "");
      for (const c of [f.name, g.group_id, String(g.generation), worker, runs]) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }
  if (!body.children.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 5; td.className = "muted"; td.textContent = "no group yet";
    tr.appendChild(td); body.appendChild(tr);
  }
}

function drawProblems(status) {
  const list = document.getElementById("problems");
  list.replaceChildren();
  const add = (cls, text) => { const li = document.createElement("li"); li.className = cls; li.textContent = text; list.appendChild(li); };
  for (const f of status.flows) {
    if (f.error) add("error", `${f.name}: ${f.error}`);
    for (const t of f.topics) for (const p of t.partitions) {
      if (p.state === "paused") {
        const since = p.paused_since_ms ? ` since ${new Date(p.paused_since_ms).toLocaleTimeString()}` : "";
        add("paused", `${f.name} ${t.topic}-${p.partition} paused${since}: ${p.last_error || "?"}`);
      }
    }
  }
  if (!list.children.length) add("muted", "none");
}

// ---- loop -----------------------------------------------------------------

async function refresh() {
  try {
    const [status, history] = await Promise.all([
      fetch("/status").then(r => r.json()),
      fetch("/api/history").then(r => r.json()),
    ]);
    document.getElementById("instance").textContent =
      `${status.worker_id} · v${status.version} · up ${fmtNumber(status.uptime_seconds)} s`;
    const phase = document.getElementById("phase");
    phase.textContent = status.phase;
    phase.className = "badge " + status.phase;
    const names = status.flows.map(f => f.name);
    drawTopology(status);
    drawChart("lag-chart", "lag-legend", history, names, s => s.lag_records, "records");
    drawChart("latency-chart", "latency-legend", history, names, s => s.latency_mean_ms, "ms");
    drawTable(status);
    drawWorkers(status);
    drawProblems(status);
    document.body.dataset.updated = String(Date.now());
  } catch (e) {
    document.getElementById("instance").textContent = "cannot reach kmirror: " + e;
  }
}

refresh();
setInterval(refresh, 2000);
