"""Seconds per training iteration of CycleGAN, Pix2Pix, CUT and FastCUT, as a fraction of this
machine's ceiling.

    python tools/bench_train.py [--model cyclegan|pix2pix|cut|fastcut|both|unpaired ...]
                                [--batch 1 4] [--size 256] [--iters 10] [--warmup 2]
                                [--precision float32|mixed_bfloat16] [--jit] [--threads N]
                                [--steps-per-execution K] [--rounds R] [--json FILE]
                                [--framework-convs]

--model unpaired is CycleGAN, CUT and FastCUT; --rounds R measures the models R times,
interleaved (cyclegan, cut, fastcut, cyclegan, ...), and prints each one's iterations per second
relative to the first model's in the same round, with the range over rounds: the ratio the
paper's table 1 gives (CUT 1.5x, FastCUT 2.5x CycleGAN's on a GPU).

What is timed is what `translate fit` runs: build_model + compile, then `model.fit` on a repeated
in-memory tf.data dataset (so input decoding is not part of the figure); a callback takes the
time at the end of every executed step and reads one loss back to the host (as fit's progress
bar does), so GPU work is finished when the clock stops. The first `--warmup` steps (tracing)
are dropped; the figure is the median of the next `--iters` steps.

FLOPs per iteration are counted from the traced train step itself: every convolution and matmul
the graph would run (forward, input gradients, filter gradients), after removing the ops whose
results nothing uses (as TensorFlow's graph optimiser does), at multiply-adds x 2. Elementwise
work (norms, activations, Adam) is not counted. The count is taken with every conv traced as the
framework's own conv ops (translate.networks.cpu_kernels.framework_convs): the algorithm's FLOPs, the
same whichever way our layers compute them. --framework-convs also times the step that way: the
figure our conv rewrites are measured against.

The ceiling is the best of a large float32 conv2d and a large matmul timed in the same run with
the same threads (on a GPU: a large matmul in bfloat16 and in float32; the ceiling is the one of
the --precision asked for). Each (model, batch) runs in its own subprocess, so "peak memory"
is that process's peak resident set size (resource.getrusage ru_maxrss: TF runtime, weights,
optimizer state, activations, all of it); beside it the peak of TF's own allocator (live tensors
only, from the model's build on: on a CPU the CPU allocator's, on a GPU the GPU's).

On a shared machine the wall clock also counts time other processes took from ours. Every figure
is therefore given by CPU time too (time.process_time of this process, for the steps and for
the ceiling): with --threads 1 on one core that is what the step costs on an idle core.
Single-core figures:  taskset -c 1 python tools/bench_train.py --threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CHILD = "--_child"


def configure(threads: int | None, precision: str) -> None:
    """Threads and precision, before any other TF op (the `translate fit` order)."""
    import keras
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    if precision != "float32":
        keras.mixed_precision.set_global_policy(precision)


def on_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


# -- the ceiling -------------------------------------------------------------------------------
def _rate(fn, flops: float, repeats: int) -> tuple[float, float]:
    """GFLOP/s of the median of `repeats` timed calls of fn (after one untimed call), by the wall
    clock and by this process's CPU time."""
    fn().numpy()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn().numpy()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return flops / statistics.median(wall) / 1e9, flops / statistics.median(cpu) / 1e9


def measure_ceiling(precision: str, repeats: int = 7) -> dict:
    """GFLOP/s of a large conv2d and a large matmul, in the dtype the models compute in."""
    import tensorflow as tf

    gpu = on_gpu()
    dtype = tf.bfloat16 if precision == "mixed_bfloat16" else tf.float32
    rng = tf.random.Generator.from_seed(0)
    # The resnet block's conv (3x3, 256 -> 256 channels at 64x64), 4 images: 19.3 GFLOP.
    n, h, w, c = (16, 64, 64, 256) if gpu else (4, 64, 64, 256)
    x = tf.cast(rng.normal((n, h, w, c)), dtype)
    k = tf.cast(rng.normal((3, 3, c, c)) * 0.01, dtype)
    conv_flops = 2.0 * n * h * w * 9 * c * c
    m = 8192 if gpu else 2048
    a = tf.cast(rng.normal((m, m)), dtype)
    b = tf.cast(rng.normal((m, m)) * 0.01, dtype)
    mm_flops = 2.0 * m**3
    reps = 10 if gpu else 1  # many ops per call on a GPU: launch overhead out of the figure

    @tf.function(autograph=False)
    def conv():
        y = x
        for _ in range(reps):
            y = tf.nn.conv2d(x, k, 1, "SAME") + y * 0
        return tf.reduce_sum(tf.cast(y[:1, :1, :1, :1], tf.float32))

    @tf.function(autograph=False)
    def matmul():
        y = a
        for _ in range(reps):
            y = tf.matmul(a, b) + y * 0
        return tf.reduce_sum(tf.cast(y[:1, :1], tf.float32))

    (conv_wall, conv_cpu), (mm_wall, mm_cpu) = (
        _rate(conv, conv_flops * reps, repeats), _rate(matmul, mm_flops * reps, repeats)
    )
    result = {
        "conv_gflops": conv_wall, "matmul_gflops": mm_wall,
        "conv_gflops_cpu_time": conv_cpu, "matmul_gflops_cpu_time": mm_cpu,
        "dtype": dtype.name,
    }
    if gpu and dtype != tf.float32:  # the float32 figure too, for comparison
        a32, b32 = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
        mm32 = tf.function(autograph=False)(lambda: tf.reduce_sum(tf.matmul(a32, b32)[:1, :1]))
        result["matmul_float32_gflops"] = _rate(mm32, mm_flops, repeats)[0]
    result["ceiling_gflops"] = max(conv_wall, mm_wall)
    result["ceiling_gflops_cpu_time"] = max(conv_cpu, mm_cpu)
    return result


# -- FLOPs of the train step -------------------------------------------------------------------
_CONV_OPS = {"Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"}


def _live_ops(graph) -> list:
    """The ops a run of `graph` executes: what feeds its outputs or any op with side effects."""
    keep = [op for op in graph.get_operations() if op._is_stateful or op.type in ("NoOp",)]
    keep += [t.op for t in graph.outputs]
    seen, stack = set(), list(keep)
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return [op for op in graph.get_operations() if op.name in seen]


def _elements(shape, batch: int) -> int:
    """Elements of a shape whose unknown dimensions are the batch (the image pool's output)."""
    dims = [batch if d is None else d for d in shape]
    out = 1
    for d in dims:
        out *= int(d)
    return out


def _macs(op, batch: int) -> int:
    """Multiply-adds of one conv (any direction) or matmul op; unknown dimensions are `batch`."""
    if op.type == "Conv2D":
        kh, kw, cin, _ = op.inputs[1].shape
        return _elements(op.outputs[0].shape, batch) * kh * kw * cin
    if op.type == "Conv2DBackpropInput":  # dx = conv^T(dy): as many MACs as the forward conv
        kh, kw, cin, _ = op.inputs[1].shape
        return _elements(op.inputs[2].shape, batch) * kh * kw * cin
    if op.type == "Conv2DBackpropFilter":  # dW: every output element meets kh*kw*cin inputs
        kh, kw, cin, _ = op.outputs[0].shape
        return _elements(op.inputs[2].shape, batch) * kh * kw * cin
    if op.type in ("MatMul", "BatchMatMulV2"):
        a = op.inputs[0].shape
        k = a[-2] if op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x") else a[-1]
        return _elements(op.outputs[0].shape, batch) * int(k)
    return 0


def count_train_flops(model, batch: tuple) -> dict:
    """FLOPs (multiply-adds x 2) of one train step, by op kind, from its traced graph."""
    import tensorflow as tf

    from translate.networks.cpu_kernels import framework_convs

    specs = tuple(tf.TensorSpec(t.shape, t.dtype) for t in batch)
    with framework_convs():
        fn = tf.function(lambda a, b: model.train_step((a, b)))
        graph = fn.get_concrete_function(*specs).graph
    flops: dict[str, float] = {}
    for op in _live_ops(graph):
        if op.type in _CONV_OPS or op.type in ("MatMul", "BatchMatMulV2"):
            flops[op.type] = flops.get(op.type, 0.0) + 2.0 * _macs(op, int(batch[0].shape[0]))
    flops["total"] = sum(flops.values())
    return flops


def count_forward_flops(network, shape) -> float:
    """FLOPs of one forward pass of a network (for checking against published figures)."""
    import tensorflow as tf

    from translate.networks.cpu_kernels import framework_convs

    fn = tf.function(lambda x: network(x, training=True))
    with framework_convs():
        graph = fn.get_concrete_function(tf.TensorSpec(shape, tf.float32)).graph
    return sum(2.0 * _macs(op, shape[0]) for op in _live_ops(graph))


# -- one (model, batch) measurement, in its own process ------------------------------------------
def model_config(kind: str):
    """The `translate fit` defaults of `kind` (resnet_9blocks/instance or unet_256/batch);
    fastcut is the cut kind in its FastCUT mode."""
    from translate.models import model_class

    if kind == "fastcut":
        return model_class("cut").Options(mode="fastcut")
    return model_class(kind).Options()


class StepTimer:
    """Keras callback: wall time of every executed step, with one loss read back to the host."""

    def __new__(cls, *args, **kwargs):
        import keras

        class _Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.times: list[float] = []
                self.cpu_times: list[float] = []
                self._last = self._last_cpu = None

            def on_train_begin(self, logs=None):
                self._last, self._last_cpu = time.perf_counter(), time.process_time()

            def on_train_batch_end(self, batch, logs=None):
                if logs:
                    float(next(iter(logs.values())))  # the host sees the step's result
                now, now_cpu = time.perf_counter(), time.process_time()
                self.times.append(now - self._last)
                self.cpu_times.append(now_cpu - self._last_cpu)
                self._last, self._last_cpu = now, now_cpu

        return _Timer()


def bench_one(args) -> dict:
    configure(args.threads, args.precision)
    import keras
    import numpy as np
    import tensorflow as tf

    from translate.config import TrainConfig
    from translate.models import build_model

    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ceiling = measure_ceiling(args.precision) if args.ceiling_here else None
    if not on_gpu():  # TF's own CPU allocator: live tensors only, from here on
        tf.config.experimental.reset_memory_stats("CPU:0")
    keras.utils.set_random_seed(0)
    config = model_config(args.model)
    spe = args.steps_per_execution
    steps = args.warmup + args.iters
    steps = -(-steps // spe) * spe
    model = build_model(config, TrainConfig(), steps_per_epoch=steps)
    model.compile(jit_compile=args.jit, steps_per_execution=spe)

    rng = np.random.default_rng(0)
    shape = (args.batch, args.size, args.size, 3)
    a = rng.uniform(-1, 1, shape).astype("float32")
    b = rng.uniform(-1, 1, shape).astype("float32")
    flops = count_train_flops(model, (tf.constant(a), tf.constant(b)))
    if args.forward_flops:
        g = model.G_A if args.model == "cyclegan" else model.G
        flops["generator_forward"] = count_forward_flops(g, (1, args.size, args.size, 3))

    ds = tf.data.Dataset.from_tensors((a, b)).repeat().prefetch(2)
    timer = StepTimer()
    from translate.networks.cpu_kernels import framework_convs

    with framework_convs() if args.framework_convs else contextlib.nullcontext():
        model.fit(ds, epochs=1, steps_per_epoch=steps, callbacks=[timer], shuffle=False, verbose=0)
    per_step = [t / spe for t in timer.times]
    warm_execs = -(-args.warmup // spe)
    timed = per_step[warm_execs:]
    timed_cpu = [t / spe for t in timer.cpu_times][warm_execs:]
    result = {
        "model": args.model,
        "batch": args.batch,
        "size": args.size,
        "precision": args.precision,
        "jit": args.jit,
        "convs": "framework" if args.framework_convs else "ours",
        "steps_per_execution": spe,
        "threads": args.threads or len(os.sched_getaffinity(0)),
        "s_per_iter": statistics.median(timed),
        "s_per_iter_min": min(timed),
        "s_per_iter_max": max(timed),
        "cpu_s_per_iter": statistics.median(timed_cpu),
        "timed_steps": len(timed) * spe,
        "first_step_s": per_step[0] * spe,
        "gflop_per_iter": flops["total"] / 1e9,
        "flops_by_op": {k: v / 1e9 for k, v in flops.items()},
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_tf_import_mib": rss_start / 1024,
    }
    if on_gpu():
        result["gpu_peak_mib"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    else:
        result["tensor_peak_mib"] = tf.config.experimental.get_memory_info("CPU:0")["peak"] / 2**20
    if ceiling:
        result["ceiling"] = ceiling
    return result


# -- the driver ------------------------------------------------------------------------------------
def run_child(args, **overrides) -> dict:
    child = vars(args) | overrides
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), CHILD, json.dumps(child)],
        capture_output=True, text=True,
    )
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"benchmark of {overrides} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: list[dict], ceiling: float, ceiling_cpu: float) -> str:
    """Markdown: wall-clock figures, and the same by CPU time (what a loaded machine distorts
    least when each process has one thread)."""
    lines = [
        "| model | batch | s/iter (median) | min-max | GFLOP/iter | ceiling GFLOP/s "
        "| fraction | CPU s/iter | ceiling by CPU time | fraction by CPU time | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        gflop = r["gflop_per_iter"]
        lines.append(
            f"| {r['model']}{' (framework convs)' if r.get('convs') == 'framework' else ''} "
            f"| {r['batch']} | {r['s_per_iter']:.3f} ({r['timed_steps']} steps) "
            f"| {r['s_per_iter_min']:.3f}-{r['s_per_iter_max']:.3f} | {gflop:.1f} "
            f"| {ceiling:.0f} | {gflop / r['s_per_iter'] / ceiling:.0%} "
            f"| {r['cpu_s_per_iter']:.3f} | {ceiling_cpu:.0f} "
            f"| {gflop / r['cpu_s_per_iter'] / ceiling_cpu:.0%} | {r['peak_rss_mib']:.0f}"
            + (f" (GPU {r['gpu_peak_mib']:.0f})" if "gpu_peak_mib" in r else "")
            + (f" (tensors {r['tensor_peak_mib']:.0f})" if "tensor_peak_mib" in r else "")
            + " |"
        )
    return "\n".join(lines)


def speed_ratios(rows: list[dict], models: list[str]) -> str:
    """Iterations per second of each model over the first model's, measured in the same round
    (same machine state): median and range over rounds, per batch size."""
    lines = [f"| model | batch | it/s vs {models[0]} (median) | range over rounds | rounds |",
             "|---|---|---|---|---|"]
    for batch in sorted({r["batch"] for r in rows}):
        for kind in models:
            ratios = []
            for round_ in sorted({r["round"] for r in rows}):
                same = {r["model"]: r for r in rows if r["round"] == round_ and r["batch"] == batch}
                if kind in same and models[0] in same:
                    ratios.append(same[models[0]]["s_per_iter"] / same[kind]["s_per_iter"])
            if ratios:
                lines.append(f"| {kind} | {batch} | {statistics.median(ratios):.2f}x "
                             f"| {min(ratios):.2f}-{max(ratios):.2f}x | {len(ratios)} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=["both"],
                        choices=["cyclegan", "pix2pix", "cut", "fastcut", "both", "unpaired"])
    parser.add_argument("--rounds", type=int, default=1, help="interleaved repeats of the models")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iters", type=int, default=10, help="timed steps (median)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed first steps (tracing)")
    parser.add_argument("--precision", choices=["float32", "mixed_bfloat16"], default="float32")
    parser.add_argument("--jit", action="store_true", help="compile(jit_compile=True): XLA")
    parser.add_argument("--threads", type=int, default=0, help="TF intra/inter-op threads; 0: all")
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--forward-flops", action="store_true",
                        help="also count one generator forward pass (batch 1)")
    parser.add_argument("--framework-convs", action="store_true",
                        help="time every conv as the framework's own ops (our rewrites off)")
    parser.add_argument("--json", help="also write every figure to this file")
    args = parser.parse_args(argv)
    args.ceiling_here = True  # each child measures it again: the machine's load drifts

    configure(args.threads, args.precision)
    import tensorflow as tf

    if on_gpu():
        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        device = "GPU " + details.get("device_name", "")
    else:
        device = f"CPU {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores usable"
    print(f"device: {device}; threads: {args.threads or 'all'}; precision {args.precision}; "
          f"jit {args.jit}; steps_per_execution {args.steps_per_execution}; "
          f"convs {'framework' if args.framework_convs else 'ours'}", flush=True)
    ceilings = [measure_ceiling(args.precision)]
    print(f"ceiling: {json.dumps(ceilings[0])}", flush=True)
    groups = {"both": ["cyclegan", "pix2pix"], "unpaired": ["cyclegan", "cut", "fastcut"]}
    models = [kind for name in args.model for kind in groups.get(name, [name])]
    rows = []
    for round_ in range(args.rounds):
        for batch in args.batch:
            for kind in models:
                row = run_child(args, model=kind, batch=batch) | {"round": round_}
                rows.append(row)
                print(json.dumps(row), flush=True)
    ceilings.append(measure_ceiling(args.precision))
    print(f"ceiling after: {json.dumps(ceilings[-1])}", flush=True)
    ceilings += [r["ceiling"] for r in rows]
    ceiling = max(c["ceiling_gflops"] for c in ceilings)  # the best seen: fractions err low
    ceiling_cpu = max(c["ceiling_gflops_cpu_time"] for c in ceilings)
    print()
    print(table(rows, ceiling, ceiling_cpu))
    if len(models) > 1:
        print()
        print(speed_ratios(rows, models))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device, "ceilings": ceilings, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == CHILD:
        print(json.dumps(bench_one(argparse.Namespace(**json.loads(sys.argv[2])))))
    else:
        main()
