// What both console pages show about themselves: the alert line and the connection pill.

/** The first element matching a CSS selector. */
export const $ = (selector) => document.querySelector(selector);

/**
 * The status helpers of one page.
 * @param {{alert: HTMLElement, connection: HTMLElement}} elements
 */
export function pageStatus({ alert, connection }) {
  /** Show `message` in the alert line; an empty message hides it. */
  function showAlert(message) {
    alert.textContent = message;
    alert.hidden = !message;
  }

  /** The connection pill: its text and its look (`ok`, `warn` or `idle`). */
  function setConnection(text, kind) {
    connection.textContent = text;
    connection.className = `pill ${kind}`;
  }

  /** The pill for an EventStream status; `connectedText` is what a live stream is called on this page. */
  function showStreamStatus(status, connectedText = "Connected") {
    if (status === "connected") setConnection(connectedText, "ok");
    else if (status === "reconnecting") setConnection("Reconnecting...", "warn");
    else if (status === "connecting") setConnection("Connecting...", "warn");
  }

  return { showAlert, setConnection, showStreamStatus };
}
