// @ts-check
// localStorage, namespaced by the chat server's origin so two chat services on one site never
// mix tokens. Private browsing modes and locked-down browsers throw on access: we then keep the
// values in memory, so the chat still works for this page view.

/** @typedef {ReturnType<typeof createStore>} Store */

/**
 * A small key/value store under `chatsvc:<origin>:`.
 * @param {string} origin
 * @param {"local" | "session"} [area] "session": this tab only (reloads and the site's other
 *   pages), for what should not come back in a new tab next week, like an open panel
 */
export function createStore(origin, area = "local") {
  const prefix = `chatsvc:${origin}:`;
  const memory = new Map();

  function storage() {
    try {
      return area === "session" ? window.sessionStorage : window.localStorage;
    } catch {
      return null;
    }
  }

  function get(key) {
    try {
      const value = storage()?.getItem(prefix + key);
      if (value != null) return value;
    } catch {
      // fall through to memory
    }
    return memory.has(key) ? memory.get(key) : null;
  }

  function set(key, value) {
    memory.set(key, value);
    try {
      storage()?.setItem(prefix + key, value);
    } catch {
      // quota or privacy mode: memory keeps it for this page
    }
  }

  function remove(key) {
    memory.delete(key);
    try {
      storage()?.removeItem(prefix + key);
    } catch {
      // nothing to do
    }
  }

  return {
    get,
    set,
    remove,
    getJSON(key, fallback) {
      try {
        const raw = get(key);
        return raw == null ? fallback : JSON.parse(raw);
      } catch {
        return fallback;
      }
    },
    setJSON(key, value) {
      set(key, JSON.stringify(value));
    },
  };
}
