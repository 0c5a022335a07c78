"""Modifiers: per behaviour, named sets of values a coder picks when a bout starts (BORIS's
"modifiers", e.g. posture = upright | hunched, or side = left, right for several at once).

A behaviour holds a list of sets ``{"name", "kind", "values"}`` (kind ``single``: at most one
value, ``multiple``: any number, ``numeric``: one number typed in). A label holds its choice as
``{set name: [values]}`` in the behaviour's set order; a set left empty is absent.

Two text forms travel in files:
- BORIS's: one field per set in set order, joined by ``|``; several values of a set joined by
  ``,``; ``None`` for a set left empty (``"m1|n1,n2"``, ``"None|n3"``).
- our labels table's, self-describing: ``"posture=upright; side=left,right"``.
"""
from __future__ import annotations

import json

from .schema import MODIFIER_KINDS

BORIS_KINDS = {0: "single", 1: "multiple", 2: "numeric"}  # 3 (external data) is not coded by hand
BORIS_NONE = "None"
_FORBIDDEN = "|,;="  # separators of the two text forms


class ModifierError(ValueError):
    """A modifier definition or choice that doesn't fit; the message says which."""


def _name(text, what: str) -> str:
    name = " ".join(str(text or "").split())
    if not name:
        raise ModifierError(f"{what} is empty")
    bad = [c for c in _FORBIDDEN if c in name]
    if bad:
        raise ModifierError(f"{what} {name!r} contains {bad[0]!r} (not allowed: {_FORBIDDEN})")
    if name == BORIS_NONE:
        raise ModifierError(f"{what} can't be {BORIS_NONE!r} (BORIS's word for no value)")
    return name


def normalise_sets(sets) -> list[dict]:
    """Validated modifier sets: JSON text or a list of dicts; names unique, values unique."""
    if isinstance(sets, str):
        sets = json.loads(sets or "[]")
    out, seen = [], set()
    for s in sets or []:
        if not isinstance(s, dict):
            raise ModifierError(f"modifier set {s!r} is not a mapping with name, kind, values")
        name = _name(s.get("name"), "modifier set name")
        if name.lower() in seen:
            raise ModifierError(f"modifier set {name!r} appears twice")
        seen.add(name.lower())
        kind = s.get("kind", "single")
        if kind not in MODIFIER_KINDS:
            raise ModifierError(f"modifier set {name!r}: kind {kind!r} is not one of "
                                f"{', '.join(MODIFIER_KINDS)}")
        values: list[str] = []
        for v in s.get("values") or []:
            v = _name(v, f"a value of modifier set {name!r}")
            if v not in values:
                values.append(v)
        if kind != "numeric" and not values:
            raise ModifierError(f"modifier set {name!r} has no values to choose from")
        out.append({"name": name, "kind": kind, "values": [] if kind == "numeric" else values})
    return out


def normalise_choice(sets: list[dict], chosen) -> dict[str, list[str]]:
    """A label's choice checked against its behaviour's sets. ``chosen``: a mapping (set name ->
    value or list of values), JSON text, our ``set=value`` text, or None."""
    if chosen in (None, "", {}):
        return {}
    if isinstance(chosen, str):
        chosen = json.loads(chosen) if chosen.lstrip().startswith("{") else parse_text(chosen)
    if not isinstance(chosen, dict):
        raise ModifierError(f"modifiers {chosen!r} are not a mapping of set names to values")
    by_name = {s["name"].lower(): s for s in sets}
    picked: dict[str, list[str]] = {}
    for key, values in chosen.items():
        s = by_name.get(str(key).strip().lower())
        if s is None:
            known = ", ".join(x["name"] for x in sets) or "none defined"
            raise ModifierError(f"modifier set {key!r} is not defined for this behaviour ({known})")
        values = [values] if isinstance(values, (str, int, float)) else list(values or [])
        values = [" ".join(str(v).split()) for v in values]
        values = [v for v in values if v and v != BORIS_NONE]
        if s["kind"] == "numeric":
            for v in values:
                try:
                    float(v)
                except ValueError:
                    raise ModifierError(f"modifier {s['name']!r} needs a number, not {v!r}") from None
        else:
            for v in values:
                if v not in s["values"]:
                    raise ModifierError(f"{v!r} is not a value of modifier set {s['name']!r} "
                                        f"({', '.join(s['values'])})")
        if s["kind"] != "multiple" and len(values) > 1:
            raise ModifierError(f"modifier set {s['name']!r} takes one value, got {len(values)}")
        if values:
            picked[s["name"]] = list(dict.fromkeys(values))
    return {s["name"]: picked[s["name"]] for s in sets if s["name"] in picked}


def to_boris(sets: list[dict], chosen: dict[str, list[str]]) -> str:
    """BORIS's Modifiers text ("" when the behaviour has no sets)."""
    return "|".join(",".join(chosen.get(s["name"]) or [BORIS_NONE]) for s in sets)


def from_boris(sets: list[dict], text: str) -> dict[str, list[str]]:
    """Parse BORIS's Modifiers text positionally against ``sets`` (validated)."""
    text = (text or "").strip()
    if not text:
        return {}
    fields = text.split("|")
    if len(fields) > len(sets):
        raise ModifierError(f"modifiers {text!r} have {len(fields)} fields, the behaviour "
                            f"{len(sets)} modifier sets")
    return normalise_choice(sets, {s["name"]: f.split(",") for s, f in zip(sets, fields)})


def sets_from_boris_conf(conf) -> list[dict]:
    """Sets of one behaviour of a .boris ethogram (its ``modifiers`` entry)."""
    out = []
    items = conf.items() if isinstance(conf, dict) else enumerate(conf or [])
    for _idx, m in sorted(items, key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0):
        kind = BORIS_KINDS.get(int(m.get("type", 0) or 0))
        if kind is None:
            continue
        # BORIS lets a value carry its key as "upright (u)"; the event stores it without.
        values = [str(v).split(" (")[0] for v in m.get("values") or []]
        out.append({"name": m.get("name") or f"modifier {len(out) + 1}", "kind": kind,
                    "values": values})
    return normalise_sets(out)


def sets_to_boris_conf(sets: list[dict]) -> dict:
    kinds = {v: k for k, v in BORIS_KINDS.items()}
    return {str(i): {"name": s["name"], "type": kinds[s["kind"]], "values": list(s["values"]),
                     "description": ""} for i, s in enumerate(sets)}


def sets_seen_in(texts) -> list[dict]:
    """Sets guessed from BORIS Modifiers texts alone (tables carry no set definitions): one
    set per field position, named "modifier N", with every value seen."""
    fields: list[dict[str, None]] = []
    multiple: list[bool] = []
    for text in texts:
        for i, f in enumerate((text or "").strip().split("|") if (text or "").strip() else []):
            while len(fields) <= i:
                fields.append({})
                multiple.append(False)
            values = [v.strip() for v in f.split(",") if v.strip() and v.strip() != BORIS_NONE]
            multiple[i] |= len(values) > 1
            fields[i].update(dict.fromkeys(values))
    return [{"name": f"modifier {i + 1}", "kind": "multiple" if multiple[i] else "single",
             "values": list(values) or ["yes"]} for i, values in enumerate(fields)]


def merge_sets(old: list[dict], new: list[dict]) -> list[dict]:
    """``old`` with the sets and values of ``new`` it lacks (by name), for imports."""
    out = [dict(s, values=list(s["values"])) for s in old]
    by_name = {s["name"].lower(): s for s in out}
    for s in new:
        mine = by_name.get(s["name"].lower())
        if mine is None:
            out.append(dict(s, values=list(s["values"])))
            by_name[s["name"].lower()] = out[-1]
        else:
            mine["values"] += [v for v in s["values"] if v not in mine["values"]]
    return out


def format_text(chosen: dict[str, list[str]]) -> str:
    """Our labels table's form: ``"posture=upright; side=left,right"``."""
    return "; ".join(f"{k}={','.join(v)}" for k, v in (chosen or {}).items())


def parse_text(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            raise ModifierError(f"modifier {part.strip()!r} is not of the form set=value")
        key, values = part.split("=", 1)
        out[key.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return out


_KIND_WORDS = {"single": "", "multiple": " (several)", "numeric": " (number)"}


def sets_to_text(sets: list[dict]) -> str:
    """One line per set, as the behaviour editor shows them: ``posture: upright, hunched``,
    ``side (several): left, right``, ``speed (number)``."""
    return "\n".join(f"{s['name']}{_KIND_WORDS[s['kind']]}" + (f": {', '.join(s['values'])}" if s["values"] else "")
                     for s in sets)


def sets_from_text(text: str) -> list[dict]:
    sets = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        head, _, values = line.partition(":")
        head = head.strip()
        kind = "single"
        for k, word in _KIND_WORDS.items():
            if word and head.endswith(word.strip()):
                kind, head = k, head[: -len(word.strip())].strip()
        sets.append({"name": head, "kind": kind,
                     "values": [v.strip() for v in values.split(",") if v.strip()]})
    return normalise_sets(sets)
