// The customer call page: one session for voice and chat, its live events, and clear error states.

import { AgentError, requestJson, socketUrl, UNAVAILABLE } from "./api.js";
import { AgentStateView } from "./agent_state.js";
import { EventStream } from "./event_stream.js";
import { LatencyChart } from "./latency_chart.js";
import { $, pageStatus } from "./page_status.js";
import { TranscriptView } from "./transcript.js";
import { LiveKitCall, MicrophoneError, WebRtcCall } from "./voice.js";

const ON_CALL = "Call connected - speak any time.";

const ui = {
  start: $("#start-call"),
  end: $("#end-call"),
  mute: $("#mute"),
  callStatus: $("#call-status"),
  audio: $("#agent-audio"),
  chat: $("#chat"),
  message: $("#message"),
};
const transcript = new TranscriptView($("#transcript"));
const stateView = new AgentStateView($("#agent-state"));
const latency = new LatencyChart($("#latency"));
const { showAlert, setConnection, showStreamStatus } = pageStatus({
  alert: $("#alert"),
  connection: $("#connection"),
});

const page = { sessionId: null, stream: null, call: null, config: null, muted: false, sending: false };
window.__console = page; // read by the browser tests (the call's RTCPeerConnection); holds nothing secret

function describe(error) {
  if (error instanceof MicrophoneError || error instanceof AgentError) return error.message;
  return UNAVAILABLE;
}

async function loadConfig() {
  if (page.config) return page.config;
  try {
    page.config = await requestJson("GET", "/api/console/config");
  } catch {
    page.config = { livekit: false, webrtc: true };
  }
  return page.config;
}

function onEvent(event) {
  switch (event.type) {
    case "transcript":
      transcript.handle(event);
      break;
    case "state_update":
      stateView.update(event);
      break;
    case "task_update":
      stateView.task(event.task);
      break;
    case "notification":
      stateView.notify(event);
      break;
    case "latency":
      latency.add(event.data ?? {});
      break;
    case "session_ended":
      sessionEnded();
      break;
    default:
      break;
  }
}

async function resyncTranscript() {
  // After a reconnect: events sent while we were away are lost, so take the transcript from the session.
  try {
    const session = await requestJson("GET", `/api/sessions/${encodeURIComponent(page.sessionId)}`);
    transcript.clear();
    for (const message of session.messages ?? []) transcript.add(message.role, message.content);
    stateView.update(session);
  } catch (error) {
    if (error instanceof AgentError && error.status === 404) sessionEnded();
  }
}

async function onStatus(status, info) {
  showStreamStatus(status);
  if (status === "connected") {
    if (info.reconnected) await resyncTranscript();
  } else if (status === "reconnecting") {
    if (info.attempt === 3) {
      // Several failures in a row: is the session still there at all?
      try {
        await requestJson("GET", `/api/sessions/${encodeURIComponent(page.sessionId)}`);
      } catch (error) {
        if (error instanceof AgentError && error.status === 404) sessionEnded();
      }
    }
  }
}

async function ensureSession() {
  if (page.sessionId) return page.sessionId;
  const created = await requestJson("POST", "/api/sessions", {});
  page.sessionId = created.session_id;
  transcript.seedGreeting(created.greeting);
  if (created.customer) stateView.update({ customer: created.customer });
  page.stream = new EventStream(() => socketUrl(`/ws/${encodeURIComponent(page.sessionId)}`), {
    onEvent,
    onStatus,
  });
  await page.stream.start(); // so the first turn's lines arrive as events, not from the reply as well
  return page.sessionId;
}

function sessionEnded() {
  page.stream?.stop();
  page.stream = null;
  page.sessionId = null;
  setConnection("Conversation ended", "idle");
  if (page.call) endCall();
}

function setCallControls(inCall) {
  ui.start.disabled = inCall;
  ui.end.disabled = !inCall;
  ui.mute.disabled = !inCall;
  if (!inCall) {
    page.muted = false;
    ui.mute.textContent = "Mute";
    ui.mute.setAttribute("aria-pressed", "false");
  }
}

function onCallState(state) {
  if (state === "connected") {
    ui.callStatus.textContent = ON_CALL;
  } else if (state === "disconnected") {
    ui.callStatus.textContent = "Call connection unstable, trying to recover...";
  } else if (state === "failed" || state === "closed") {
    showAlert("The call was cut off. Start a new call, or type below.");
    endCall();
  }
}

async function startCall() {
  showAlert("");
  setCallControls(true);
  ui.callStatus.textContent = "Connecting your call...";
  try {
    const sessionId = await ensureSession();
    const config = await loadConfig();
    const Call = config.livekit ? LiveKitCall : WebRtcCall;
    const call = new Call(sessionId, { audio: ui.audio, onState: onCallState });
    page.call = call;
    await call.start();
    if (page.call === call) ui.callStatus.textContent = ON_CALL; // not ended while it was connecting
  } catch (error) {
    await page.call?.hangUp();
    page.call = null;
    setCallControls(false);
    ui.callStatus.textContent = "No call in progress.";
    showAlert(describe(error));
  }
}

async function endCall() {
  const call = page.call;
  page.call = null;
  setCallControls(false);
  ui.callStatus.textContent = "Call ended. Start another, or type below.";
  await call?.hangUp();
}

function toggleMute() {
  if (!page.call) return;
  page.muted = !page.muted;
  page.call.setMuted(page.muted);
  ui.mute.textContent = page.muted ? "Unmute" : "Mute";
  ui.mute.setAttribute("aria-pressed", String(page.muted));
  ui.callStatus.textContent = page.muted ? "Muted - the agent cannot hear you." : ON_CALL;
}

async function sendMessage(event) {
  event.preventDefault();
  const text = ui.message.value.trim();
  if (!text || page.sending) return;
  page.sending = true;
  showAlert("");
  try {
    const sessionId = await ensureSession();
    const live = page.stream?.connected ?? false;
    ui.message.value = "";
    const reply = await requestJson("POST", "/api/chat", { session_id: sessionId, message: text });
    if (!live) {
      // The event stream was down: its transcript lines went nowhere, so show the turn from the reply.
      transcript.add("user", text);
      transcript.add("assistant", reply.reply);
    }
    stateView.update(reply);
    if (reply.ended) sessionEnded();
  } catch (error) {
    if (!ui.message.value) ui.message.value = text;
    if (error instanceof AgentError && error.status === 404) {
      sessionEnded();
      showAlert("That conversation has ended. Send again to start a new one.");
    } else {
      showAlert(describe(error));
    }
  } finally {
    page.sending = false;
  }
}

ui.start.addEventListener("click", startCall);
ui.end.addEventListener("click", endCall);
ui.mute.addEventListener("click", toggleMute);
ui.chat.addEventListener("submit", sendMessage);
window.addEventListener("pagehide", () => {
  page.call?.hangUp();
});
