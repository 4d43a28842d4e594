"""A griffe extension that reads pceval's docstrings as the numpy style mkdocstrings expects.

pceval's docstrings are written for people reading them in an editor or ``help()``:

* parameters are listed as ``name : what it is`` on one line, the description where numpy style puts
  the type (the type is in the signature), e.g. ``outcome : the outcome (a count for model="poisson").``;
* the example section is headed ``Example`` as often as ``Examples``;
* other names are referred to with Sphinx roles, ``:func:`build_panel```.

This extension rewrites the docstring text before mkdocstrings parses it, and changes nothing in the
package: a parameter line whose text after `` : `` is prose (not a type such as ``str or None``) becomes
``name`` followed by that text as its indented description, ``Example`` becomes ``Examples``, and a role
becomes inline code. mkdocs.yml loads it (``extensions: - docs/griffe_pceval.py``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SECTION_RULE = re.compile(r"^-{3,}\s*$")
_PARAMETER_SECTIONS = {"parameters", "other parameters", "attributes"}
_ITEM = re.compile(r"^(?P<names>\*{0,2}\w+(?:,\s*\*{0,2}\w+)*)\s+:\s+(?P<text>.+)$")
_TYPE_WORD = r"[A-Za-z_][\w.]*(?:\[[^\]]*\])?"
_TYPE_LIKE = re.compile(rf"^{_TYPE_WORD}(?:\s*(?:\||,| or )\s*{_TYPE_WORD})*(?:,\s*optional)?$")
_ROLE = re.compile(r":(?:func|meth|class|mod|data|attr|obj|exc):`~?([^`]+)`")


def _is_type(text: str) -> bool:
    """``str or None``, ``pandas.DataFrame``, ``int, optional`` are types; prose is not."""
    return len(text) <= 40 and bool(_TYPE_LIKE.match(text.strip()))


def _role(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"`{name}`"


def _starts_item(line: str, section: str) -> bool:
    """Whether an unindented line opens an entry of a parameters or returns section."""
    if _ITEM.match(line):
        return True
    return section == "returns" and (_is_type(line) or bool(re.match(r"^\*{0,2}\w+$", line)))


def _fence_doctests(lines: list[str]) -> list[str]:
    """Wrap ``>>>`` examples outside an Examples section in a ``pycon`` code block."""
    out: list[str] = []
    inside = False
    for line in lines:
        if not inside and line.startswith(">>>"):
            out.append("```pycon")
            inside = True
        elif inside and not line.strip():
            out.append("```")
            inside = False
        out.append(line)
    if inside:
        out.append("```")
    return out


def rewrite(text: str) -> str:
    """The docstring ``text`` in the numpy style mkdocstrings parses (see the module docstring)."""
    lines = text.splitlines()
    out: list[str] = []
    plain: list[str] = []          # lines outside any section's entries, fenced before writing
    section = ""
    previous_blank = False
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _SECTION_RULE.match(following) and line.strip() and not line.startswith(" "):
            section = line.strip().lower()
            if section == "example":
                line, section = "Examples", "examples"
        elif _SECTION_RULE.match(line):
            pass
        elif section in _PARAMETER_SECTIONS | {"returns"} and line.strip() and not line.startswith(" "):
            if previous_blank and not _starts_item(line, section):
                # prose after the last entry: it is not an entry, so it goes under its own heading
                out.extend(["Notes", "-----"])
                section = "notes"
            elif section in _PARAMETER_SECTIONS:
                item = _ITEM.match(line)
                if item and not _is_type(item.group("text")):
                    out.append(item.group("names"))
                    out.append("    " + item.group("text"))
                    previous_blank = False
                    continue
        previous_blank = not line.strip()
        if section in {"", "notes"}:
            plain.append(line)
            continue
        out.extend(_fence_doctests(plain))
        plain = []
        out.append(line)
    out.extend(_fence_doctests(plain))
    return _ROLE.sub(_role, "\n".join(out))


def _inherit_docstrings(cls: griffe.Class) -> None:
    """Give an undocumented method or property the docstring of the base-class member it overrides
    (as ``help()`` does), e.g. a result's ``to_frame`` takes the result protocol's."""
    for name, member in cls.members.items():
        if name.startswith("_") or member.is_alias or member.docstring is not None:
            continue
        for base in cls.mro():
            inherited = base.members.get(name)
            if inherited is not None and not inherited.is_alias and inherited.docstring is not None:
                member.docstring = griffe.Docstring(inherited.docstring.value, parent=member)
                break


class PcevalDocstrings(griffe.Extension):
    """Rewrite every docstring of the loaded package with :func:`rewrite`, and let methods inherit
    the docstring of the base-class method they override."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        classes = [pkg]
        while classes:
            obj = classes.pop()
            for member in obj.members.values():
                if member.is_alias:
                    continue
                if member.is_class:
                    try:
                        _inherit_docstrings(member)
                    except Exception:  # noqa: BLE001 (an unresolvable base: nothing to inherit)
                        pass
                if member.is_module or member.is_class:
                    classes.append(member)
