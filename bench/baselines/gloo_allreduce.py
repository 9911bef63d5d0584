"""bench/ps's baseline: torch.distributed gloo all_reduce of N float32 at world size W, over
loopback TCP, one thread per rank, and the same all_reduce followed by torch.optim.AdamW on the
N parameters (the step a DDP worker waits for), and that AdamW alone. Prints one JSON object on stdout.

    python3 bench/baselines/gloo_allreduce.py --world 2 --floats 16777216 --reps 5

Every rank times each rep between two barriers; a rep's time is the slowest rank's. The figure
is the median of `reps` reps after 2 warm-up reps.
"""
import argparse
import json
import os
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(prepare, step, reps):
    """Median over `reps` timed reps (after 2 warm-ups) of the slowest rank's time for step()."""
    out = []
    for r in range(reps + 2):
        prepare()
        dist.barrier()
        t0 = time.perf_counter()
        step()
        t = torch.tensor([time.perf_counter() - t0], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        if r >= 2:
            out.append(t.item() * 1000)
    return statistics.median(out)


def rank_main(rank, world, port, floats, reps, result):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    grad = torch.full((floats,), 1e-3, dtype=torch.float32)
    # all_reduce sums in place: the refill is outside the timing.
    refill = lambda: grad.fill_(1e-3)
    allreduce_ms = timed(refill, lambda: dist.all_reduce(grad), reps)

    # fiber-tiny's coarse AdamW settings (betas 0.9/0.98, eps 1e-8, weight decay 0.01); the mean
    # over the W contributions is folded into the gradient, as the shards fold 1/n into AdamW.
    param = torch.nn.Parameter(torch.zeros(floats, dtype=torch.float32))
    opt = torch.optim.AdamW([param], lr=1e-4, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    param.grad = grad

    def step():
        dist.all_reduce(grad)
        grad.mul_(1.0 / world)
        opt.step()

    step_ms = timed(refill, step, reps)
    # The optimizer alone, for reading the two figures above.
    adamw_ms = timed(lambda: None, opt.step, reps)
    if rank == 0:
        result["adamwMs"] = round(adamw_ms, 2)
        result["allreduceMs"] = round(allreduce_ms, 2)
        result["allreduceAdamwMs"] = round(step_ms, 2)
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", type=int, required=True)
    ap.add_argument("--floats", type=int, required=True)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    with mp.Manager() as manager:
        result = manager.dict()
        mp.spawn(rank_main, args=(a.world, free_port(), a.floats, a.reps, result), nprocs=a.world, join=True)
        out = dict(result)
    print(json.dumps({"torch": torch.__version__, "world": a.world, "floats": a.floats, "reps": a.reps, "threadsPerRank": 1, **out}))


if __name__ == "__main__":
    main()
