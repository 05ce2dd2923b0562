// @ts-check
// Keyed list updates that keep the agent's place: nodes are reused by key and only moved when
// the order changes, so a focused button (Accept, Assign…) survives the queue moving under it.

/**
 * Make `parent`'s children match `items`. create(item) builds a node; update(node, item)
 * refreshes it. Returns true when the focused element was in a node that went away.
 */
export function reconcile(parent, items, keyOf, create, update) {
  const active = /** @type {HTMLElement | null} */ (document.activeElement);
  const old = new Map();
  for (const node of parent.children) if (node.dataset.key) old.set(node.dataset.key, node);
  const nodes = items.map((item) => {
    const key = String(keyOf(item));
    let node = old.get(key);
    if (node) old.delete(key);
    else {
      node = create(item);
      node.dataset.key = key;
    }
    update(node, item);
    return node;
  });
  let lostFocus = false;
  for (const node of parent.children) if (!node.dataset.key) old.set(`~${old.size}`, node);
  for (const node of old.values()) {
    if (node.contains(active)) lostFocus = true;
    node.remove();
  }
  /** @type {Node | null} */
  let previous = null;
  for (const node of nodes) {
    const wanted = previous ? previous.nextSibling : parent.firstChild;
    if (node !== wanted) parent.insertBefore(node, wanted);
    previous = node;
  }
  if (!lostFocus && active && active !== document.activeElement && active.isConnected) active.focus();
  return lostFocus;
}
