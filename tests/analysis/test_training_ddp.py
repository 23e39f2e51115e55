"""DDP: two real processes (gloo, CPU) sum their counters and merge their worst images at epoch end."""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tal_cli.analysis.training import INT_FIELDS, Counts, conflict_counts, count_outputs

from .test_training import _random_call


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _counts(rank: int) -> Counts:
    """Rank r counts call r and call r + 2, with files named after the rank."""
    total = Counts.zeros(4)
    for seed in (rank, rank + 2):
        total.add_(count_outputs(*_random_call(seed), num_classes=4, files=[f"r{rank}s{seed}i{i}" for i in range(3)]))
        total.add_(conflict_counts(torch.tensor([seed + 1, seed])))
    return total


def _worker(rank: int, port: int, out: str) -> None:
    from tal_cli.analysis.training import all_reduce_counts

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        counts = _counts(rank)
        worst = all_reduce_counts(counts, worst=4)
        record = counts.record(1, "one2many", worst=4, worst_images=worst)
        with open(f"{out}.{rank}", "w") as fh:
            json.dump({"ints": counts.ints.tolist(), "hist": counts.hist.tolist(),
                       "score": float(counts.target_score_sum), "worst": [w.file for w in record.worst_images],
                       "gts": record.gts, "contested": record.contested}, fh)
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available() or sys.platform != "linux", reason="torch.distributed with gloo, fork")
def test_two_ranks_sum_their_counts(tmp_path) -> None:
    out = str(tmp_path / "rank")
    # fork: the workers start at once (spawn would import torch again in each, ~3 s apiece)
    mp.start_processes(_worker, args=(_free_port(), out), nprocs=2, join=True, start_method="fork")
    ranks = [json.loads(open(f"{out}.{r}").read()) for r in (0, 1)]
    alone = Counts.zeros(4)
    for r in (0, 1):
        alone.add_(_counts(r))
    for got in ranks:  # every rank holds the sum
        assert got["ints"] == alone.ints.tolist()
        assert got["hist"] == alone.hist.tolist()
        assert got["score"] == pytest.approx(float(alone.target_score_sum))
        assert got["contested"] == 1 + 3 + 2 + 4
    assert ranks[0]["worst"] == ranks[1]["worst"]
    assert ranks[0]["worst"] == [w.file for w in alone.record(1, "one2many", worst=4).worst_images]
    assert dict(zip(INT_FIELDS, ranks[0]["ints"]))["batches"] == 4
