"""Events leave from one place: handlers and actions never pick an audience themselves."""

from __future__ import annotations

import re
from pathlib import Path

import chatsvc

PACKAGE = Path(chatsvc.__file__).parent
AUDIENCES = re.compile(
    r"\.(to_conversation|to_resident|to_staff_of|to_staff_member|to_all_staff)\(|\bsio\.emit\("
)
# publish.py maps notices to rooms; dispatch.py broadcasts whole states (queue, presence);
# events.py is the rooms themselves.
ALLOWED = {"transport/publish.py", "transport/dispatch.py", "transport/events.py"}


def test_only_the_publisher_and_the_broadcasts_choose_audiences() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if AUDIENCES.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == [], "record a notice in the action instead:\n" + "\n".join(found)


def test_the_check_sees_an_emit_where_one_is() -> None:
    assert AUDIENCES.search("await self.events.to_conversation(cid, None, 'message', m)")
    assert AUDIENCES.search("await sio.emit('x', {})")
