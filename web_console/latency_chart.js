// The per-turn latency chart: one stacked bar per turn (end-of-speech wait, STT, brain, TTS) in inline SVG.
// A bar has only the stages its turn had: a typed turn has no end-of-speech wait and no speech to text.

const SVG = "http://www.w3.org/2000/svg";
export const STAGES = [
  { key: "wait", label: "End-of-speech wait", color: "#94a3b8" },
  { key: "stt", label: "Speech to text", color: "#38bdf8" },
  { key: "brain", label: "Brain", color: "#6366f1" },
  { key: "tts", label: "Text to speech", color: "#f59e0b" },
];

const first = (...values) => values.find((v) => typeof v === "number" && Number.isFinite(v)) ?? 0;

/** One turn's figures from a `latency` event's data or a stored call turn, in milliseconds. */
export function turnFigures(data) {
  const figures = {
    wait: first(data.endpoint_wait_ms),
    stt: first(data.stt_ms),
    brain: first(data.llm_ms, data.brain_ms),
    tts: first(data.tts_ms, data.tts_first_audio_ms),
  };
  const parts = figures.wait + figures.stt + figures.brain + figures.tts;
  figures.total = first(data.total_ms, data.voice_to_voice_ms, parts);
  // The dialog reports its own time for every turn; a call then reports the same turn (same turn_id) in full.
  figures.dialogOnly = data.stt_ms === undefined && data.endpoint_wait_ms === undefined;
  figures.id = typeof data.turn_id === "string" && data.turn_id ? data.turn_id : null;
  return figures;
}

function node(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

export class LatencyChart {
  /** @param {HTMLElement} host  the element the chart and its legend are drawn into */
  constructor(host, { maxTurns = 24 } = {}) {
    this.host = host;
    this.maxTurns = maxTurns;
    this.turns = [];
    this.draw();
  }

  reset(turns = []) {
    this.turns = [];
    for (const data of turns) this.push(data);
    this.draw();
  }

  add(data) {
    this.push(data);
    this.draw();
  }

  push(data) {
    const figures = turnFigures(data);
    // A turn is one bar, however many reports of it arrive and whatever other turns arrive in between
    // (a typed turn while a spoken one is still being answered); figures without an id are a bar each.
    const index = figures.id === null ? -1 : this.turns.findIndex((turn) => turn.id === figures.id);
    if (index >= 0) {
      if (!figures.dialogOnly || this.turns[index].dialogOnly) this.turns[index] = figures; // the fuller report
      return;
    }
    this.turns.push(figures);
    if (this.turns.length > this.maxTurns) this.turns.shift();
  }

  draw() {
    const width = 480;
    const height = 180;
    const left = 46;
    const bottom = 22;
    const top = 18;
    const svg = node("svg", {
      viewBox: `0 0 ${width} ${height}`,
      class: "latency-svg",
      role: "img",
      "aria-label": this.summary(),
    });
    const peak = Math.max(100, ...this.turns.map((t) => Math.max(t.total, t.wait + t.stt + t.brain + t.tts)));
    const scale = (height - top - bottom) / peak;
    for (const fraction of [0, 0.5, 1]) {
      const y = height - bottom - fraction * peak * scale;
      svg.append(node("line", { x1: left, x2: width, y1: y, y2: y, class: "grid" }));
      svg.append(node("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, `${Math.round(fraction * peak)}`));
    }
    svg.append(node("text", { x: left - 6, y: 10, class: "axis", "text-anchor": "end" }, "ms"));
    const slot = (width - left) / Math.max(this.turns.length, 8);
    const barWidth = Math.max(6, slot * 0.6);
    this.turns.forEach((turn, index) => {
      const x = left + index * slot + (slot - barWidth) / 2;
      let y = height - bottom;
      const group = node("g", { class: "bar", "data-turn": turn.id ?? "" });
      for (const stage of STAGES) {
        const value = turn[stage.key];
        if (value <= 0) continue;
        const h = value * scale;
        y -= h;
        const rect = node("rect", { x, y, width: barWidth, height: h, fill: stage.color, "data-stage": stage.key });
        rect.append(node("title", {}, `Turn ${index + 1} - ${stage.label}: ${Math.round(value)} ms`));
        group.append(rect);
      }
      group.append(node("text", { x: x + barWidth / 2, y: height - 6, class: "axis", "text-anchor": "middle" }, `${index + 1}`));
      svg.append(group);
    });
    if (this.turns.length === 0) {
      svg.append(node("text", { x: (width + left) / 2, y: height / 2, class: "empty", "text-anchor": "middle" }, "No turns yet"));
    }
    const legend = document.createElement("ul");
    legend.className = "legend";
    for (const stage of STAGES) {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = stage.color;
      item.append(swatch, document.createTextNode(stage.label));
      legend.append(item);
    }
    const last = this.turns.at(-1);
    const caption = document.createElement("p");
    caption.className = "latency-last";
    caption.textContent = last ? `Last turn: ${Math.round(last.total)} ms in all` : "";
    this.host.replaceChildren(svg, legend, caption);
  }

  summary() {
    if (this.turns.length === 0) return "Per-turn latency: no turns yet";
    const totals = this.turns.map((t, i) => `turn ${i + 1}: ${Math.round(t.total)} ms`);
    return `Per-turn latency, ${totals.join(", ")}`;
  }
}
