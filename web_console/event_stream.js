// A WebSocket of live events that reconnects with backoff after a drop and reports its status.

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10000;

export class EventStream {
  /**
   * @param {() => string | Promise<string>} urlFor  the ws:// URL to open (called on every attempt, so a
   *   short-lived signed link can be fetched afresh each time)
   * @param {{onEvent: (event: object) => void, onStatus: (status: string, info: object) => void}} handlers
   */
  constructor(urlFor, { onEvent, onStatus }) {
    this.urlFor = urlFor;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.socket = null;
    this.stopped = true;
    this.failures = 0;
    this.opened = 0;
    this.timer = null;
  }

  /** Start connecting; resolves once the first connection is open, or after `waitMs` regardless. */
  start(waitMs = 3000) {
    this.stopped = false;
    const opened = new Promise((resolve) => {
      this.resolveOpened = resolve;
      setTimeout(resolve, waitMs);
    });
    this.connect();
    return opened;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000, "page closed the stream");
      this.socket = null;
    }
    this.onStatus("stopped", {});
  }

  get connected() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  async connect() {
    if (this.stopped) return;
    this.onStatus(this.opened === 0 ? "connecting" : "reconnecting", { attempt: this.failures });
    let socket;
    try {
      socket = new WebSocket(await this.urlFor());
    } catch {
      this.retry();
      return;
    }
    if (this.stopped) {
      socket.close(1000, "page closed the stream");
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.failures = 0;
      this.opened += 1;
      this.onStatus("connected", { reconnected: this.opened > 1 });
      this.resolveOpened?.();
    };
    socket.onmessage = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event && event.type !== "heartbeat" && event.type !== "pong") this.onEvent(event);
    };
    socket.onclose = () => {
      if (this.socket === socket) this.socket = null;
      this.retry();
    };
  }

  retry() {
    if (this.stopped) return;
    const delay = Math.min(FIRST_RETRY_MS * 2 ** this.failures, MAX_RETRY_MS) * (0.8 + Math.random() * 0.4);
    this.failures += 1;
    this.onStatus("reconnecting", { attempt: this.failures, delayMs: delay });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
