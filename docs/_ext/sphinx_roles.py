"""A Griffe extension for the API reference: the Sphinx markup hubbub's
docstrings use reads well on the site. Roles (``:class:`~hubbub.Server```,
``:mod:`.events```) become cross-references, and a paragraph ending in
``::`` before an indented example ends in ``:`` (the example stays a code
block in Markdown).

A fully qualified target becomes an optional autoref: a link when the
reference documents it, plain code when it does not, so a role never breaks
the strict build. A relative target (``.events``) is resolved against the
object's module when possible, and is plain code otherwise.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

LITERAL_BLOCK = re.compile(r"(?<=\S)::$|^::\n", re.M)
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):`(~?)([\w.]+)`")


def _qualify(target: str, obj: griffe.Object) -> str | None:
    if target.startswith("hubbub."):
        return target
    if target.startswith("."):
        module = obj if obj.is_module else obj.module
        base = module.path if module.is_package else module.path.rsplit(".", 1)[0]
        return base + target
    return None


class SphinxRoles(griffe.Extension):
    """Rewrites Sphinx roles in every docstring to autorefs or code."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None:
            return

        def replace(match: re.Match[str]) -> str:
            short, target = match.group(1), match.group(2)
            shown = target.rsplit(".", 1)[-1] if short or target.startswith(".") else target
            full = _qualify(target, obj)
            if full is None:
                return f"`{shown}`"
            return f'<autoref identifier="{full}" optional><code>{shown}</code></autoref>'

        text = ROLE.sub(replace, obj.docstring.value)
        obj.docstring.value = LITERAL_BLOCK.sub(lambda m: "" if m.group(0) == "::\n" else ":", text)
