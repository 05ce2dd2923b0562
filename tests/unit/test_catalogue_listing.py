"""The catalogue as the agent pane reads it: plain data from the shipped knowledge base."""

from __future__ import annotations

import json

from chatsvc.catalogue import listing
from chatsvc.catalogue.knowledge import load_knowledge_base
from chatsvc.settings import DEFAULT_KNOWLEDGE_BASE

KB = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)


def test_request_topics_come_with_their_form_fields_sorted_by_name() -> None:
    catalogue = listing.request_catalogue(KB, {"open": "Open", "closed": "Closed"})
    topics = catalogue["topics"]
    assert topics and [t["name"] for t in topics] == sorted(t["name"] for t in topics)
    assert {t["code"] for t in topics} == {c for c, t in KB.topics.items() if t.is_request}
    assert all(f["name"] in KB.fields for t in topics for f in t["fields"])
    assert catalogue["statuses"] == {"open": "Open", "closed": "Closed"}
    assert catalogue["departments"] == sorted({t["department"] for t in topics})
    json.dumps(catalogue)  # plain data, ready for the wire


def test_topics_by_code_and_workgroups_cover_the_catalogue() -> None:
    topics = listing.topics_by_code(KB)
    assert list(topics) == sorted(KB.topics)
    groups = listing.workgroups(KB, also=["Night shift"])
    assert "Night shift" in groups and groups == sorted(set(groups))
    assert {t["workgroup"] for t in topics.values()} <= set(groups)
