"""Read BORIS files: ``.boris`` projects and tabular / aggregated event exports (9.x headers and
the older 7.x layout with a key/value header block).

BORIS times are on the observation's timeline: when an observation plays several media files
one after another, an event at 200 s in a 180 s + 360 s observation is at 20 s of the second
file. Where the file says how long each media file is (``.boris`` media_info, 9.x "Source" and
"Media duration (s)") we subtract the earlier files; otherwise times are taken as media times.
"""
from __future__ import annotations

import json

from .errors import ImportFormatError
from .modifiers import ModifierError, from_boris, sets_from_boris_conf, sets_seen_in
from .records import (BehaviorDef, Bout, Parsed, Rejected, SubjectDef, clean, media_name,
                      parse_seconds, read_table, subject_or_none)

_NA = ("", "NA", "Not found")


def _kind(boris_type) -> str:
    return "point" if "point" in str(boris_type).lower() else "state"


def _float(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{what} {value!r} is not a number")
    return parse_seconds(value, what)


# ---- .boris project (JSON) ------------------------------------------------------------------

def parse_project(text: str, where: str) -> Parsed:
    try:
        pj = json.loads(text)
    except json.JSONDecodeError as e:
        raise ImportFormatError(where, f"is not a valid BORIS project ({e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise ImportFormatError(where, "is not a valid BORIS project (nested too deeply)") from None
    if not isinstance(pj, dict) or not isinstance(pj.get("behaviors_conf"), dict):
        raise ImportFormatError(where, "is not a BORIS project (no behaviors_conf ethogram)")
    out = Parsed("boris project")
    kinds: dict[str, str] = {}
    sets: dict[str, list[dict]] = {}
    # Our own .boris exports carry the text prompts and colours BORIS has no place for.
    extra = pj.get("ethoscout") if isinstance(pj.get("ethoscout"), dict) else {}
    try:
        for entry in pj["behaviors_conf"].values():
            code = clean(entry["code"])
            if not code:
                continue
            kinds[code] = _kind(entry.get("type"))
            desc = clean(entry.get("description")) or None
            try:
                sets[code] = sets_from_boris_conf(entry.get("modifiers"))
            except (ModifierError, ValueError) as e:
                raise ImportFormatError(where, f"behaviour {code!r} has unusable modifiers ({e})") from None
            ours = (extra.get("behaviors") or {}).get(code) or {}
            out.behaviors.append(BehaviorDef(code, kinds[code], desc, clean(entry.get("key")) or None,
                                             ours.get("prompts") or ([desc] if desc else [code]),
                                             sets[code], ours.get("colour")))
        for entry in (pj.get("subjects_conf") or {}).values():
            name = clean(entry["name"])
            if name:
                out.subjects.append(SubjectDef(name, clean(entry.get("description")) or None,
                                               clean(entry.get("key")) or None))
        observations = pj.get("observations") or {}
        if not isinstance(observations, dict):
            raise TypeError("observations is not a mapping")
    except (TypeError, KeyError, AttributeError) as e:
        raise ImportFormatError(where, f"has a malformed ethogram or subject list ({e})") from None
    for obs_id, obs in observations.items():
        _project_observation(str(obs_id), obs, kinds, sets, out)
    return out


def _project_observation(obs_id: str, obs, kinds: dict, sets: dict, out: Parsed) -> None:
    loc = f"observation {obs_id!r}"
    try:
        if str(obs.get("type", "MEDIA")).upper() != "MEDIA":
            if obs.get("events"):
                out.rejected.append(Rejected(loc, f"{obs.get('type')} observation has no video"))
            return
        files = [str(f) for f in (obs.get("file") or {}).get("1", []) or []]
        lengths = (obs.get("media_info") or {}).get("length") or {}
        offset = float(obs.get("time offset", 0.0) or 0.0)
        events = list(obs.get("events") or [])
    except (TypeError, ValueError, AttributeError) as e:
        out.rejected.append(Rejected(loc, f"malformed observation ({e})"))
        return
    # Where each player-1 file starts on the observation timeline.
    starts, t = [], 0.0
    for f in files:
        starts.append(t)
        length = lengths.get(f) if isinstance(lengths, dict) else None
        t = t + float(length) if isinstance(length, (int, float)) else float("nan")

    def locate(obs_t: float) -> tuple[str, float]:
        t = obs_t - offset
        if not files:
            raise ValueError("observation has no media file")
        for f, s in reversed(list(zip(files, starts))):
            if s != s:  # unknown length earlier: only the first file is safe
                continue
            if t >= s:
                return f, round(t - s, 6)  # drop float noise of the subtraction
        return files[0], t

    parsed = []
    for i, ev in enumerate(events):
        where = f"{loc} event {i + 1}"
        try:
            if not isinstance(ev, (list, tuple)) or len(ev) < 3:
                raise ValueError("event is not [time, subject, behaviour, ...]")
            time = _float(ev[0], "time")
            code = clean(ev[2])
            if code not in kinds:
                raise ValueError(f"behaviour {code!r} is not in the ethogram")
            subject = subject_or_none(ev[1] if isinstance(ev[1], str) else "")
            modifier = clean(ev[3]) if len(ev) > 3 and isinstance(ev[3], str) else ""
            comment = clean(ev[4]) if len(ev) > 4 and isinstance(ev[4], str) else ""
            chosen = from_boris(sets[code], modifier) if sets[code] else {}
            parsed.append((time, i, where, code, subject, modifier, comment, chosen))
        except ValueError as e:  # ModifierError included
            out.rejected.append(Rejected(where, str(e)))
    parsed.sort(key=lambda e: (e[0], e[1]))
    open_states: dict[tuple, tuple] = {}
    annotator = pj_observer(obs) or None
    for time, _i, where, code, subject, modifier, comment, chosen in parsed:
        note = comment or None
        try:
            if kinds[code] == "point":
                media, t = locate(time)
                out.bouts.append(Bout(where, media, code, t, None, subject, note, modifiers=chosen,
                                      annotator=annotator))
                continue
            key = (code, subject, modifier)  # BORIS pairs state events this way
            if key not in open_states:
                open_states[key] = (time, where, note)
                continue
            start, start_where, start_note = open_states.pop(key)
            media, t0 = locate(start)
            media_stop, t1 = locate(time)
            if media_stop != media:
                raise ValueError(f"bout spans two media files ({media}, {media_stop})")
            out.bouts.append(Bout(start_where, media, code, t0, t1, subject, start_note,
                                  modifiers=chosen, annotator=annotator))
        except ValueError as e:
            out.rejected.append(Rejected(where, str(e)))
    for (code, _s, _m), (_t, where, _n) in open_states.items():
        out.rejected.append(Rejected(where, f"state event {code!r} starts but never stops"))


def pj_observer(obs) -> str:
    """The coder of an observation, where the file names one (our exports do)."""
    value = obs.get("observer") if isinstance(obs, dict) else None
    return clean(value) if isinstance(value, str) else ""


# ---- tabular and aggregated exports (CSV / TSV) ---------------------------------------------

def looks_like_boris_table(rows: list[list[str]]) -> bool:
    return _find_header(rows) is not None


def _find_header(rows: list[list[str]]) -> tuple[int, str] | None:
    """Index of the column header row and the layout it announces."""
    for i, row in enumerate(rows[:200]):
        cells = {c.strip() for c in row}
        if {"Behavior", "Start (s)", "Stop (s)"} <= cells:
            return i, "aggregated"
        if {"Behavior", "Behavior type", "Time"} <= cells:
            return i, "tabular"
        if {"Behavior", "Time", "Status"} <= cells:
            return i, "tabular 7.x"
    return None


def parse_table(text: str, where: str, delimiter: str | None = None) -> Parsed:
    rows = read_table(text, where, delimiter)
    found = _find_header(rows)
    if found is None:
        raise ImportFormatError(where, "is not a BORIS export (no header row with Behavior and "
                                       "Time or Start (s)/Stop (s) columns)")
    header_at, layout = found
    header = [c.strip() for c in rows[header_at]]
    meta = _key_values(rows[:header_at])
    body = [(n + 1, r) for n, r in enumerate(rows) if n > header_at and any(c.strip() for c in r)]
    out = Parsed(f"boris {layout}")
    for line, row in body:
        if len(row) < len(header) and len(row) != 1:
            out.rejected.append(Rejected(f"line {line}", f"has {len(row)} cells, the header {len(header)}"))
    body = [(line, dict(zip(header, r + [""] * (len(header) - len(r))))) for line, r in body
            if len(r) >= len(header)]
    behaviors: dict[str, str] = {}
    if layout == "aggregated":
        _aggregated(body, out, behaviors)
    else:
        _tabular(body, meta, out, behaviors)
    texts: dict[str, list[str]] = {}
    for b in out.bouts:
        if isinstance(b.modifiers, str) and b.modifiers:
            texts.setdefault(b.behavior, []).append(b.modifiers)
    out.behaviors = [BehaviorDef(name, kind, modifiers=sets_seen_in(texts.get(name, [])))
                     for name, kind in behaviors.items()]
    subjects = {b.subject for b in out.bouts if b.subject}
    out.subjects = [SubjectDef(s) for s in sorted(subjects)]
    return out


def _key_values(rows: list[list[str]]) -> dict[str, str]:
    return {r[0].strip(): (r[1].strip() if len(r) > 1 else "") for r in rows if r and r[0].strip()}


def _media_offsets(row: dict) -> dict[str, float]:
    """Start of each player-1 file on the observation timeline, from 9.x Source/duration cells
    ("player #1:a.mp4;b.mp4" and "179.960;359.960")."""
    source, durations = row.get("Source", ""), row.get("Media duration (s)", "")
    player1 = source.split("|")[0]
    if ":" not in player1:
        return {}
    files = player1.split(":", 1)[1].split(";")
    lengths = durations.split("|")[0].split(";")
    if len(files) != len(lengths):
        return {}
    offsets, t = {}, 0.0
    for f, length in zip(files, lengths):
        offsets[media_name(f)] = t
        try:
            t += float(length)
        except ValueError:
            break
    return offsets


def _media_of(row: dict) -> str:
    for key in ("Media file name", "Media file path", "Media file"):
        value = row.get(key, "").strip()
        if value:
            if value in _NA:
                raise ValueError("event has no media file")
            return value
    raise ValueError("event has no media file")


def _media_time(row: dict, media: str, t: float) -> float:
    offset = _media_offsets(row).get(media_name(media), 0.0)
    try:
        offset += float(row.get("Time offset (s)", "0") or 0)
    except ValueError:
        pass
    t -= offset
    if t < 0:
        raise ValueError(f"time {t:.3f} s is before the start of {media_name(media)}")
    return round(t, 6)


def _aggregated(body, out: Parsed, behaviors: dict) -> None:
    for line, row in body:
        where = f"line {line}"
        try:
            name = clean(row["Behavior"])
            if not name:
                raise ValueError("behaviour is empty")
            kind = "point" if row.get("Behavior type", "").strip().upper() == "POINT" else "state"
            media = _media_of(row)
            start = _media_time(row, media, parse_seconds(row["Start (s)"], "start"))
            if kind == "point":
                end = None
            else:
                end = _media_time(row, media, parse_seconds(row["Stop (s)"], "stop"))
                if end < start:
                    raise ValueError(f"stop {end:.3f} s is before start {start:.3f} s")
                if end == start:
                    kind = "point"
                    end = None
            behaviors.setdefault(name, kind)
            out.bouts.append(Bout(where, media, name, start, end, subject_or_none(row.get("Subject")),
                                  clean(row.get("Comment start")) or None,
                                  modifiers=clean(row.get("Modifiers")) or None))
        except ValueError as e:
            out.rejected.append(Rejected(where, str(e)))


def _tabular(body, meta: dict, out: Parsed, behaviors: dict) -> None:
    status_col = "Behavior type" if body and "Behavior type" in body[0][1] else "Status"
    open_states: dict[tuple, tuple] = {}
    for line, row in body:
        where = f"line {line}"
        try:
            name = clean(row["Behavior"])
            if not name:
                raise ValueError("behaviour is empty")
            status = row.get(status_col, "").strip().upper()
            if status not in ("START", "STOP", "POINT"):
                raise ValueError(f"event type {row.get(status_col)!r} is not START, STOP or POINT")
            media = _media_of(row)
            t = _media_time(row, media, parse_seconds(row["Time"], "time"))
            subject = subject_or_none(row.get("Subject"))
            comment = clean(row.get("Comment")) or None
            modifier = clean(row.get("Modifiers")) or None
            obs = row.get("Observation id", meta.get("Observation id", ""))
            if status == "POINT":
                behaviors.setdefault(name, "point")
                out.bouts.append(Bout(where, media, name, t, None, subject, comment,
                                      modifiers=modifier))
                continue
            behaviors.setdefault(name, "state")
            key = (obs, subject, name, modifier or "")  # BORIS pairs by modifiers too
            if status == "START":
                if key in open_states:
                    raise ValueError(f"START of {name!r} while the one at "
                                     f"{open_states[key][0]} is still open")
                open_states[key] = (where, media, t, comment)
                continue
            if key not in open_states:
                raise ValueError(f"STOP of {name!r} without a START")
            start_where, start_media, t0, start_comment = open_states.pop(key)
            if media_name(start_media) != media_name(media):
                raise ValueError(f"bout spans two media files ({start_media}, {media})")
            if t < t0:
                raise ValueError(f"STOP at {t:.3f} s is before its START at {t0:.3f} s")
            out.bouts.append(Bout(start_where, start_media, name, t0, t if t > t0 else None,
                                  subject, start_comment, modifiers=modifier))
        except ValueError as e:
            out.rejected.append(Rejected(where, str(e)))
    for (_obs, _subject, name, _mod), (where, *_rest) in open_states.items():
        out.rejected.append(Rejected(where, f"START of {name!r} without a STOP"))

