// The operator view: live calls from /ws/operator, recent calls from /api/calls, one call's details.

import { AgentError, requestJson, socketUrl } from "./api.js";
import { EventStream } from "./event_stream.js";
import { LatencyChart } from "./latency_chart.js";
import { $, pageStatus } from "./page_status.js";
import { TranscriptView } from "./transcript.js";

const TOKEN_KEY = "operatorToken";
const CHANNELS = { sip: "Phone", livekit: "LiveKit", browser: "Browser", replay: "Replay" };

const ui = {
  tokenPanel: $("#token-panel"),
  tokenForm: $("#token-form"),
  tokenInput: $("#token"),
  main: $("#operator-main"),
  active: $("#active-calls"),
  activeCount: $("#active-count"),
  recent: $("#recent-calls tbody"),
  title: $("#detail-title"),
  facts: $("#detail-facts"),
  recording: $("#recording"),
};
const transcript = new TranscriptView($("#transcript"), { callerLabel: "Caller" });
const latency = new LatencyChart($("#latency"));
const { showAlert, showStreamStatus } = pageStatus({ alert: $("#alert"), connection: $("#connection") });

const view = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? "",
  live: new Map(), // call id -> live call
  liveLines: new Map(), // session id -> transcript events seen while watching
  liveTurns: new Map(), // session id -> latency figures seen while watching
  selected: null, // {callId, live: bool}
  stream: null,
};

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
}

function seconds(value) {
  if (typeof value !== "number") return "";
  const total = Math.round(value);
  return total >= 60 ? `${Math.floor(total / 60)} min ${total % 60} s` : `${total} s`;
}

function askForToken(message) {
  ui.main.hidden = true;
  ui.tokenPanel.hidden = false;
  showAlert(message);
  ui.tokenInput.focus();
}

async function loadRecent() {
  const data = await requestJson("GET", "/api/calls?limit=50", undefined, { token: view.token });
  const rows = (data.calls ?? []).filter((call) => call.ended_at);
  view.recent = new Map(rows.map((call) => [call.call_id, call]));
  ui.recent.replaceChildren(
    ...rows.map((call) => {
      const row = document.createElement("tr");
      row.dataset.callId = call.call_id;
      row.tabIndex = 0;
      const cells = [when(call.started_at), CHANNELS[call.channel] ?? call.channel, call.caller_id ?? "unknown", seconds(call.duration_s), call.outcome ?? ""];
      for (const text of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const open = () => selectRecent(call.call_id);
      row.addEventListener("click", open);
      row.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") open();
      });
      if (view.selected?.callId === call.call_id) row.classList.add("selected");
      return row;
    }),
  );
  if (rows.length === 0) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = 5;
    cell.className = "empty";
    cell.textContent = "No calls yet";
    row.append(cell);
    ui.recent.replaceChildren(row);
  }
}

function drawActive() {
  const calls = [...view.live.values()];
  ui.activeCount.textContent = String(calls.length);
  ui.active.dataset.empty = calls.length === 0 ? "true" : "false";
  ui.active.replaceChildren(
    ...calls.map((call) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "call-item";
      button.dataset.callId = call.call_id;
      button.setAttribute("aria-pressed", String(view.selected?.callId === call.call_id));
      const channel = document.createElement("span");
      channel.className = `badge ${call.channel}`;
      channel.textContent = CHANNELS[call.channel] ?? call.channel ?? "call";
      const who = document.createElement("span");
      who.className = "caller";
      who.textContent = call.caller_id ?? "unknown caller";
      const since = document.createElement("span");
      since.className = "since";
      since.textContent = call.started_at ? `since ${when(call.started_at)}` : "";
      button.append(channel, who, since);
      button.addEventListener("click", () => selectLive(call.call_id));
      item.append(button);
      return item;
    }),
  );
}

function fact(term, value) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value || "\u2014";
  dd.classList.toggle("filled", Boolean(value));
  return [dt, dd];
}

function markSelection() {
  for (const row of ui.recent.querySelectorAll("tr")) {
    row.classList.toggle("selected", row.dataset.callId === view.selected?.callId);
  }
  drawActive();
}

function selectLive(callId) {
  const call = view.live.get(callId);
  if (!call) return;
  view.selected = { callId, live: true };
  ui.title.textContent = `Live call: ${call.caller_id ?? "unknown caller"}`;
  ui.facts.replaceChildren(
    ...fact("Channel", CHANNELS[call.channel] ?? call.channel),
    ...fact("Caller", call.caller_id),
    ...fact("Started", when(call.started_at)),
    ...fact("Session", call.session_id),
  );
  ui.recording.hidden = true;
  ui.recording.removeAttribute("src");
  transcript.clear();
  for (const event of view.liveLines.get(call.session_id) ?? []) transcript.handle(event);
  latency.reset(view.liveTurns.get(call.session_id) ?? []);
  markSelection();
  if (call.session_id) loadEarlierLines(callId, call.session_id);
}

async function loadEarlierLines(callId, sessionId) {
  // What was said before this page was watching: the session's history, then the live lines on top.
  let session;
  try {
    session = await requestJson("GET", `/api/sessions/${encodeURIComponent(sessionId)}`);
  } catch {
    return;
  }
  if (view.selected?.callId !== callId) return;
  transcript.clear();
  for (const message of session.messages ?? []) transcript.add(message.role, message.content);
  view.liveLines.set(sessionId, []);
}

async function selectRecent(callId) {
  view.selected = { callId, live: false };
  markSelection();
  let call = view.recent?.get(callId);
  try {
    call = await requestJson("GET", `/api/calls/${encodeURIComponent(callId)}`, undefined, { token: view.token });
  } catch (error) {
    if (!call) {
      showAlert(error.message);
      return;
    }
  }
  ui.title.textContent = `Call from ${call.caller_id ?? "unknown caller"}`;
  ui.facts.replaceChildren(
    ...fact("Channel", CHANNELS[call.channel] ?? call.channel),
    ...fact("Caller", call.caller_id),
    ...fact("Started", when(call.started_at)),
    ...fact("Duration", seconds(call.duration_s)),
    ...fact("Outcome", call.outcome),
    ...fact("Ended by", call.ended_by),
    ...fact("Transferred to", call.transferred_to),
  );
  transcript.clear();
  for (const line of call.transcript ?? []) transcript.add(line.role, line.text);
  latency.reset(call.turns ?? []);
  if (call.recording_url) {
    // A signed link valid for a while: an <audio> element cannot send the Authorization header, and the
    // token itself never goes into a URL.
    ui.recording.src = call.recording_url;
    ui.recording.hidden = false;
  } else {
    ui.recording.hidden = true;
    ui.recording.removeAttribute("src");
  }
}

function remember(map, sessionId, item) {
  if (!sessionId) return;
  const items = map.get(sessionId) ?? [];
  items.push(item);
  if (items.length > 500) items.shift();
  map.set(sessionId, items);
}

function selectedSession() {
  return view.selected?.live ? view.live.get(view.selected.callId)?.session_id : undefined;
}

function onEvent(event) {
  switch (event.type) {
    case "snapshot":
      view.live = new Map((event.calls ?? []).map((call) => [call.call_id, call]));
      drawActive();
      break;
    case "call_started":
      view.live.set(event.call_id, event);
      drawActive();
      break;
    case "call_ended":
      view.live.delete(event.call_id);
      drawActive();
      loadRecent().catch(() => {});
      if (view.selected?.callId === event.call_id) {
        ui.title.textContent = `Call ended (${event.outcome ?? "no outcome"})`;
        view.selected = { callId: event.call_id, live: false };
      }
      break;
    case "transcript":
      remember(view.liveLines, event.session_id, event);
      if (event.session_id && event.session_id === selectedSession()) transcript.handle(event);
      break;
    case "latency":
      remember(view.liveTurns, event.session_id, event.data ?? {});
      if (event.session_id && event.session_id === selectedSession()) latency.add(event.data ?? {});
      break;
    default:
      break;
  }
}

function openStream() {
  view.stream?.stop();
  view.stream = new EventStream(
    async () => {
      // A fresh signed link for each attempt: a WebSocket cannot send the Authorization header.
      const link = await requestJson("GET", "/api/operator/stream-link", undefined, { token: view.token });
      return socketUrl(link.url);
    },
    { onEvent, onStatus: (status) => showStreamStatus(status, "Live") },
  );
  view.stream.start();
}

async function open() {
  try {
    await loadRecent();
  } catch (error) {
    if (error instanceof AgentError && error.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      askForToken(view.token ? "That token was not accepted." : "");
      return;
    }
    if (error instanceof AgentError && error.code === "operator_token_not_set") {
      showAlert("The operator view is closed: set AGENT_OPERATOR_TOKEN on the server.");
      return;
    }
    showAlert(error.message);
    return;
  }
  showAlert("");
  ui.tokenPanel.hidden = true;
  ui.main.hidden = false;
  openStream();
}

ui.tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  view.token = ui.tokenInput.value.trim();
  sessionStorage.setItem(TOKEN_KEY, view.token);
  ui.tokenInput.value = "";
  open();
});

open();
