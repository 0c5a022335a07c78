"""Review: what is on screen (video, visible range, clip under review), suggestions and
answers, behaviours, labels, coding by key, undo.

Invariants kept here (and nowhere else):
- the clip under review is on the current video; showing another video ends the review;
- the visible range lies inside the current video and contains the clip under review;
- an answer is stored for exactly the clip under review; with none on screen, A / R / S / N
  show the next clip and store nothing;
- stored times are those of frames (the frame on screen at a time, by presentation timestamp);
- every change the window makes (answers, bouts, label edits and deletes, behaviours, subjects,
  undo, redo) is queued in order (``writes``): what it stores is captured when the key is
  pressed and the window goes on at once; what needs the stored row (a new behaviour's id)
  shows when it lands.
"""
from __future__ import annotations

from argparse import ArgumentTypeError

from ethoscout.core import options
from ethoscout.core.data.errors import ProjectError
from ethoscout.core.data.project import describe_bout

from .suggestions import Suggestion, suggest_clips
from .writes import PendingWrite, WritesMixin

ANSWERS = ("accept", "reject", "skip")
MIN_VISIBLE_S = 0.05
_NOCASE = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(name: str) -> str:
    """A behaviour name as the database compares names (COLLATE NOCASE: ASCII case ignored)."""
    return " ".join(name.split()).translate(_NOCASE)


class ReviewMixin(WritesMixin):

    # ---- what is on screen -----------------------------------------------------------------

    def duration(self, video_id: int | None = None) -> float:
        vid = self.view.video_id if video_id is None else video_id
        try:
            return float(self.video(vid)["duration_s"]) if vid is not None else 0.0
        except ProjectError:
            return 0.0

    def show_video(self, video_id: int | None, visible: tuple[float, float] | None = None) -> None:
        """Put a video on screen: the whole video visible unless ``visible`` is given. A clip
        under review on another video stops being reviewed, unfinished coded events too."""
        if video_id != self.view.video_id:
            if self.view.clip is not None and self.view.clip.video_id != video_id:
                self.view.clip = None
            if self.view.coding:
                names = ", ".join(self.behavior(b)["name"] for b, _ in self.view.coding)
                self.view.coding = ()
                self.message("info", f"unfinished event(s) dropped when leaving the video: {names}")
            self.view.video_id = video_id
            self.set_visible(*(visible or (0.0, self.duration())))
            if self.preview_text:
                self.set_preview(self.preview_text)
        elif visible is not None:
            self.set_visible(*visible)

    def select_video(self, video_id: int | None) -> None:
        self.show_video(video_id)

    def set_visible(self, a: float, b: float) -> None:
        """The timeline's time range, kept inside the video (the timeline reports pans/zooms here)."""
        d = self.duration()
        if self.view.video_id is None or d <= 0:
            self.view.visible = None
            return
        a, b = sorted((float(a), float(b)))
        w = min(max(b - a, MIN_VISIBLE_S), d)
        a = min(max(a, 0.0), d - w)
        self.view.visible = (a, a + w)

    def zoom_fit(self) -> None:
        self.set_visible(0.0, self.duration())

    def follow(self, t: float) -> None:
        """Keep the playhead at ``t`` visible: page the range when it leaves it."""
        vis = self.view.visible
        if vis is None or vis[0] <= t <= vis[1]:
            return
        w = vis[1] - vis[0]
        self.set_visible(t - 0.1 * w, t + 0.9 * w)

    def _reveal(self, a: float, b: float) -> None:
        vis = self.view.visible
        if vis is not None and vis[0] <= a and b <= vis[1]:
            return
        w = max(vis[1] - vis[0] if vis else 0.0, 4 * (b - a))
        c = (a + b) / 2
        self.set_visible(c - w / 2, c + w / 2)

    def stop_review(self) -> None:
        """The player leaves the clip (a seek, a click on the timeline)."""
        self.view.clip = None

    def review(self, clip: Suggestion | None) -> Suggestion | None:
        """Put ``clip`` on screen as the clip under review (its video, its range)."""
        if clip is None:
            self.view.clip = None
            return None
        if clip.video_id != self.view.video_id:
            self.view.clip = None
            self.show_video(clip.video_id)
        self._reveal(clip.start_s, clip.end_s)
        if self.view.behavior_id != clip.behavior_id:
            self.view.behavior_id = clip.behavior_id
        self.view.clip = clip
        return clip

    # ---- suggestions -----------------------------------------------------------------------

    def next_clip(self) -> Suggestion | None:
        """The clip the review shows next: the best one on the current video, else the best."""
        here = [s for s in self.suggestions if s.video_id == self.view.video_id]
        return (here or self.suggestions or [None])[0]

    def refresh_suggestions(self, keep_current: bool = True) -> list[Suggestion]:
        """Rank the current behaviour's clips again (after new curves or answers). The clip
        under review stays on screen whatever the new ranking."""
        bid = self.view.behavior_id
        if self.scope is None:
            return []
        if bid is None:
            self.scope.suggestions = []
        else:
            curves = {vid: (c.starts, c.ends, c.scores) for vid, per in self.curves.items()
                      for b, c in per.items() if b == bid}
            videos = {v["id"]: v for v in self.videos}
            clip = self.view.clip
            answered = {w.clip_key for w in self.pending_writes if w.clip_key is not None}
            skip = set(self.skipped) | answered | ({clip.key()} if clip is not None else set())
            try:
                labels = self.project.labels(behavior=bid)
            except ProjectError:
                if any(b["id"] == bid for b in self.project.behaviors()):
                    raise
                labels = None  # deleted by an undo whose landing refreshes everything next
            self.scope.suggestions = [] if labels is None else suggest_clips(curves, bid, labels, videos, skip=skip)
        self.events.emit("suggestions")
        return self.suggestions

    def select_behavior(self, behavior_id: int | None) -> None:
        if behavior_id != self.view.behavior_id:
            if self.view.clip is not None and self.view.clip.behavior_id != behavior_id:
                self.view.clip = None
            self.view.behavior_id = behavior_id
            self.refresh_suggestions()

    def answer(self, verdict: str) -> Suggestion | None:
        """Accept, reject or skip the clip under review (queued for the database, in order),
        then show the next clip at once. With no clip under review, show one and store nothing.
        Returns the clip now under review."""
        if verdict not in ANSWERS:
            raise ValueError(f"answer must be one of {ANSWERS}")
        clip = self.view.clip
        if clip is None:
            return self.review(self.next_clip())
        if verdict == "skip":
            self.skipped.add(clip.key())
        else:
            self._queue_answer(clip, verdict)
        self.scope.suggestions = [s for s in self.suggestions if s.key() != clip.key()]
        self.view.clip = None
        self.events.emit("suggestions")
        return self.review(self.next_clip())

    def _queue_answer(self, clip: Suggestion, verdict: str) -> PendingWrite:
        """Store ``verdict`` for ``clip`` with what is true now (model, adapter, subject)."""
        adapter = self.view.model.adapter_version if self.view.model else None
        model_id, subject = self.prefs.model, self.view.subject_id

        def write(project):
            return project.add_label(clip.video_id, clip.behavior_id, clip.start_s, clip.end_s, verdict,
                                     source="suggestion", score=clip.score, adapter_version=adapter,
                                     model_id=model_id, subject=subject)

        what = describe_bout(verdict, self.behavior(clip.behavior_id)["name"], clip.start_s, clip.end_s)
        # heads refit on the new answer; curves and suggestions follow
        return self._queue_write(what, write, ("labels", "suggestions", "scores"), clip_key=clip.key())

    def next_suggestion(self) -> Suggestion | None:
        """Show the next clip without answering this one (it goes to the back of the list)."""
        clip = self.view.clip
        if clip is None:
            return self.review(self.next_clip())
        rest = [s for s in self.suggestions if s.key() != clip.key()]
        nxt = next((s for s in rest if s.video_id == clip.video_id), rest[0] if rest else None)
        if nxt is None:
            return clip
        self.scope.suggestions = rest + [clip]
        self.events.emit("suggestions")
        return self.review(nxt)

    def choose_suggestion(self, index: int) -> Suggestion | None:
        if 0 <= index < len(self.suggestions):
            return self.review(self.suggestions[index])
        return self.view.clip

    # ---- behaviours ------------------------------------------------------------------------

    def reserved_keys(self) -> dict[str, str]:
        """Single keys the window already uses (review, playback): {key: what it does}."""
        from ..prefs import DEFAULT_SHORTCUTS

        return {self.prefs.shortcut(a).lower(): what for a, (_k, what) in DEFAULT_SHORTCUTS.items()
                if len(self.prefs.shortcut(a)) == 1}

    def _check_key(self, key: str | None, behavior_id: int | None = None) -> str | None:
        key = (key or "").strip()
        if not key:
            return None
        if len(key) != 1 or not key.isprintable() or key.isspace():
            raise ProjectError("behaviour key", f"{key!r} is not a single character key")
        taken = self.reserved_keys().get(key.lower())
        if taken:
            raise ProjectError("behaviour key", f"“{key}” is the key for “{taken}”; choose another "
                                                "(review and playback keys stay theirs)")
        holder = self.behavior_key_taken(key, behavior_id)
        if holder is not None:
            raise ProjectError("behaviour key", f"“{key}” already codes “{holder}”")
        return key

    @staticmethod
    def _check_name(text: str) -> str:
        """The CLI's rule for a behaviour name (one line, at most 200 characters)."""
        try:
            return options.BEHAVIOUR_NAME(str(text))
        except ArgumentTypeError as e:
            raise ProjectError("ethoscout", str(e)) from None

    def _behaviors_once_landed(self, behavior_id: int | None = None) -> list[dict]:
        """The behaviours other than ``behavior_id`` once the queued changes land, stored or
        queued: their "name" and "key". After a queued undo or redo only the ones changed since
        are known here (the database still refuses a clash when it lands)."""
        known = {b["id"]: {"name": b["name"], "key": b.get("key") or ""} for b in self.behaviors}
        for pending in self.pending_writes:
            if pending.kind == "replay":
                known = {}
            elif pending.behavior is not None:
                bid, fields = pending.behavior
                if fields is None:
                    known.pop(bid, None)
                else:  # a queued add has no id yet: its write stands for it
                    ref = pending if bid is None else bid
                    known[ref] = {**known.get(ref, {}), **fields}
        known.pop(behavior_id, None)
        return list(known.values())

    def behavior_name_taken(self, name: str, behavior_id: int | None = None) -> bool:
        """Whether a behaviour other than ``behavior_id`` has ``name``, stored or queued."""
        return _fold(name) in {_fold(b.get("name") or "") for b in self._behaviors_once_landed(behavior_id)}

    def behavior_key_taken(self, key: str, behavior_id: int | None = None) -> str | None:
        """The name of the behaviour other than ``behavior_id`` that codes with ``key``, stored
        or queued (None: it is free)."""
        key = (key or "").lower()
        return next((b.get("name") or "another behaviour" for b in self._behaviors_once_landed(behavior_id)
                     if key and (b.get("key") or "").lower() == key), None)

    def _check_new_name(self, name: str, behavior_id: int | None = None) -> str:
        """Refuse at once a name another behaviour has, stored or queued (one message for both)."""
        name = self._check_name(name)
        if self.behavior_name_taken(name, behavior_id):
            raise ProjectError("behaviour", f"“{name}” already exists (names ignore upper and lower case); "
                                            "choose another name")
        return name

    def add_behavior(self, text: str, prompts: list[str] | None = None, key: str | None = None,
                     colour: str | None = None, kind: str = "state", typed_in: str | None = None) -> PendingWrite:
        """Add a behaviour (queued): it is listed and selected when it lands (it needs its id).
        ``typed_in``: the field ``text`` was typed in; it goes back there if the add fails."""
        name = " ".join(str(text).split())
        if not name:
            raise ProjectError("ethoscout", "describe the behaviour in words, e.g. \"mouse rearing against the wall\"")
        name = self._check_new_name(name)
        key = self._check_key(key)
        self._need_staying()  # before the typed curve is taken from the box
        # the curve typed so far becomes the behaviour's: no rescoring wait
        typed = dict(self.preview) if " ".join(self.preview_text.split()) == name else {}
        prompts = list(prompts or [name])

        def write(project):
            return project.add_behavior(name, prompts=prompts, key=key, colour=colour, kind=kind)

        def landed(b):
            self.scope.behaviors = [*self.behaviors, b]
            self.events.emit("behaviors")
            for vid, c in typed.items():
                self.curves.setdefault(vid, {})[b["id"]] = c
            if typed:
                self.events.emit("curves")
            self.select_behavior(b["id"])

        self.clear_preview()
        return self._queue_write(f"add behaviour {name}", write, ("behaviors", "scores"), landed=landed,
                                 failed=self._give_back(typed_in, text),
                                 behavior=(None, {"name": name, "key": key or ""}))

    def update_behavior(self, behavior_id: int, **fields) -> PendingWrite:
        """Edit a behaviour (queued); its labels and, for new prompts, its scores follow when it lands."""
        old = self.behavior(behavior_id)
        if "name" in fields:
            fields["name"] = self._check_new_name(fields["name"], behavior_id)
        if "key" in fields:
            fields["key"] = self._check_key(fields["key"], behavior_id) or ""
        if isinstance(fields.get("modifiers"), str):  # the editor's text form
            from ethoscout.core.data.modifiers import ModifierError, sets_from_text

            try:
                fields["modifiers"] = sets_from_text(fields["modifiers"])
            except ModifierError as e:
                raise ProjectError("modifiers", str(e)) from None
        rescore = fields.get("prompts", old["prompts"]) != old["prompts"]
        affects = ("behaviors", "labels") + (("scores",) if rescore else ())

        def landed(b):  # its name counts at once for the names check (the views follow with the queue)
            self.scope.behaviors = [b if x["id"] == behavior_id else x for x in self.behaviors]

        return self._queue_write(f"edit behaviour {old['name']}",
                                 lambda project: project.update_behavior(behavior_id, **fields), affects,
                                 landed=landed, behavior=(behavior_id, {f: fields[f] for f in ("name", "key") if f in fields}))

    def delete_behavior(self, behavior_id: int) -> PendingWrite:
        """Delete a behaviour and its labels (queued; one undo step)."""
        name = self.behavior(behavior_id)["name"]

        def landed(_n):
            self.scope.behaviors = [b for b in self.behaviors if b["id"] != behavior_id]
            for per in self.curves.values():
                per.pop(behavior_id, None)
            self.view.coding = tuple(c for c in self.view.coding if c[0] != behavior_id)
            if self.view.behavior_id == behavior_id:
                self.view.clip = None
                self.view.behavior_id = self.behaviors[0]["id"] if self.behaviors else None
            self.events.emit("curves")

        return self._queue_write(f"delete behaviour {name}", lambda project: project.delete_behavior(behavior_id),
                                 ("behaviors", "labels", "suggestions"), landed=landed, behavior=(behavior_id, None))

    # ---- labels ----------------------------------------------------------------------------

    def labels(self, video_id: int | None = None) -> list[dict]:
        """Every label, the model's unreviewed coding ("predicted") included: it is corrected here."""
        if self.project is None:
            return []
        return self.project.labels(video=video_id, verdict=["accept", "reject", "manual", "predicted"])

    def snap(self, video_id: int, t: float) -> float:
        """The start time of the frame on screen at ``t``."""
        info = self.project.video_timing(video_id)
        return info.time_of(info.frame_at(max(0.0, float(t))))

    def _frame_span(self, video_id: int, a: float, b: float) -> tuple[float, float]:
        """[a, b] snapped to frames; a span within one frame becomes that frame."""
        info = self.project.video_timing(video_id)
        i, j = sorted((info.frame_at(max(0.0, a)), info.frame_at(max(0.0, b))))
        start = info.time_of(i)
        end = info.time_of(j) if j > i else (info.time_of(i + 1) if i + 1 < info.frame_count
                                             else info.duration_s)
        return start, end

    def add_manual_label(self, video_id: int, behavior_id: int, start_s: float, end_s: float,
                         verdict: str = "manual", subject_id=..., modifiers=None) -> PendingWrite:
        """A bout marked by hand, for ``subject_id`` (default: the selected subject), queued for
        the database (its ``times`` are the stored ones, snapped to frames)."""
        a, b = self._frame_span(video_id, *sorted((float(start_s), float(end_s))))
        subject = self.view.subject_id if subject_id is ... else subject_id
        name = self.behavior(behavior_id)["name"]

        def write(project):
            return project.add_label(video_id, behavior_id, a, b, verdict, source="manual",
                                     subject=subject, modifiers=modifiers)

        return self._queue_write(describe_bout(verdict, name, a, b), write, ("labels",), times=(a, b))

    def move_label(self, label_id: int, start_s: float, end_s: float) -> PendingWrite:
        """A bout's edges dragged on the timeline: new times snapped to frames (queued)."""
        lab = self._need_project().label(label_id)
        a, b = self._frame_span(lab["video_id"], *sorted((float(start_s), float(end_s))))
        return self.update_label(label_id, start_s=a, end_s=b)

    def update_label(self, label_id: int, **fields) -> PendingWrite:
        """Change a label's fields (queued; a refused value says why and the stored one shows again)."""
        lab = self._need_project().label(label_id)
        fields = dict(fields)
        what = ", ".join(f"{k} {v}" for k, v in fields.items())
        what = f"edit {lab['behavior']} {lab['start_s']:.1f}–{lab['end_s']:.1f} s: {what}"
        return self._queue_write(what, lambda project: project.update_label(label_id, **fields), ("labels",))

    def delete_label(self, label_id: int) -> PendingWrite:
        return self.delete_labels([label_id])

    def delete_labels(self, label_ids: list[int]) -> PendingWrite | None:
        """Delete labels in one transaction (queued): one undo step brings them all back."""
        ids = list(label_ids)
        if not ids:
            return None
        if len(ids) == 1:
            lab = self._need_project().label(ids[0])
            what = "delete " + describe_bout(lab["verdict"], lab["behavior"], lab["start_s"], lab["end_s"])
        else:
            what = f"delete {len(ids)} labels"

        def write(project):
            with project.action(what):
                for lid in ids:
                    project.delete_label(lid)

        return self._queue_write(what, write, ("labels", "suggestions"))

    # ---- coding by key ---------------------------------------------------------------------

    def behavior_for_key(self, key: str) -> dict | None:
        key = (key or "").lower()
        return next((b for b in self.behaviors if key and (b.get("key") or "").lower() == key), None)

    def coding_starts(self, behavior_id: int) -> bool:
        """Whether the behaviour's key would store a point or start a bout now (the moment its
        modifiers are chosen), rather than stop an open bout."""
        return behavior_id not in dict(self.view.coding)

    def code(self, behavior_id: int, t: float, modifiers=None) -> PendingWrite | None:
        """A behaviour's key pressed with the frame at ``t`` on screen. A point event is stored
        at once (that frame); a state event starts here and is stored when the key is pressed
        again, with the ``modifiers`` chosen at its start. Returns the queued write when one
        was made."""
        vid = self.view.video_id
        if vid is None:
            raise ProjectError("coding", "no video on screen")
        self._need_staying()  # before a bout opens or closes: its end must be storable
        b = self.behavior(behavior_id)
        t = self.snap(vid, t)
        if b.get("kind") == "point":
            return self.add_manual_label(vid, behavior_id, t, t, modifiers=modifiers)
        open_ = dict(self.view.coding)
        if behavior_id not in open_:
            self._coding_subject[behavior_id] = self.view.subject_id  # the bout keeps its animal
            self._coding_modifiers[behavior_id] = modifiers
            self.view.coding = self.view.coding + ((behavior_id, t),)
            return None
        start = open_.pop(behavior_id)
        self.view.coding = tuple(open_.items())
        return self.add_manual_label(vid, behavior_id, start, t,
                                     subject_id=self._coding_subject.pop(behavior_id, self.view.subject_id),
                                     modifiers=self._coding_modifiers.pop(behavior_id, None))

    # ---- undo (queued with the changes it takes back: see writes) --------------------------

    def _refresh_after_writes(self, affected: set[str]) -> None:
        if "everything" not in affected:
            if "behaviors" in affected:
                self.scope.behaviors = self.project.behaviors()
                self.events.emit("behaviors")
            if "labels" in affected:
                self.events.emit("labels")
            if "suggestions" in affected:
                self.refresh_suggestions()
            if "scores" in affected:
                self.refresh_scores()
            return
        # an undo or redo landed: everything read from the project may have changed
        before = [(b["id"], b["prompts"]) for b in self.behaviors]
        self.reload()
        ids = {b["id"] for b in self.behaviors}
        if self.view.clip is not None and self.view.clip.behavior_id not in ids:
            self.view.clip = None
        if self.view.behavior_id not in ids:
            self.view.behavior_id = self.behaviors[0]["id"] if self.behaviors else None
        self.events.emit("behaviors")
        self.events.emit("labels")
        self.events.emit("videos")
        if "scores" in affected or [(b["id"], b["prompts"]) for b in self.behaviors] != before:
            self.refresh_scores()
        self.refresh_suggestions()
