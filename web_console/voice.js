// Voice calls from the browser: WebRTC straight to the agent, or a LiveKit room when the server uses LiveKit.

import { requestJson } from "./api.js";

export const MIC_BLOCKED = "Microphone blocked - allow it in the browser, or type below";
const ICE_GATHERING_TIMEOUT_MS = 5000;
const VOICE_PROCESSING = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

export class MicrophoneError extends Error {}

function microphoneError(error) {
  const name = error?.name ?? "";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return new MicrophoneError(MIC_BLOCKED);
  }
  if (name === "NotFoundError" || name === "DevicesNotFoundError") {
    return new MicrophoneError("No microphone found - plug one in, or type below");
  }
  if (name === "NotReadableError") {
    return new MicrophoneError("The microphone is busy in another app - close it, or type below");
  }
  return null;
}

/** The microphone, opened by `open()` (which may wait on the browser's permission prompt). */
async function withMicrophone(open) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new MicrophoneError("This browser cannot use a microphone here (a secure https page is needed)");
  }
  try {
    return await open();
  } catch (error) {
    throw microphoneError(error) ?? error;
  }
}

function openMicrophone() {
  return withMicrophone(() => navigator.mediaDevices.getUserMedia({ audio: VOICE_PROCESSING, video: false }));
}

function iceGatheringComplete(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, ICE_GATHERING_TIMEOUT_MS); // send what was gathered so far
  });
}

/** A call over WebRTC to POST /api/voice/webrtc (non-trickle: the offer carries every candidate). */
export class WebRtcCall {
  constructor(sessionId, { audio, onState }) {
    this.sessionId = sessionId;
    this.audio = audio;
    this.onState = onState;
    this.pc = null;
    this.stream = null;
    this.callId = null;
    this.muted = false;
    this.closed = false;
  }

  async start() {
    this.stream = await openMicrophone();
    if (this.closed) {
      for (const track of this.stream.getTracks()) track.stop(); // hung up while the prompt was open
      return;
    }
    this.setMuted(this.muted); // muted while the prompt was open
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    const [track] = this.stream.getAudioTracks();
    pc.addTransceiver(track, { direction: "sendrecv", streams: [this.stream] });
    pc.addEventListener("track", (event) => {
      this.audio.srcObject = event.streams[0] ?? new MediaStream([event.track]);
      this.audio.play().catch(() => {});
    });
    pc.addEventListener("connectionstatechange", () => {
      if (!this.closed) this.onState(pc.connectionState);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await iceGatheringComplete(pc);
    const answer = await requestJson("POST", "/api/voice/webrtc", {
      session_id: this.sessionId,
      sdp: pc.localDescription.sdp,
      type: "offer",
    });
    this.callId = answer.call_id;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  }

  setMuted(muted) {
    this.muted = muted;
    for (const track of this.stream?.getAudioTracks() ?? []) track.enabled = !muted;
  }

  async hangUp() {
    if (this.closed) return;
    this.closed = true;
    const callId = this.callId;
    this.pc?.close();
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.audio.srcObject = null;
    if (callId) {
      await requestJson("DELETE", `/api/voice/webrtc/${encodeURIComponent(callId)}`).catch(() => {});
    }
  }
}

/** A call through a LiveKit room: the agent joins the session's room; the SDK is served from /console/vendor/. */
export class LiveKitCall {
  constructor(sessionId, { audio, onState }) {
    this.sessionId = sessionId;
    this.audio = audio;
    this.onState = onState;
    this.room = null;
    this.track = null; // the microphone's LocalAudioTrack
    this.muted = false;
    this.closed = false;
  }

  async start() {
    const sdk = await import("/console/vendor/livekit-client.esm.mjs");
    // The microphone before the token: a token makes the agent join the room and wait only so long for this
    // track, and the browser's permission prompt may take the caller longer than that.
    this.track = await withMicrophone(() => sdk.createLocalAudioTrack(VOICE_PROCESSING));
    if (this.closed) {
      this.track.stop(); // hung up while the prompt was open: no token, so no agent joins
      return;
    }
    if (this.muted) await this.track.mute(); // muted while the prompt was open
    const grant = await requestJson("POST", "/api/voice/token", { session_id: this.sessionId });
    if (this.closed) return;
    const room = new sdk.Room({ adaptiveStream: false, dynacast: false });
    this.room = room;
    room.on(sdk.RoomEvent.TrackSubscribed, (track) => {
      if (track.kind === sdk.Track.Kind.Audio) track.attach(this.audio);
    });
    room.on(sdk.RoomEvent.ConnectionStateChanged, (state) => {
      if (!this.closed) this.onState(state === "reconnecting" ? "disconnected" : state);
    });
    room.on(sdk.RoomEvent.Disconnected, () => {
      if (!this.closed) this.onState("closed");
    });
    await room.connect(grant.url, grant.token);
    await room.localParticipant.publishTrack(this.track, { source: sdk.Track.Source.Microphone });
  }

  setMuted(muted) {
    this.muted = muted;
    const track = this.track;
    if (track) (muted ? track.mute() : track.unmute()).catch(() => {});
  }

  async hangUp() {
    if (this.closed) return;
    this.closed = true;
    await this.room?.disconnect();
    this.track?.stop(); // released even when the call never got as far as publishing it
  }
}
