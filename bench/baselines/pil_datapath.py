"""The data path users would write instead of fiber's: Python tarfile + PIL + numpy.

Reads webdataset shards (the files bench/data packed), and per sample: tarfile member read,
json.loads of the annotations, PIL decode (convert to RGB), bicubic resize, numpy normalise to
CHW float32 with the same mean/std, then stacks batches (fine: padded to the batch maximum,
rounded up to 32). No tokenizer (fiber's costs ~0.4 ms a sample). One process, one thread;
CPU time is this process's (time.process_time).

    python3 bench/baselines/pil_datapath.py --stage coarse|fine [--batch 16] SHARD.tar ...

Prints one JSON object. Kept out of the test suite: run by `node dist/bench/data.js`.
"""
import argparse
import io
import json
import math
import sys
import tarfile
import time

import numpy as np
import PIL
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def fine_size(w, h, short=800, max_size=1333):
    """maskrcnn_benchmark's Resize.get_size, as fiber's fineOutputSize."""
    size = short
    mn, mx = min(w, h), max(w, h)
    if mx / mn * size > max_size:
        size = int(round(max_size * mn / mx))
    if w <= h:
        return size, int(size * h / w)
    return int(size * w / h), size


def samples(paths):
    """webdataset's group_by_keys over tar members, in order."""
    for path in paths:
        with tarfile.open(path, "r") as tar:
            key, files = None, {}
            for m in tar:
                if not m.isfile():
                    continue
                base = m.name.rsplit("/", 1)[-1]
                k, _, ext = base.partition(".")
                if key is not None and k != key:
                    yield key, files
                    files = {}
                key = k
                files[ext.lower()] = tar.extractfile(m).read()
            if key is not None:
                yield key, files


def transform(jpg, stage, size):
    img = Image.open(io.BytesIO(jpg)).convert("RGB")
    w, h = img.size
    out = (size, size) if stage == "coarse" else fine_size(w, h)
    img = img.resize(out, Image.BICUBIC)
    a = np.asarray(img, dtype=np.float32)
    a = (a / 255.0 - MEAN) / STD
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def collate(images, stage):
    if stage == "coarse":
        return np.stack(images)
    H = max(i.shape[1] for i in images)
    W = max(i.shape[2] for i in images)
    H, W = math.ceil(H / 32) * 32, math.ceil(W / 32) * 32
    out = np.zeros((len(images), 3, H, W), dtype=np.float32)
    for b, i in enumerate(images):
        out[b, :, : i.shape[1], : i.shape[2]] = i
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--stage", choices=["coarse", "fine"], required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("shards", nargs="+")
    a = p.parse_args()
    cpu0, t0 = time.process_time(), time.perf_counter()
    n, pending, checksum = 0, [], 0.0
    for _key, files in samples(a.shards):
        json.loads(files["json"]) if "json" in files else None
        img = files.get("jpg") or files.get("jpeg") or files.get("png") or files.get("webp")
        if img is None:
            continue
        pending.append(transform(img, a.stage, a.size))
        if len(pending) == a.batch:
            batch = collate(pending, a.stage)
            checksum += float(batch[:, 0, 0, 0].sum())
            n += len(pending)
            pending = []
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    print(json.dumps({
        "python": sys.version.split()[0], "pil": PIL.__version__, "numpy": np.__version__,
        "stage": a.stage, "samples": n, "seconds": wall, "cpuSeconds": cpu,
        "samplesPerSecond": n / wall if wall else 0, "samplesPerCoreSecond": n / cpu if cpu else 0,
        "checksum": checksum,
    }))


if __name__ == "__main__":
    main()
