"use strict";
// The dashboard: one EventSource on /events (a snapshot, then health, devices, alerts, traces as they happen).
(() => {
  const $ = id => document.getElementById(id);
  const query = location.search.includes("token=") ? location.search : "";
  const state = { devices: [], health: null, alerts: new Map(), traces: [], rates: [], last: null };

  function text(tag, value, cls) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }
  const lower = s => String(s).toLowerCase();
  const time = t => new Date(t).toLocaleTimeString();
  const num = (v, unit) => v < 0 ? "–" : (Math.round(v * 10) / 10) + unit;

  function renderDevices() {
    const body = $("devices");
    body.replaceChildren();
    const components = new Map((state.health?.components ?? []).filter(c => c.kind === "device").map(c => [c.name, c]));
    for (const d of [...state.devices].sort((a, b) => a.id.localeCompare(b.id))) {
      const c = components.get(d.id);
      const st = d.state;
      const row = document.createElement("tr");
      row.dataset.device = d.id;
      row.dataset.state = st;
      row.append(text("td", d.id), text("td", d.type), text("td", d.location), text("td", st, "state " + st),
        text("td", d.capabilities.join(", ")), text("td", time(c?.lastHeartbeat ?? d.lastSeen)));
      body.append(row);
    }
    $("no-devices").hidden = state.devices.length > 0;
  }

  function renderHealth() {
    const h = state.health;
    if (!h) return;
    const status = $("system-status");
    status.textContent = lower(h.status);
    status.className = "status " + lower(h.status);
    const body = $("services");
    body.replaceChildren();
    for (const c of h.components.filter(c => c.kind !== "device")) {
      const row = document.createElement("tr");
      row.dataset.service = c.name;
      row.dataset.status = lower(c.status);
      row.append(text("td", c.name), text("td", c.kind), text("td", c.online ? lower(c.status) : "offline", "status " + (c.online ? lower(c.status) : "offline")),
        text("td", num(c.cpuPercent, " %")), text("td", num(c.memoryPercent, " %")), text("td", num(c.responseMs, " ms")),
        text("td", c.errorRate < 0 ? "–" : (c.errorRate * 100).toFixed(1) + " %"), text("td", c.reason));
      body.append(row);
    }
  }

  function renderAlerts() {
    const list = $("alerts");
    list.replaceChildren();
    const alerts = [...state.alerts.values()].sort((a, b) => (a.state === b.state ? 0 : a.state === "Firing" ? -1 : 1) || b.firedAt.localeCompare(a.firedAt));
    for (const a of alerts.slice(0, 30)) {
      const st = lower(a.state);
      const item = text("li", `${time(a.firedAt)} ${a.severity} ${a.id}: ${a.message}` + (st === "cleared" ? ` (cleared ${time(a.clearedAt)})` : ""), `${st} ${a.severity}`);
      item.dataset.alert = a.id;
      item.dataset.state = st;
      list.append(item);
    }
    $("no-alerts").hidden = alerts.length > 0;
  }

  function renderMetrics(m) {
    const now = Date.now();
    if (state.last) {
      const seconds = (now - state.last.at) / 1000;
      if (seconds > 0) state.rates.push(Math.max(0, (m.accepted - state.last.accepted) / seconds));
      if (state.rates.length > 120) state.rates.shift();
    }
    state.last = { at: now, accepted: m.accepted };
    const box = $("counters");
    box.replaceChildren();
    for (const [label, value] of [["accepted", m.accepted], ["published", m.published], ["refused", m.rejected], ["QoS 0 dropped", m.qos0Dropped], ["connections", m.connections]]) {
      const cell = document.createElement("div");
      cell.append(text("b", String(value)), document.createTextNode(label));
      box.append(cell);
    }
    const canvas = $("rate"), ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const max = Math.max(1, ...state.rates);
    ctx.strokeStyle = "#5c6bc0";
    ctx.beginPath();
    state.rates.forEach((r, i) => {
      const x = i * canvas.width / 120, y = canvas.height - 4 - r / max * (canvas.height - 8);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }

  function renderTraces() {
    const box = $("traces");
    box.replaceChildren();
    for (const t of state.traces.slice(-10).reverse()) {
      const div = document.createElement("div");
      div.className = "trace";
      div.dataset.session = t.sessionId;
      div.append(text("div", `${time(t.at)} ${t.deviceId || t.sessionId} #${t.utterance} “${t.text}” ${t.status}, ${Math.round(t.totalMs)} ms` + (t.traceId ? ` trace ${t.traceId}` : "")));
      const bars = document.createElement("div");
      bars.className = "bars";
      const total = Math.max(t.totalMs, ...t.stages.map(s => s.startMs + s.durationMs), 1);
      // Recorded spans overlap (a parent holds its children): one row each, a real waterfall.
      if (t.fromSpans) { bars.classList.add("spans"); bars.style.height = (t.stages.length * 18) + "px"; }
      t.stages.forEach((s, i) => {
        const bar = text("div", `${s.name} ${Math.round(s.durationMs)} ms`, "bar s" + (i % 4));
        bar.dataset.stage = s.name;
        bar.style.left = (s.startMs / total * 100) + "%";
        bar.style.width = Math.max(s.durationMs / total * 100, 0.5) + "%";
        if (t.fromSpans) bar.style.top = (i * 18) + "px";
        bar.title = `${s.name}: ${s.durationMs.toFixed(1)} ms`;
        bars.append(bar);
      });
      div.append(bars);
      box.append(div);
    }
    $("no-traces").hidden = state.traces.length > 0;
    renderStageLatency();
  }

  // Per-stage latency over the recent requests: where the time goes, at a glance.
  function renderStageLatency() {
    const byStage = new Map();
    for (const t of state.traces) for (const s of t.stages) (byStage.get(s.name) ?? byStage.set(s.name, []).get(s.name)).push(s.durationMs);
    const body = $("stage-latency");
    body.replaceChildren();
    const pick = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    for (const [name, values] of byStage) {
      const sorted = [...values].sort((a, b) => a - b);
      const row = document.createElement("tr");
      row.dataset.stage = name;
      row.append(text("td", name), text("td", String(sorted.length)), text("td", num(pick(sorted, 0.5), " ms")),
        text("td", num(pick(sorted, 0.95), " ms")), text("td", num(sorted[sorted.length - 1], " ms")));
      body.append(row);
    }
  }

  function connect() {
    const events = new EventSource("events" + query);
    events.onopen = () => { $("stream").textContent = "live"; };
    events.onerror = () => { $("stream").textContent = "reconnecting"; };
    events.addEventListener("snapshot", e => {
      const s = JSON.parse(e.data);
      $("engine").textContent = s.engine;
      state.devices = s.devices;
      state.health = s.health;
      state.alerts = new Map(s.alerts.map(a => [a.id, a]));
      state.traces = s.traces;
      renderDevices(); renderHealth(); renderAlerts(); renderTraces(); renderMetrics(s.metrics);
    });
    events.addEventListener("health", e => { state.health = JSON.parse(e.data); renderHealth(); renderDevices(); });
    events.addEventListener("devices", e => { state.devices = JSON.parse(e.data); renderDevices(); });
    events.addEventListener("alert", e => { const a = JSON.parse(e.data); state.alerts.set(a.id, a); renderAlerts(); });
    events.addEventListener("trace", e => {
      // A request already shown comes again when more of its spans are recorded: replaced in place.
      const t = JSON.parse(e.data);
      const at = state.traces.findIndex(o => o.sessionId === t.sessionId && o.utterance === t.utterance && o.traceId === t.traceId);
      if (at >= 0) state.traces[at] = t; else { state.traces.push(t); if (state.traces.length > 50) state.traces.shift(); }
      renderTraces();
    });
    events.addEventListener("metrics", e => renderMetrics(JSON.parse(e.data)));
  }
  connect();
})();
