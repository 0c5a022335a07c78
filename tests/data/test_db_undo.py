"""Unlimited undo/redo from the operation log, across restarts."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .db_helpers import label_set
from ethoscout.core.data.project import Project


def snapshot(p: Project):
    return (label_set(p), sorted((b["name"], tuple(b["prompts"]), b["key"]) for b in p.behaviors()),
            sorted(s["name"] for s in p.subjects()))


def test_undo_redo_accept_across_restart(project):
    project.add_label("a.mp4", "face groom", 12.4, 15.0, "accept")
    folder = project.folder
    project.close()
    p = Project.open(folder)
    assert p.can_undo() and not p.can_redo()
    assert p.undo() == "accept face groom 12.4–15.0 s"
    assert p.labels() == [] and p.can_redo()
    p.close()
    p = Project.open(folder)
    assert p.redo() == "accept face groom 12.4–15.0 s"
    lab = p.labels()[0]
    assert (lab["start_s"], lab["end_s"], lab["verdict"]) == (12.4, 15.0, "accept")
    assert p.redo() is None
    p.close()


def test_new_action_after_undo_clears_redo_tail(project):
    project.add_label("a.mp4", "rear", 1, 2, "accept")
    project.add_label("a.mp4", "rear", 3, 4, "reject")
    project.undo()
    assert project.can_redo()
    project.add_label("a.mp4", "rear", 5, 6, "manual")
    assert not project.can_redo() and project.redo() is None
    assert [(x["start_s"], x["verdict"]) for x in project.labels()] == [(1, "accept"), (5, "manual")]


def test_edit_delete_label_and_behaviour_undo(project):
    i = project.add_label("a.mp4", "rear", 1, 2, "accept", subject="m1")
    project.update_label(i, verdict="reject", end_s=2.5, comment="not rearing")
    assert project.label(i)["verdict"] == "reject"
    assert project.undo().startswith("edit rear")
    lab = project.label(i)
    assert (lab["verdict"], lab["end_s"], lab["comment"], lab["end_frame"]) == ("accept", 2, None, 49)
    project.delete_label(i)
    assert project.labels() == []
    assert project.undo() == "delete accept rear 1.0–2.0 s"
    assert project.label(i)["subject"] == "m1"
    project.add_label("b.mp4", "rear", 3, 4, "accept")
    assert project.delete_behavior("rear") == 2
    assert project.labels() == []
    assert project.undo() == "delete behaviour rear"
    assert len(project.labels(behavior="rear")) == 2
    project.update_behavior("rear", prompts=["a mouse standing on its hind legs"])
    project.undo()
    assert project.find_behavior("rear")["prompts"] == ["a mouse rearing against the wall"]
    # Undo all the way back to an empty project, then redo all of it.
    before = snapshot(project)
    steps = 0
    while project.undo():
        steps += 1
    assert project.behaviors() == [] and project.labels() == []
    for _ in range(steps):
        project.redo()
    assert snapshot(project) == before


ACTIONS = st.lists(st.tuples(st.sampled_from(["add", "edit", "delete", "behavior", "undo", "redo"]),
                             st.integers(0, 50), st.floats(0, 16)), min_size=1, max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_any_sequence_undoes_to_each_earlier_state(project, actions):
    """After any mix of actions, undoing steps back through exactly the states seen, in reverse,
    and redoing replays them forward."""
    conn = project._conn()  # each example starts from the fixture's two behaviours
    for sql in ("DELETE FROM labels", "DELETE FROM ops",
                "DELETE FROM behaviors WHERE name NOT IN ('rear', 'face groom')"):
        conn.execute(sql)
    states = [snapshot(project)]
    for kind, k, t in actions:
        labels = project.labels()
        if kind == "add":
            project.add_label("a.mp4", ["rear", "face groom"][k % 2], t, t + 1 + k % 3, "accept")
        elif kind == "edit" and labels:
            lab = labels[k % len(labels)]
            project.update_label(lab["id"], verdict="reject", start_s=lab["start_s"] / 2, comment=f"c{k}")
        elif kind == "delete" and labels:
            project.delete_label(labels[k % len(labels)]["id"])
        elif kind == "behavior":
            project.add_behavior(f"b{k}-{len(states)}", prompts=[f"prompt {k}"])
        elif kind == "undo":
            if project.undo():
                states.pop()
            continue
        elif kind == "redo":
            continue  # redo after new actions is covered by the explicit tests
        else:
            continue
        states.append(snapshot(project))
    for expected in reversed(states[:-1]):
        assert project.undo() is not None
        assert snapshot(project) == expected
    assert project.undo() is None
    for expected in states[1:]:
        project.redo()
        assert snapshot(project) == expected
