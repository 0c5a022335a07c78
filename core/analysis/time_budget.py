"""Time budget: per subject x behaviour (x modifiers), how often, how long, and what share of
the observed time.

Columns follow BORIS's time budget: number of occurrences, total duration, mean and standard
deviation of the durations (sample SD, n - 1, as BORIS's pandas computes it; empty below two
bouts), and % of the observed time (total / observed time of the coded videos). Point events
have a count only. Without modifiers every ethogram behaviour gets a row for every subject,
zeros included: a behaviour never seen is a result too.
"""
from __future__ import annotations

import math
from collections import defaultdict

from .events import Coding

COLUMNS = ("subject", "behavior", "modifiers", "type", "count", "total_s", "mean_s", "sd_s",
           "percent_observed", "observed_s")


def _sd(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((x - mean) ** 2 for x in values) / (len(values) - 1))


def time_budget(coding: Coding, by_modifier: bool = False) -> list[dict]:
    groups: dict[tuple, list] = defaultdict(list)
    kinds: dict[str, str] = {}
    for e in coding.events:
        groups[(e.subject, e.behavior, e.modifiers if by_modifier else "")].append(e)
        kinds[e.behavior] = e.kind
    if not by_modifier:
        for subject in coding.subjects():
            for b in coding.behaviors:
                groups.setdefault((subject, b, ""), [])
    observed = coding.observed_s
    order = {b: i for i, b in enumerate(coding.behaviors)}
    rows = []
    for (subject, behavior, mods), events in sorted(
            groups.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], len(order)), kv[0][2])):
        kind = kinds.get(behavior, "state")
        durations = [e.duration for e in events]
        point = kind == "point"
        total = sum(durations)
        rows.append({
            "subject": subject, "behavior": behavior, "modifiers": mods,
            "type": kind, "count": len(events),
            "total_s": None if point else total,
            "mean_s": None if point or not events else total / len(events),
            "sd_s": None if point else _sd(durations),
            "percent_observed": None if point or observed <= 0 else 100.0 * total / observed,
            "observed_s": observed,
        })
    return rows
