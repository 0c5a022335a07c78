"""Everything that belongs to one open project, created and torn down as a unit.

A ``ProjectScope`` owns the ``Project`` (its database connections), its own I/O queue (probing,
exports), and the project's derived state: videos, behaviours, indexing status, score curves,
the typed-text preview and the review queue. Its ``generation`` is unique per opening: worker
callbacks carry the generation they were submitted under and are dropped when it is not the
current scope's (an old project's callback never acts on a new one). ``close`` cancels the
scope's work, lets the changes queued on its I/O queue land (answers are never dropped),
waits for the queue to stop (no worker is inside the database any more) and only then closes
the database.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from ethoscout.core.data.project import Project
from ethoscout.core.jobs import Job, JobQueue

from .state import Curve, VideoStatus
from .suggestions import Suggestion

_generations = itertools.count(1)


@dataclass(eq=False)
class ProjectScope:
    project: Project
    io: JobQueue = field(default_factory=lambda: JobQueue("ethoscout-io"))
    generation: int = field(default_factory=lambda: next(_generations))
    videos: list[dict] = field(default_factory=list)
    behaviors: list[dict] = field(default_factory=list)
    video_status: dict[int, VideoStatus] = field(default_factory=dict)
    curves: dict[int, dict[int, Curve]] = field(default_factory=dict)  # video id -> behaviour id -> curve
    preview: dict[int, Curve] = field(default_factory=dict)  # video id -> curve of the typed text
    components: dict = field(default_factory=dict)  # video id -> behaviour id -> {component: Curve}
    activity: dict = field(default_factory=dict)  # video id -> learn.activity.ActivityData
    suggestions: list[Suggestion] = field(default_factory=list)  # ranked, for the selected behaviour
    skipped: set = field(default_factory=set)
    index_jobs: dict[int, Job] = field(default_factory=dict)
    model_jobs: set = field(default_factory=set)  # ids of this scope's jobs on the model service
    writes: list = field(default_factory=list)  # writes.PendingWrite: changes not stored yet, in order
    write_wait: str = ""  # why the oldest of them waits ("waiting for another ethoscout process …")
    affected: set = field(default_factory=set)  # what the changes landed so far need refreshed
    waiters: list = field(default_factory=list)  # writes.AfterWrites: work started once the changes land
    switch: object = None  # writes.AfterWrites: the project opened to replace this one once they land
    closed: bool = False

    @property
    def folder(self) -> str:
        return str(self.project.folder)

    def close(self, service, timeout: float = 10.0) -> bool:
        """Cancel this project's jobs, let its queued changes land, wait for its I/O worker to
        stop, close the database. Returns whether the I/O worker stopped in time."""
        self.closed = True
        mine = set(self.model_jobs)
        service.cancel_where(lambda job: job.id in mine)
        changes = [w.job for w in self.writes]
        self.io.cancel_where(lambda job: job not in changes)
        for job in changes:
            job.wait()  # each ends within the write lock's wait limit, stored or failed
        stopped = self.io.shutdown(timeout)
        self.project.close()
        return stopped
