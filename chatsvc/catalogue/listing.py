"""The catalogue as the agent pane reads it once: topics, request forms, departments.

Plain data for the wire, built from the loaded knowledge base. The request statuses belong to
service requests, not to the catalogue: the caller passes their labels in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chatsvc.catalogue.knowledge import KnowledgeBase, Topic


def topics_by_code(kb: KnowledgeBase) -> dict[str, dict[str, str]]:
    """Every topic's name, workgroup and department, by code."""
    return {
        code: {"name": t.name, "workgroup": t.workgroup, "department": t.department}
        for code, t in sorted(kb.topics.items())
    }


def workgroups(kb: KnowledgeBase, also: Iterable[str] = ()) -> list[str]:
    """The catalogue's workgroups and `also` (e.g. those staff answer for), sorted, each once."""
    return sorted({t.workgroup for t in kb.topics.values()} | set(also))


def request_catalogue(kb: KnowledgeBase, status_labels: Mapping[str, str]) -> dict[str, Any]:
    """The request topics with the fields their form asks for, the statuses, the departments."""
    topics = sorted((t for t in kb.topics.values() if t.is_request), key=lambda t: t.name)
    return {
        "topics": [_request_topic(kb, t) for t in topics],
        "statuses": dict(status_labels),
        "departments": sorted({t.department for t in topics}),
    }


def _request_topic(kb: KnowledgeBase, topic: Topic) -> dict[str, Any]:
    return {
        "code": topic.code,
        "name": topic.name,
        "department": topic.department,
        "workgroup": topic.workgroup,
        "service_days": topic.service_days,
        "fields": [
            {
                "name": spec.name,
                "label": spec.label,
                "datatype": spec.datatype,
                "required": topic.is_required(spec.name),
                "description": spec.description,
                "min_length": spec.min_length,
                "max_length": spec.max_length,
                "values": [{"key": v.key, "name": v.name} for v in spec.values],
            }
            for spec in (kb.fields[n] for n in topic.field_names if n in kb.fields)
        ],
    }
