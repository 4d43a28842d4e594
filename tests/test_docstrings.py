"""Every public name has a docstring, since the API reference (docs/api/) is generated from them.

Public means: listed in ``pceval.__all__`` or in the ``__all__`` of a public submodule (those in
``pceval._SUBMODULES``, so a module added there is covered without editing this file), and, for a public
class, each of its methods and properties whose name does not start with ``_`` and that pceval defines.
A method that overrides a documented one of a pceval base class (``to_frame`` of the result protocol,
``pceval._results.ResultProtocol``) has that docstring, as in ``help()``; the API pages show it too
(docs/griffe_pceval.py).
"""

from __future__ import annotations

import importlib
import inspect

import pceval


def _public_modules() -> list[str]:
    return ["pceval", *(f"pceval.{name}" for name in pceval._SUBMODULES)]


def _doc(member: object) -> str:
    doc = member.fget.__doc__ if isinstance(member, property) else getattr(member, "__doc__", None)
    return (doc or "").strip()


def _inherited_doc(cls: type, name: str) -> str:
    """The docstring of ``name`` on the first pceval class in ``cls``'s MRO that documents it."""
    for klass in cls.__mro__:
        if klass.__module__.startswith("pceval") and name in vars(klass):
            member = vars(klass)[name]
            if isinstance(member, staticmethod | classmethod):
                member = member.__func__
            if _doc(member):
                return _doc(member)
    return ""


def _own_members(cls: type) -> list[tuple[str, object]]:
    """Public methods and properties that the class (or a pceval base class) defines."""
    out = []
    for klass in cls.__mro__:
        if not klass.__module__.startswith("pceval"):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_") or any(name == n for n, _ in out):
                continue
            if isinstance(member, staticmethod | classmethod):
                member = member.__func__
            if inspect.isfunction(member) or isinstance(member, property):
                out.append((name, member))
    return out


def _missing() -> list[str]:
    missing = []
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        if not (module.__doc__ or "").strip():
            missing.append(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue  # constants and submodules are documented where they are described
            if not obj.__module__.startswith("pceval"):
                continue
            if not (obj.__doc__ or "").strip():
                missing.append(f"{module_name}.{name}")
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                for attr, _member in _own_members(obj):
                    if not _inherited_doc(obj, attr):
                        missing.append(f"{module_name}.{name}.{attr}")
    return sorted(set(missing))


def test_every_public_name_has_a_docstring():
    missing = _missing()
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"


def test_the_check_finds_a_missing_docstring(monkeypatch):
    def undocumented(x):
        return x

    undocumented.__module__ = "pceval.panel"
    monkeypatch.setattr(pceval.panel, "undocumented", undocumented, raising=False)
    monkeypatch.setattr(pceval.panel, "__all__", [*pceval.panel.__all__, "undocumented"])
    assert "pceval.panel.undocumented" in _missing()
