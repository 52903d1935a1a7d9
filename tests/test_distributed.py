"""`translate fit` under tf.distribute, with real processes: same command, same weights."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import tensorflow_log_lines

from translate.config import resolve_config
from translate.training import scale_for_replicas, worker_role

# norm none: with instance norm, conv biases before the norm get float-noise gradients that
# Adam's first steps blow up to ~lr, so 1 and 2 replicas would differ by noise, not by a bug.
JOB = [
    "fit", "--recipe", "demo", "--set", "model.ngf=8", "--set", "model.ndf=8",
    "--set", "model.norm=none", "--size", "32", "--batch-size", "4", "--seed", "1",
    "--epochs", "2", "--epochs-decay", "1", "--steps-per-epoch", "3", "--quiet",
]


def translate(*args, cwd, env=None, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "translate.cli", *args], cwd=cwd, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})},
    )


def start(*args, cwd, env):
    return subprocess.Popen(
        [sys.executable, "-m", "translate.cli", *args], cwd=cwd, env={**os.environ, **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def start_cluster(job, cwd, env=None):
    """Two local workers on fresh 127.0.0.1 ports, as a launcher starts them."""
    ports = free_ports(2)
    return [start(*job, cwd=cwd, env={"TF_CONFIG": tf_config(ports, i), **(env or {})})
            for i in range(2)]


def assert_all_succeed(procs) -> list[str]:
    """Wait for every worker; each must exit 0. Returns their stderr."""
    errors = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=400)
        finally:
            proc.kill()
        assert proc.returncode == 0, err
        errors.append(err)
    return errors


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def tf_config(ports, index):
    workers = [f"127.0.0.1:{p}" for p in ports]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def weights(checkpoint_dir, run_dir):
    """The networks' weights in a checkpoint folder, restored into the run's model."""
    import tensorflow as tf

    from translate.runs import load_run

    run = load_run(run_dir)
    items = {k: v for k, v in run.model.checkpoint_items().items() if not k.startswith("optim")}
    tf.train.Checkpoint(**items).restore(tf.train.latest_checkpoint(str(checkpoint_dir))).expect_partial()
    return [w.numpy() for w in run.model.weights]


def assert_same(a, b, atol=1e-5):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, atol=atol)


def test_global_batch_and_learning_rate_rules():
    config = resolve_config(recipe="demo", overrides={"data": {"batch_size": "8"}})
    same = scale_for_replicas(config, 4)
    assert (same.data.batch_size, same.train.lr) == (8, config.train.lr)
    scaled = scale_for_replicas(
        resolve_config(recipe="demo", overrides={
            "data": {"batch_size": "2"},
            "runtime": {"batch_per_replica": "true", "scale_lr": "linear"},
        }), 4)
    assert scaled.data.batch_size == 8 and scaled.train.lr == pytest.approx(4 * config.train.lr)
    facades = resolve_config(recipe="facades", overrides={
        "data": {"batch_size": "2"}, "runtime": {"sync_batch_norm": "true"}})
    assert scale_for_replicas(facades, 2).model.norm == "sync_batch"


def test_a_batch_that_does_not_split_over_the_replicas_is_refused():
    from translate.errors import UserError

    config = resolve_config(recipe="demo", overrides={"data": {"batch_size": "3"}})
    with pytest.raises(UserError, match="does not split over 2 replicas"):
        scale_for_replicas(config, 2)


def test_the_chief_is_worker_0_unless_the_cluster_names_one():
    class Resolver:
        def __init__(self, cluster, task_type, task_id):
            self.cluster, self.task_type, self.task_id = cluster, task_type, task_id

        def cluster_spec(self):
            import tensorflow as tf

            return tf.train.ClusterSpec(self.cluster)

    class Strategy:
        def __init__(self, *args):
            self.cluster_resolver = Resolver(*args)

    workers = {"worker": ["a:1", "b:1"]}
    assert worker_role(Strategy(workers, "worker", 0)) == (True, 0)
    assert worker_role(Strategy(workers, "worker", 1)) == (False, 1)
    with_chief = {"chief": ["c:1"], **workers}
    assert worker_role(Strategy(with_chief, "worker", 0)) == (False, 0)
    assert worker_role(Strategy(with_chief, "chief", 0)) == (True, 0)
    assert worker_role(object()) == (True, 0)


@pytest.mark.slow
def test_mirrored_over_two_replicas_matches_one_device(tmp_path):
    one = translate(*JOB, "--strategy", "cpu", "--name", "one", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    two = translate(*JOB, "--strategy", "mirrored", "--name", "two", cwd=tmp_path,
                    env={"TRANSLATE_LOGICAL_CPUS": "2"})
    assert two.returncode == 0, two.stderr
    assert "on 2 replica(s)" in two.stderr
    runs = tmp_path / "runs"
    assert_same(weights(runs / "one-1/checkpoints/latest", runs / "one-1"),
                weights(runs / "two-1/checkpoints/latest", runs / "two-1"))


@pytest.mark.slow
def test_two_workers_train_as_one_process(tmp_path):
    single = translate(*JOB, "--strategy", "cpu", "--name", "single", cwd=tmp_path)
    assert single.returncode == 0, single.stderr

    errors = assert_all_succeed(start_cluster(
        [*JOB, "--strategy", "multi-worker", "--name", "cluster"], tmp_path,
        env={"TRANSLATE_KEEP_WORKER_DIRS": "1"},
    ))
    # A normal exit of every worker is quiet (no coordination-service error at shutdown).
    assert [tensorflow_log_lines(err) for err in errors] == [[], []], errors
    run = tmp_path / "runs" / "cluster"  # fixed name: every worker and restart agree on it
    assert (run / "samples" / "epoch_003.png").is_file()
    assert not (run / ".worker-1" / "samples").exists()  # only the chief writes samples and logs
    chief = weights(run / "checkpoints/latest", run)
    assert_same(chief, weights(run / ".worker-1/checkpoints/latest", run), atol=0)
    assert_same(chief, weights(tmp_path / "runs/single-1/checkpoints/latest",
                               tmp_path / "runs/single-1"))


@pytest.mark.slow
def test_a_killed_worker_restarted_with_the_same_command_continues_from_the_checkpoint(tmp_path):
    straight = translate(*JOB, "--strategy", "cpu", "--name", "straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr

    job = [*JOB, "--strategy", "multi-worker", "--name", "cluster"]
    run = tmp_path / "runs" / "cluster"
    procs = start_cluster(job, tmp_path)
    deadline = time.time() + 400
    try:
        while not (run / "checkpoints" / "latest" / "checkpoint").exists():
            assert all(p.poll() is None for p in procs), procs[0].stderr.read()
            assert time.time() < deadline, "no checkpoint in time"
            time.sleep(0.05)
        os.kill(procs[1].pid, signal.SIGKILL)  # a worker dies mid-run ...
        procs[1].wait(timeout=60)
    finally:
        for p in procs:  # ... and the launcher tears the job down
            p.kill()
            p.wait(timeout=60)
    assert procs[1].returncode == -signal.SIGKILL

    assert_all_succeed(start_cluster(job, tmp_path))  # the launcher starts the same job again
    epochs = [line.split(",")[0] for line in (run / "metrics.csv").read_text().splitlines()[1:]]
    assert epochs == ["1", "2", "3"]  # none lost, none repeated
    assert_same(weights(run / "checkpoints/latest", run),
                weights(tmp_path / "runs/straight-1/checkpoints/latest",
                        tmp_path / "runs/straight-1"))


SYNC_BN_SCRIPT = """
import json
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from translate.layers import normalization

# The two replicas see halves with different means: their own statistics differ from the batch's.
x = np.random.default_rng(0).normal(size=(4, 3, 3, 2)).astype("float32")
x[2:] += 3.0

def moving_statistics(kind, strategy):
    with strategy.scope():
        layer = normalization(kind)
        layer.build(x.shape)
    batches = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(x))
    @tf.function
    def step(batch):
        strategy.run(lambda images: layer(images, training=True), args=(batch,))
    step(next(iter(batches)))
    return [layer.moving_mean.numpy().tolist(), layer.moving_variance.numpy().tolist()]

two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
print(json.dumps({
    "one_device": moving_statistics("batch", tf.distribute.OneDeviceStrategy("/cpu:0")),
    "synchronized": moving_statistics("sync_batch", two),
    "per_replica": moving_statistics("batch", two),
}))
"""


def test_sync_batch_norm_keeps_the_statistics_of_the_whole_batch_over_two_replicas():
    """runtime.sync_batch_norm: two replicas update the running mean and (unbiased) variance as
    one device does on the whole batch; plain batch norm averages per-replica statistics."""
    run = subprocess.run([sys.executable, "-c", SYNC_BN_SCRIPT], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    stats = json.loads(run.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(stats["synchronized"], stats["one_device"], rtol=1e-5)
    variance_gap = np.abs(np.subtract(stats["per_replica"][1], stats["one_device"][1]))
    assert variance_gap.min() > 0.1  # without sync, each replica sees only its half


def test_sync_batch_norm_option_turns_batch_norm_into_its_synchronized_form():
    config = resolve_config(recipe="facades", overrides={"runtime": {"sync_batch_norm": True}})
    assert scale_for_replicas(config, 1).model.norm == "sync_batch"
    plain = resolve_config(recipe="facades")
    assert scale_for_replicas(plain, 1).model.norm == "batch"
