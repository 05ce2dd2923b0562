// @ts-check
// chatsvc agent pane: the page customer service agents work in, served at /agent to signed-in
// staff. The page's template renders the header and <main id="pane">; this script fills them and
// talks to the server on the /agent Socket.IO namespace (docs/protocol/agent.md).

import { AgentClient } from "./client.js";
import { PaneView } from "./view.js";

function mount() {
  const main = document.getElementById("pane");
  const headerSlot = document.getElementById("me-bar");
  if (!main || !headerSlot || main.dataset.mounted) return;
  main.dataset.mounted = "true";
  const client = new AgentClient(location.origin);
  new PaneView(main, headerSlot, client);
  client.connect();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount, { once: true });
else mount();
