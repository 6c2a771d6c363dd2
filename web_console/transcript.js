// The live transcript: caller and agent lines, with the caller's interim words greyed until the final line.

const ROLE_LABELS = { user: "You", caller: "Caller", assistant: "Agent", agent: "Agent", system: "Note" };

export class TranscriptView {
  /**
   * @param {HTMLOListElement} list
   * @param {{callerLabel?: string}} options
   */
  constructor(list, { callerLabel = "You" } = {}) {
    this.list = list;
    this.callerLabel = callerLabel;
    this.interim = null;
    this.greeting = null;
  }

  clear() {
    this.list.replaceChildren();
    this.interim = null;
  }

  /** The greeting the session was created with: shown now, and not twice when a call speaks it again. */
  seedGreeting(text) {
    if (!text) return;
    this.greeting = text;
    this.add("assistant", text);
  }

  /** A `transcript` WebSocket event (role user/assistant, interim or final). */
  handle(event) {
    const text = String(event.content ?? "").trim();
    if (!text) return;
    if (event.role === "user" && event.interim) {
      this.showInterim(text);
      return;
    }
    if (event.role === "assistant" && this.greeting !== null) {
      const repeat = text === this.greeting;
      this.greeting = null;
      if (repeat) return;
    }
    this.add(event.role, text, event.agent_type === "notification" ? "notification" : "");
  }

  showInterim(text) {
    if (this.interim === null) {
      this.interim = this.line("user", text);
      this.interim.classList.add("interim");
      this.interim.setAttribute("aria-busy", "true");
      this.list.append(this.interim);
    } else {
      this.interim.querySelector(".text").textContent = text;
    }
    this.scroll();
  }

  /** Append a final line; a final caller line replaces the greyed interim one. */
  add(role, text, kind = "") {
    if (role === "user" && this.interim !== null) {
      const finalLine = this.line(role, text, kind);
      this.interim.replaceWith(finalLine);
      this.interim = null;
    } else {
      this.list.append(this.line(role, text, kind));
    }
    this.scroll();
  }

  line(role, text, kind = "") {
    const item = document.createElement("li");
    const normalized = role === "caller" ? "user" : role === "agent" ? "assistant" : role;
    item.className = `line ${normalized}${kind ? ` ${kind}` : ""}`;
    item.dataset.role = normalized;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = normalized === "user" ? this.callerLabel : ROLE_LABELS[normalized] ?? role;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    item.append(who, body);
    return item;
  }

  scroll() {
    const box = this.list.parentElement;
    if (box) box.scrollTop = box.scrollHeight;
  }
}
