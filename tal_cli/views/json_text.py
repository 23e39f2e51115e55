"""JSON documents as text: one record per line, written by the C encoder.

``json.dumps(doc, indent=...)`` falls back to the pure-Python encoder, which on a 100,000-gt
report takes tens of seconds and gigabytes. Here the top level is laid out by hand, one key per
line and one list element per line, and every value is encoded compactly by the C encoder: the
text stays readable (and greppable, a gt per line) and costs time linear in its size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def document_text(doc: Mapping[str, object]) -> str:
    """The document as JSON text: ``{`` / one ``"key": value`` per line / ``}``, lists of records
    with one element per line. ``json.loads`` of it equals ``doc``."""
    lines = ["{"]
    items = list(doc.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            inner = ",\n".join(f"  {_compact(v)}" for v in value)
            lines.append(f" {_compact(key)}: [\n{inner}\n ]{comma}")
        elif isinstance(value, Mapping) and any(isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v)
                                                 for v in value.values()):
            nested = document_text(value).replace("\n", "\n ")
            lines.append(f" {_compact(key)}: {nested}{comma}")
        else:
            lines.append(f" {_compact(key)}: {_compact(value)}{comma}")
    lines.append("}")
    return "\n".join(lines)
