"""The assistant as the running service holds it: the current index, swapped on edits."""

from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path

from chatsvc.bot.matcher import Decision, Index, build_index, decide, mentions_emergency
from chatsvc.bot.search import prepare_search
from chatsvc.catalogue.knowledge import (
    KnowledgeBase,
    KnowledgeBaseError,
    fingerprint,
    load_knowledge_base,
)

log = logging.getLogger(__name__)

# Above this many phrasings a match may take milliseconds: it runs in a worker thread so the
# event loop keeps serving everyone else meanwhile.
EXECUTOR_ABOVE_PHRASINGS = 5_000


class Assistant:
    """The knowledge base's current index; `reload_if_changed` swaps in a valid edit."""

    def __init__(self, root: Path):
        self.root = root
        self._index: Index | None = None
        self._fingerprint: tuple[tuple[str, int, int], ...] = ()

    def open(self) -> None:
        """Load the knowledge base; raise KnowledgeBaseError, naming every problem, if broken."""
        self._fingerprint = fingerprint(self.root)
        self._index = _loaded(self._fingerprint, self.root)

    @property
    def index(self) -> Index:
        assert self._index is not None, "the knowledge base is not loaded"
        return self._index

    async def decide(self, text: str) -> Decision:
        """Decide what `text` asks, without stalling the event loop on a large knowledge base."""
        index = self.index
        if len(index.phrasing_texts) <= EXECUTOR_ABOVE_PHRASINGS:
            return decide(text, index)
        return await asyncio.get_running_loop().run_in_executor(None, decide, text, index)

    def mentions_emergency(self, text: str) -> bool:
        """Tell quickly whether `text` reports an emergency (phrases only, no topic scoring)."""
        return mentions_emergency(text, self.index)

    def reload_if_changed(self) -> bool:
        """Reload the knowledge base if its files changed; keep the old one if the new is broken."""
        current = fingerprint(self.root)
        if current == self._fingerprint:
            return False
        self._fingerprint = current
        try:
            self._index = _loaded(current, self.root)
        except KnowledgeBaseError as exc:
            log.error(
                "knowledge base edit refused, still answering from the previous one: %s",
                "; ".join(exc.problems[:10]),
            )
            return False
        log.info(
            "knowledge base reloaded: %d articles; languages besides English: %s",
            len(self._index.kb.articles),
            ", ".join(self._index.languages) or "none",
        )
        return True

    async def watch(self, interval: float) -> None:
        """Check for edits every `interval` seconds, for as long as the service runs."""
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.reload_if_changed)
            except OSError as exc:
                log.warning("cannot read the knowledge base: %s", exc)


@functools.lru_cache(maxsize=4)
def _loaded(stamp: tuple[tuple[str, int, int], ...], root: Path) -> Index:
    """The index of the knowledge base at `root` as its files were at `stamp` (a fingerprint).

    Assistants in one process share the work for an unchanged knowledge base: a second app
    starts without half a second of indexing (the test suite starts hundreds). The index is
    never changed once built, so sharing it is safe; a broken knowledge base is not cached.
    """
    return _prepared(load_knowledge_base(root))


def _prepared(kb: KnowledgeBase) -> Index:
    # The agents' article search gets its own index built now, off the event loop on reloads,
    # rather than on the first search.
    index = build_index(kb)
    prepare_search(index)
    return index
