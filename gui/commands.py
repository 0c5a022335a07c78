"""Every user action as a command object: ``ask`` gathers what it needs through dialogs (may be
skipped when the fields are already set), ``do`` changes the session without any GUI.

    AddVideos(paths=[...]).do(session)          # a script or a test
    AddVideos().execute(session, dialogs)       # the menu: asks for files, then does it

``dialogs`` is any object with the methods of ``Dialogs`` in ``dialogs.py`` (file pickers,
confirmations); tests pass a scripted stand-in. Qt-free.

Each command declares what it ``changes``: names of view-state fields (``view.video_id``,
``view.clip``, ...) and collection events (``labels``, ``behaviors``, ...) it may emit, so a
reader (or a test) knows which views it can move.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ethoscout.core.data.export import FORMATS
from ethoscout.core.video.lists import VIDEO_SUFFIXES

from .app import Session

EXPORT_CHOICES = {
    "labels": ("Labels table (CSV)", "labels.csv"),
    "boris-aggregated": ("BORIS aggregated events (TSV)", "boris_aggregated.tsv"),
    "boris-tabular": ("BORIS tabular events (TSV)", "boris_tabular.tsv"),
    "boris": ("BORIS project (.boris: ethogram, subjects, modifiers, events)", "project.boris"),
    "binary": ("Binary table per frame (CSV, one file per video)", "binary.csv"),
    "clips": ("Clips of labelled bouts + manifest (folder)", "clips"),
}
assert set(EXPORT_CHOICES) <= set(FORMATS)


class Command:
    """Base: ``execute`` = ``ask`` then ``do``; ``ask`` returning False cancels."""

    name = "command"
    changes: tuple[str, ...] = ()

    def ask(self, session: Session, dialogs) -> bool:
        return True

    def do(self, session: Session):
        raise NotImplementedError

    def execute(self, session: Session, dialogs=None):
        if dialogs is not None and not self.ask(session, dialogs):
            return None
        return self.do(session)


@dataclass
class NewProject(Command):
    folder: str | None = None
    name = "New project"
    changes = ("project", "view.video_id", "view.visible", "view.clip", "view.behavior_id", "view.model", "writes")

    def ask(self, session, dialogs):
        if self.folder is None:
            self.folder = dialogs.choose_folder("New project folder", create=True)
        return bool(self.folder)

    def do(self, session):
        return session.new_project(self.folder)


@dataclass
class OpenProject(Command):
    folder: str | None = None
    background: bool = False  # the window's: a Job, the project open until it has opened (see Session)
    name = "Open project"
    changes = ("project", "view.video_id", "view.visible", "view.clip", "view.behavior_id", "view.model", "writes")

    def ask(self, session, dialogs):
        if self.folder is None:
            self.folder = dialogs.choose_folder("Open project folder")
        return bool(self.folder)

    def do(self, session):
        if self.background:
            return session.open_project_in_background(self.folder)
        return session.open_project(self.folder)


@dataclass
class CloseProject(Command):
    name = "Close project"
    changes = ("project", "view.video_id", "view.visible", "view.clip", "view.behavior_id", "view.coding", "writes")

    def do(self, session):
        session.close_project()


def is_video_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass
class AddVideos(Command):
    paths: list[str] = field(default_factory=list)
    index: bool = True
    name = "Add videos"
    changes = ("videos", "video_status", "view.video_id", "view.visible")

    def ask(self, session, dialogs):
        if not self.paths:
            self.paths = dialogs.choose_files("Add videos", "Videos (" + " ".join(
                "*" + s for s in VIDEO_SUFFIXES) + ");;All files (*)")
        return bool(self.paths)

    def do(self, session):
        return session.add_videos(self.paths, index=self.index)


@dataclass
class IndexVideos(Command):
    video_ids: list[int] | None = None
    name = "Index videos"
    changes = ("video_status", "curves")

    def do(self, session):
        return session.index(self.video_ids)


@dataclass
class CancelWork(Command):
    name = "Cancel running work"
    changes = ("video_status",)

    def do(self, session):
        session.cancel_all()


@dataclass
class AddBehavior(Command):
    text: str = ""
    prompts: list[str] | None = None
    key: str | None = None
    colour: str | None = None
    kind: str = "state"
    typed_in: str | None = None  # the field the text was typed in: it goes back there if the add fails
    name = "Add behaviour"
    changes = ("behaviors", "curves", "preview", "suggestions", "view.behavior_id", "view.clip", "writes")

    def do(self, session):
        return session.add_behavior(self.text, prompts=self.prompts, key=self.key, colour=self.colour,
                                    kind=self.kind, typed_in=self.typed_in)


@dataclass
class EditBehavior(Command):
    behavior_id: int = 0
    fields: dict = field(default_factory=dict)
    name = "Edit behaviour"
    changes = ("behaviors", "labels", "curves", "writes")

    def ask(self, session, dialogs):
        if not self.fields:
            self.fields = dialogs.edit_behavior(session.behavior(self.behavior_id)) or {}
        return bool(self.fields)

    def do(self, session):
        return session.update_behavior(self.behavior_id, **self.fields)


@dataclass
class DeleteBehavior(Command):
    behavior_id: int = 0
    name = "Delete behaviour"
    changes = ("behaviors", "labels", "curves", "suggestions", "view.behavior_id", "view.clip", "view.coding", "writes")

    def ask(self, session, dialogs):
        b = session.behavior(self.behavior_id)
        n = len(session.project.labels(behavior=self.behavior_id))
        return dialogs.confirm("Delete behaviour", f"Delete “{b['name']}” and its {n} label(s)? "
                                                   "You can undo this with Ctrl+Z.")

    def do(self, session):
        return session.delete_behavior(self.behavior_id)


@dataclass
class MarkBout(Command):
    video_id: int = 0
    behavior_id: int = 0
    start_s: float = 0.0
    end_s: float = 0.0
    name = "Mark bout"
    changes = ("labels", "writes")

    def do(self, session):
        return session.add_manual_label(self.video_id, self.behavior_id, self.start_s, self.end_s)


@dataclass
class EditLabel(Command):
    label_id: int = 0
    fields: dict = field(default_factory=dict)
    name = "Edit label"
    changes = ("labels", "writes")

    def do(self, session):
        return session.update_label(self.label_id, **self.fields)


@dataclass
class DeleteLabels(Command):
    label_ids: list[int] = field(default_factory=list)
    name = "Delete labels"
    changes = ("labels", "suggestions", "writes")

    def do(self, session):
        return session.delete_labels(self.label_ids)


@dataclass
class MoveBout(Command):
    """A bout's edges dragged on the timeline (snapped to frames)."""

    label_id: int = 0
    start_s: float = 0.0
    end_s: float = 0.0
    name = "Move bout"
    changes = ("labels", "writes")

    def do(self, session):
        return session.move_label(self.label_id, self.start_s, self.end_s)


@dataclass
class Code(Command):
    """A behaviour's key at the frame on screen at ``time_s``: a point event, or the start /
    stop of a state event."""

    behavior_id: int = 0
    time_s: float = 0.0
    modifiers: dict | None = None  # asked for when the event starts (behaviours with modifier sets)
    name = "Code by key"
    changes = ("labels", "view.coding", "writes")

    def ask(self, session, dialogs):
        b = session.behavior(self.behavior_id)
        if self.modifiers is None and b.get("modifiers") and session.coding_starts(self.behavior_id):
            self.modifiers = dialogs.choose_modifiers(b)
            return self.modifiers is not None  # cancelled: nothing coded
        return True

    def do(self, session):
        return session.code(self.behavior_id, self.time_s, self.modifiers)


@dataclass
class NextSuggestion(Command):
    name = "Next suggestion"
    changes = ("suggestions", "view.clip", "view.video_id", "view.visible")

    def do(self, session):
        return session.next_suggestion()


@dataclass
class ChooseSuggestion(Command):
    index: int = 0
    name = "Choose suggestion"
    changes = ("view.clip", "view.video_id", "view.visible", "view.behavior_id")

    def do(self, session):
        return session.choose_suggestion(self.index)


@dataclass
class Answer(Command):
    """Accept / reject / skip the clip under review (with none on screen: show one)."""

    verdict: str = "accept"
    name = "Answer suggestion"
    changes = ("labels", "suggestions", "view.clip", "view.video_id", "view.visible", "view.behavior_id", "writes")

    def do(self, session):
        return session.answer(self.verdict)


@dataclass
class Undo(Command):
    name = "Undo"
    changes = ("behaviors", "labels", "videos", "suggestions", "view.clip", "view.behavior_id", "writes")

    def do(self, session):
        return session.undo()  # queued after the changes made before it; its message says what


@dataclass
class Redo(Command):
    name = "Redo"
    changes = ("behaviors", "labels", "videos", "suggestions", "view.clip", "view.behavior_id", "writes")

    def do(self, session):
        return session.redo()  # queued after the changes made before it; its message says what


@dataclass
class Export(Command):
    fmt: str = "labels"
    out: str | None = None
    name = "Export"
    changes = ()

    def ask(self, session, dialogs):
        if self.out is None:
            title, default = EXPORT_CHOICES[self.fmt]
            start = str(session.project.folder / "exports" / default) if session.project else default
            if self.fmt == "clips":
                self.out = dialogs.choose_folder(f"Export {title}", create=True, start=start)
            else:
                self.out = dialogs.choose_save_file(f"Export {title}", start)
        return bool(self.out)

    def do(self, session):
        return session.export(self.fmt, self.out)


@dataclass
class UseAdapter(Command):
    version: int | None = None
    name = "Use adapter"
    changes = ("adapter", "curves", "video_status", "view.model")

    def do(self, session):
        return session.use_adapter(self.version)


@dataclass
class AddEthogram(Command):
    """Add the behaviours of an ethogram JSON ({"behaviors": [{name, prompts, key}]}); names
    already in the project are left as they are. Default: resources/default_ethogram.json."""

    path: str | None = None
    name = "Add ethogram"
    changes = ("behaviors", "curves", "suggestions", "view.behavior_id", "view.clip")

    def do(self, session):
        import json
        from importlib import resources

        if self.path is None:
            text = resources.files("ethoscout.resources").joinpath("default_ethogram.json").read_text()
        else:
            text = Path(self.path).read_text()
        added = []
        for b in json.loads(text).get("behaviors", []):
            if session.behavior_name_taken(b["name"]):  # stored or queued (by this loop too)
                continue
            key = b.get("key") or None
            if key and (key.lower() in session.reserved_keys() or session.behavior_key_taken(key)):
                key = None  # its name is added without the key another behaviour has
            added.append(session.add_behavior(b["name"], prompts=b.get("prompts"), key=key,
                                              kind=b.get("kind", "state")))
        return added
