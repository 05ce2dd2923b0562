// @ts-check
// The Socket.IO connection's pieces the widget and the pane share. Emitting with an ack: every
// outcome (an answer, a refusal, a timeout, a lost connection) comes back as one ack-shaped
// object, so callers only ever look at `ack.ok` and `ack.error` (docs/protocol/README.md).

export const ACK_TIMEOUT_MS = 10000;

/**
 * @typedef {object} AckError
 * @property {string} code machine-readable, e.g. "invalid_payload", "timeout"
 * @property {string} message for people
 * @property {string} [field] the form field to blame, when the server names one
 * @property {number} [retry_after] rate_limited: the seconds to wait before trying again
 */

/** @typedef {{ok: false, error: AckError}} Failure */

/**
 * An ack: the server's answer (`ok: true` and event-specific fields) or a failure.
 * @typedef {{ok: true, [key: string]: any} | Failure} Ack
 */

/**
 * The minimal part of a socket.io-client Socket that `ask` uses.
 * @typedef {object} AckSocket
 * @property {boolean} connected
 * @property {(ms: number) => {emit: (event: string, payload: unknown, callback: (err: Error | null, ack: unknown) => void) => unknown}} timeout
 */

/**
 * socket.io-client's `io(url, options)`, or a test's fake of it.
 * @typedef {(url: string, options: object) => any} OpenSocket
 */

/**
 * Back online: reconnect now rather than when socket.io-client's backoff timer says so.
 * @param {{connected: boolean, active: boolean, disconnect: () => {connect: () => unknown}}} socket
 */
export function onBackOnline(socket) {
  if (typeof window === "undefined") return; // no browser: tests in Node
  window.addEventListener("online", () => {
    if (!socket.connected && socket.active) socket.disconnect().connect();
  });
}

/**
 * A failed ack made here (the transport's errors) in the server's shape.
 * @param {string} code
 * @param {string} message
 * @returns {Failure}
 */
export function failure(code, message) {
  return { ok: false, error: { code, message } };
}

/**
 * Turn whatever came back as an ack into an Ack: a refusal keeps its code, message and field.
 * @param {unknown} ack
 * @returns {Ack}
 */
export function toAck(ack) {
  if (!ack || typeof ack !== "object" || Array.isArray(ack)) {
    return failure("internal_error", "The chat service sent an unexpected answer.");
  }
  const answer = /** @type {{[key: string]: any}} */ (ack);
  if (answer.ok) return /** @type {Ack} */ (answer);
  const error = answer.error && typeof answer.error === "object" ? answer.error : {};
  const failed = failure(String(error.code || "internal_error"), String(error.message || "Something went wrong."));
  if (typeof error.field === "string") failed.error.field = error.field; // which field of a form
  // rate_limited: how long to wait (seconds).
  if (typeof error.retry_after === "number" && Number.isFinite(error.retry_after) && error.retry_after >= 0) {
    failed.error.retry_after = error.retry_after;
  }
  return failed;
}

/**
 * The seconds a refusal asks to wait: its `retry_after` when it is `rate_limited` (a few seconds
 * if it does not say), or null when it is another refusal.
 * @param {AckError} error
 * @returns {number | null}
 */
export function waitOf(error) {
  if (error.code !== "rate_limited") return null;
  return typeof error.retry_after === "number" ? Math.max(1, error.retry_after) : DEFAULT_WAIT_S;
}

const DEFAULT_WAIT_S = 10; // rate_limited without retry_after (an older server)

/**
 * Emit with an ack; always resolve to an Ack, transport errors included.
 * @param {AckSocket | null} socket
 * @param {string} event
 * @param {unknown} payload
 * @param {string} offline what to say when there is no connection to emit on
 * @returns {Promise<Ack>}
 */
export function ask(socket, event, payload, offline) {
  return new Promise((resolve) => {
    // Never let socket.io-client buffer an emit while disconnected: it would go out on the
    // next connection before the resume (or hello) that has to come first.
    if (!socket?.connected) {
      resolve(failure("disconnected", offline));
      return;
    }
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
      if (err) {
        resolve(
          /timed out/.test(err.message)
            ? failure("timeout", "The chat service did not answer. Please try again.")
            : failure("disconnected", "The connection was lost. Please try again."),
        );
      } else {
        resolve(toAck(ack));
      }
    });
  });
}
