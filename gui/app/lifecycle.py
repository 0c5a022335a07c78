"""Project lifecycle: open, close, videos, indexing, the feature cache's status, settings."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ethoscout.core.data.project import Project
from ethoscout.core.errors import EthoscoutError
from ethoscout.core.jobs import CANCELLED, DONE, Job, cache_status_job, index_video_job, warm_scorer_job
from ethoscout.core.progress import WARMUP_TASKS, Cancelled, Progress

from ..prefs import Prefs
from .base import MODEL_ERRORS, SessionBase
from .scope import ProjectScope
from .state import VideoStatus

INDEX_MEMO = "gui_index_status"  # project setting: the last known indexing state, shown at once on reopening


class LifecycleMixin(SessionBase):

    def new_project(self, folder: str | Path) -> Project:
        return self._set_project(Project.create(folder))

    def open_project(self, folder: str | Path) -> Project:
        return self._set_project(Project.open(folder))

    def open_project_in_background(self, folder: str | Path) -> Job:
        """Open ``folder`` on the session's I/O thread: migrating an older schema or taking back
        a killed import may wait for another process's write lock, and the window goes on
        meanwhile (the job's progress says what it waits for). The project open now stays
        usable until the new one has opened, then is replaced whole once its queued changes are
        stored (``_switch_to``), never a mix of the two; when the opening is cancelled
        (``cancel_all``) or fails (one message) it stays."""
        folder = str(folder)
        name = Path(folder).resolve().name or folder  # `ethoscout .` names the folder, not "."
        if self.opening is not None:
            self.opening.cancel()  # a later choice replaces one still waiting
        if self.scope is not None and self.scope.switch is not None:
            self.cancel_after_writes(self.scope.switch)

        def work(ctx):
            def on_wait(text: str) -> None:
                ctx.report(Progress(f"opening {name}:", total=0, item=text[text.find("waiting"):]))
            project = Project.open(folder, on_wait=on_wait, cancel=ctx.cancel)
            if ctx.cancel.cancelled:  # cancelled as it opened: nothing of it stays open
                project.close()
                raise Cancelled
            return project

        def done(job: Job) -> None:
            if self.opening is job:
                self.opening = None
            if job.status == DONE:
                self._switch_to(job.result, name)
            elif job.status == CANCELLED:
                if isinstance(job.result, Project):
                    job.result.close()
                now = f"{self.project.folder.name} stays open" if self.project is not None else "no project is open"
                self.message("info", f"stopped opening {name}; {now}")

        self.opening = self._submit(self.io, work, label=f"opening {name}", kind="io", on_done=done, scoped=False)
        return self.opening

    def _switch_to(self, project: Project, name: str) -> None:
        """Replace the open project with ``project``, which has opened, once the changes queued
        in the open one are stored (closing waits for them, and another process may hold its
        write lock): the window never waits here. Meanwhile the open one takes no new changes
        (``_need_staying``), and cancelling (Esc) keeps it open and closes ``project``; so does a
        change that failed, to be made again first."""
        scope = self.scope

        def swap() -> None:
            self._set_project(project)
            self.message("info", f"opened {name}")

        def start() -> None:
            scope.switch = None
            if scope.writes:  # queued since (a setting of finished work), or still to be delivered
                wait()
            else:
                swap()

        def dropped(level: str, why: str) -> None:
            scope.switch = None
            project.close()
            if level == "info" and self.scope is scope:  # cancelled: nothing else changed
                why = f"stayed in {scope.project.folder.name} (its queued changes are saved in order); " \
                      f"{name} was not opened"
            self.message(level, why)

        def wait() -> None:
            scope.switch = self.after_writes(f"switching to {name}", start, dropped, f"open {name} again")

        if scope is None or not scope.writes:
            swap()
            return
        wait()
        n = len(self.pending_writes)
        self.message("info", f"{name} opens once the {n} change{'s' if n != 1 else ''} "
                             f"{'are' if n != 1 else 'is'} saved in {scope.project.folder.name}; Esc stays")

    def _set_project(self, project: Project) -> Project:
        if self.opening is not None:
            self.opening.cancel()  # the project chosen last is the one open
        self.close_project()
        self.scope = ProjectScope(project)
        self._watch_waits(self.scope)
        model = project.get_setting("model")
        if model:
            self.prefs = replace(self.prefs, model=model)
        spec = project.get_setting("window_spec")
        if isinstance(spec, dict):
            self.prefs = replace(self.prefs, **{k: spec[k] for k in ("span_s", "stride_s", "frames", "scheme")
                                                if k in spec})
        choice = self.model_choice()
        self.service.configure(self.config_for(choice))
        folder = str(project.folder)
        if folder in self.prefs.recent_projects:
            self.prefs.recent_projects.remove(folder)
        self.prefs.recent_projects.insert(0, folder)
        del self.prefs.recent_projects[10:]
        self.reload()
        self._restore_index_memo()
        self.view.model = choice
        self.view.behavior_id = self.behaviors[0]["id"] if self.behaviors else None
        self.show_video(self.videos[0]["id"] if self.videos else None)
        self.events.emit("project")
        self.refresh_cache_status()
        return project

    def close_project(self) -> None:
        """Tear the project's scope down as a unit: its jobs cancelled, its queued changes
        stored, its I/O finished, its database closed; views are told through the cleared view
        state and ``project``. A queued change that could not be stored is named in a message."""
        scope, self.scope = self.scope, None
        self.preview_text = ""
        self.view.clip = None
        self.view.coding = ()
        self._coding_subject.clear()
        self._coding_modifiers.clear()
        self.view.subject_id = None  # subjects belong to the project
        self.view.video_id = None
        self.view.visible = None
        self.view.behavior_id = None
        if scope is not None:
            scope.close(self.service)
            self.tracked = {k: t for k, t in self.tracked.items() if not t.job.finished}
            self._report_unsaved(scope)
            for waiter in scope.waiters:
                waiter.dropped("info", f"{waiter.what} did not start: the project was closed")
            if scope.writes or scope.write_wait:
                self.events.emit("writes")  # the status bar's "waiting for …" ends with the project

    def reload(self) -> None:
        p = self._need_project()
        self.scope.videos = p.videos()
        self.scope.behaviors = p.behaviors()
        for v in self.videos:
            st = self.video_status.setdefault(v["id"], VideoStatus())
            if not Path(v["path"]).exists():
                st.state, st.message = "missing", f"{v['path']}: file not found (moved or drive not mounted?)"

    def _record_spec(self, spec: dict | None) -> None:
        """The project's window spec (frames resolved), read by training and the CLI (queued)."""
        if self.project is not None:
            self._queue_setting("window_spec", spec, "the window spec")

    # ---- videos ----------------------------------------------------------------------------

    def add_videos(self, paths: list[str | Path], index: bool = True) -> Job:
        """Probe and add videos on the project's I/O thread; bad files become messages, the
        rest go on. New videos are indexed when ``index``."""
        project = self._need_project()
        self._need_staying()
        paths = [str(p) for p in paths]

        def work(ctx):
            added, errors = [], []
            for p in paths:
                ctx.check()
                ctx.yield_to_urgent()  # answers given meanwhile are stored first
                try:
                    added.append(project.add_video(p))
                except EthoscoutError as e:
                    errors.append(str(e))
            return added, errors

        def done(job):
            if job.status != DONE:
                return
            added, errors = job.result
            for e in errors:
                self.message("error", e)
            self.reload()
            self.events.emit("videos")
            if added and self.view.video_id is None:
                self.show_video(added[0]["id"])
            if added and index:
                self.index([v["id"] for v in added])

        return self._submit(self.scope.io, work, label=f"adding {len(paths)} video(s)", kind="io", on_done=done)

    # ---- indexing --------------------------------------------------------------------------

    def _restore_index_memo(self) -> None:
        """Show the indexing state saved last time at once (checked again by the model)."""
        memo = self.project.get_setting(INDEX_MEMO)
        if not isinstance(memo, dict) or memo.get("model") != self.prefs.model or memo.get("spec") != self.prefs.spec():
            return
        fractions = memo.get("fractions") or {}
        for v in self.videos:
            st = self.video_status[v["id"]]
            f = fractions.get(v["fingerprint"])
            if st.state == "missing" or f is None:
                continue
            st.state, st.fraction = ("indexed", 1.0) if f >= 1.0 else ("paused", float(f))

    def _save_index_memo(self) -> None:
        fractions = {v["fingerprint"]: (1.0 if self.video_status[v["id"]].state == "indexed"
                                        else self.video_status[v["id"]].fraction)
                     for v in self.videos if self.video_status[v["id"]].state in ("indexed", "paused")}
        memo = {"model": self.prefs.model, "spec": self.prefs.spec(), "fractions": fractions}
        self._queue_setting(INDEX_MEMO, memo, "the indexing state", kind="memo")

    def refresh_cache_status(self) -> Job | None:
        if self.scope is None:
            return None

        def done(job):
            if job.status != DONE:
                return
            fractions = job.result
            for v in self.videos:
                st = self.video_status.setdefault(v["id"], VideoStatus())
                if st.state in ("queued", "indexing", "missing"):
                    continue
                f = fractions.get(v["fingerprint"])
                if f is None:
                    st.state, st.fraction = "not indexed", 0.0
                elif f >= 1.0:
                    st.state, st.fraction = "indexed", 1.0
                else:
                    st.state, st.fraction = "paused", f
                st.message = ""
            self._save_index_memo()
            self.events.emit("video_status", None)
            if any(s.state == "indexed" for s in self.video_status.values()):
                self.refresh_scores()
                self.warm_up()

        return self._submit(self.service, cache_status_job, self.scope.folder, self.prefs.spec(),
                            label="checking the feature cache", kind="status", on_done=done,
                            key="cache-status")

    def warm_up(self) -> Job | None:
        """Load the indexed windows into the scorer in the background, so the first typed
        behaviour shows its curve without waiting for them."""
        if self.scope is None:
            return None
        return self._submit(self.service, warm_scorer_job, self.scope.folder, self.prefs.spec(),
                            label="preparing the index for queries", kind="status", key="warm")

    def index(self, video_ids: list[int] | None = None) -> list[Job]:
        """Index videos (all not yet indexed when ``video_ids`` is None), one job each."""
        self._queue_setting("model", self.prefs.model, "the model choice")
        ids = video_ids if video_ids is not None else [v["id"] for v in self.videos]
        jobs = []
        for vid in ids:
            v = self.video(vid)
            st = self.video_status.setdefault(vid, VideoStatus())
            running = self.scope.index_jobs.get(vid)
            if st.state in ("indexed", "missing") or (running is not None and not running.finished):
                continue
            jobs.append(self._index_one(v))
        if not jobs and video_ids is None and self.videos:
            self.message("info", "every video is indexed for this model")
        return jobs

    def _index_one(self, v: dict) -> Job:
        vid = v["id"]
        scope = self.scope
        st = scope.video_status[vid]
        st.state, st.message = "queued", ""
        self.events.emit("video_status", vid)

        def progress(job, p):
            if scope.index_jobs.get(vid) is job and not job.finished:
                st.state = "indexing"
                if p.task not in WARMUP_TASKS:  # the model's warm-up is not this video's progress
                    st.fraction = p.fraction
                self.events.emit("video_status", vid)

        def done(job):
            if scope.index_jobs.get(vid) is not job:
                return  # a newer run of this video took over
            scope.index_jobs.pop(vid, None)
            if job.status == DONE:
                st.state, st.fraction, st.message = "indexed", 1.0, ""
                store = getattr(job.result, "store", None)
                if store is not None:
                    self._record_spec(store.meta.get("spec"))
                self._save_index_memo()
                if self.refresh_scores() is None:
                    self.warm_up()
            elif job.status == CANCELLED:
                st.state = "paused" if st.fraction > 0 else "not indexed"
                st.message = "stopped; indexing resumes where it left off"
            else:
                st.state, st.message = ("not indexed" if job.error_type in MODEL_ERRORS
                                        else "error"), job.error
            self.events.emit("video_status", vid)
            self.events.emit("index_done", vid)

        job = self._submit(self.service, index_video_job, scope.folder, v["path"],
                           self.prefs.spec(), label=f"indexing {v['name']}", kind="index",
                           on_progress=progress, on_done=done)
        scope.index_jobs[vid] = job
        return job

    def running_work(self) -> list:
        """Jobs a user would call "running work": indexing, I/O, model switches."""
        return [t for t in self.tracked.values() if t.kind in ("index", "io", "model") and not t.job.finished]

    def cancel_all(self) -> int:
        """Cancel this session's work, and what waits for the queued changes to start;
        returns how many were asked to stop."""
        n = len(self.running_work())
        self.service.cancel_all()
        self.io.cancel_all()  # a project being opened: the one open stays
        if self.scope is not None:  # changes the user made are not work to stop: they land
            changes = [w.job for w in self.scope.writes]
            self.scope.io.cancel_where(lambda job: job not in changes)
            for waiter in self.after_writes_waiting:
                n += self.cancel_after_writes(waiter)
        return n

    # ---- exports ---------------------------------------------------------------------------

    def export(self, fmt: str, out: str | Path, on_done=None) -> Job:
        """Write an export on the project's I/O thread (clips can take a while and be cancelled)."""
        from ethoscout.core.data.export import export

        project = self._need_project()

        def work(ctx):
            if fmt == "clips":
                from ethoscout.core.data.clips import export_clips
                from ethoscout.core.progress import Progress

                prog = Progress("exporting clips", total=0)

                def report(done, total):
                    prog.done, prog.total = done, total
                    ctx.report(prog)
                    ctx.yield_to_urgent()  # between clips: answers given meanwhile are stored first
                return export_clips(project, out, progress=report, cancel=lambda: ctx.cancel.cancelled)
            return export(project, fmt, out)

        def done(job):
            if job.status == DONE:
                self.message("info", f"exported {fmt} to {out}")
            if on_done:
                on_done(job)

        return self._submit(self.scope.io, work, label=f"exporting {fmt}", kind="io", on_done=done)

    # ---- settings --------------------------------------------------------------------------

    def apply_prefs(self, prefs: Prefs) -> None:
        """New settings. A changed model or device is loaded first and applies only when it
        loaded (otherwise everything stays as it was); a changed window spec rescans the cache."""
        old = self.prefs
        self.prefs = replace(prefs, recent_projects=old.recent_projects)
        model_changed = (old.model, old.device) != (prefs.model, prefs.device)
        spec_changed = old.spec() != prefs.spec()
        if model_changed:
            self.prefs = replace(self.prefs, model=old.model, device=old.device)
            self.switch_model(prefs.model, prefs.device, after=self._spec_applied if spec_changed else None)
        elif spec_changed:
            self._spec_applied()

    def _spec_applied(self) -> None:
        if self.project is not None:
            self._record_spec(self.prefs.spec() if self.prefs.frames else None)
        self._forget_curves()
        if self.project is not None:
            self.refresh_cache_status()

    def _forget_curves(self) -> None:
        if self.scope is not None:
            self.scope.curves.clear()
            self.scope.preview.clear()
            for st in self.scope.video_status.values():
                if st.state in ("indexed", "paused"):
                    st.state, st.fraction = "not indexed", 0.0
        self.events.emit("curves")
        self.events.emit("preview")
        self.events.emit("video_status", None)

    # ---- shutting down ---------------------------------------------------------------------

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Stop all work (finished parts are kept; indexing resumes next time) and close."""
        self._closed = True
        ok_model = self.service.shutdown(timeout)
        ok_scope = True
        if self.scope is not None:
            scope, self.scope = self.scope, None
            ok_scope = scope.close(self.service, timeout)
            self._report_unsaved(scope)
            if scope.switch is not None:  # the project it was to switch to
                scope.switch.dropped("info", "the window closed")
        ok_io = self.io.shutdown(timeout)
        return ok_model and ok_io and ok_scope
