"""How the embed stage is sized from the cluster's resources (no Ray needed)."""
from __future__ import annotations

from ethoscout.core.scale.ray_index import plan_embedders


def test_one_actor_per_gpu():
    plan = plan_embedders({"CPU": 64, "GPU": 8})
    assert (plan.concurrency, plan.num_gpus, plan.threads) == (8, 1, 1)
    assert plan_embedders({"CPU": 64, "GPU": 8}, workers=2).concurrency == 2


def test_cpu_actors_leave_cpus_for_decoding():
    assert (lambda p: (p.concurrency, p.num_gpus, p.threads))(plan_embedders({"CPU": 2})) == (1, 0, 1)
    p = plan_embedders({"CPU": 16})
    assert p.threads == 4 and p.concurrency == 2  # 8 CPUs embed, 8 decode
    p = plan_embedders({"CPU": 2}, workers=2)  # asked for more than fits: one CPU stays for decoding
    assert p.concurrency * p.threads <= 1
    assert plan_embedders({"CPU": 4}, workers=2, threads=2).concurrency == 1
