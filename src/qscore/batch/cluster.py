"""The Dask cluster of a batch: a LocalCluster of single-threaded worker processes, or a running one.

Setting up a cluster for a caller who has one is not this package's business: :func:`qscore.batch.run_batch`
takes a ``distributed.Client`` (``client=``) and uses it as it is; otherwise :func:`open_cluster` makes one.
"""

from __future__ import annotations

import contextlib
import logging
import signal

from ..errors import ParameterError, QScoreError
from .entry import describe_error, warm_up

__all__ = ["open_cluster", "warm_up_plugin", "task_slots", "stop_runaway"]

log = logging.getLogger("qscore.batch")


@contextlib.contextmanager
def open_cluster(*, workers: int | None, scheduler: str | None, memory_limit="auto"):
    """A ``distributed.Client`` for a batch, closed (and a LocalCluster shut down) on exit.

    Parameters
    ----------
    workers : int or None — processes of a new LocalCluster (single-threaded each); not with ``scheduler``
    scheduler : str or None — address of a running scheduler to connect to instead
    memory_limit : str or float — memory per local worker process ('auto', '4GB', bytes)

    Yields
    ------
    distributed.Client — with :func:`warm_up_plugin` registered

    Raises
    ------
    QScoreError — dask.distributed is not installed; ParameterError — the scheduler cannot be reached
    """
    try:
        import distributed
    except ImportError:
        raise QScoreError("qscore batch needs dask.distributed and pyarrow: pip install 'qscore[batch]'.") from None
    cluster = None
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ParameterError(f"Cannot reach the Dask scheduler at scheduler='{scheduler}' ({exc}); check the "
                                 "address (e.g. tcp://host:8786) and that the scheduler is running.",
                                 parameter="scheduler") from None
    else:
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", memory_limit=memory_limit,
                                           silence_logs=logging.CRITICAL)
        client = distributed.Client(cluster)
    try:
        try:
            client.register_plugin(warm_up_plugin(ignore_sigint=cluster is not None))
        except Exception as exc:  # noqa: BLE001 - e.g. a worker dying as it starts: its entries will say so
            log.warning("Could not warm up the workers (%s); going on without.", describe_error(exc))
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def task_slots(client) -> int:
    """Task slots of the cluster now: the threads of its workers (0 while it has none)."""
    with contextlib.suppress(Exception):
        return sum(client.nthreads().values())
    return 0


def stop_runaway(client, key) -> None:
    """Restart the worker running task ``key`` (a timed-out entry's computation cannot be interrupted).

    Parameters
    ----------
    client : distributed.Client
    key : str — the task's key
    """
    try:
        processing = client.processing()
    except Exception:  # noqa: BLE001 - nothing to restart when the scheduler cannot say
        return
    for address, keys in processing.items():
        if key in keys:
            try:
                client.restart_workers([address], raise_for_error=False)
            except Exception as exc:  # noqa: BLE001 - e.g. a worker without a nanny
                log.warning("Could not restart worker %s to stop a timed-out entry (%s); it stays busy until "
                            "the entry ends.", address, exc)
            return


def warm_up_plugin(*, ignore_sigint: bool = False):
    """A ``distributed`` worker plugin that runs :func:`warm_up` on every worker, also restarted ones.

    ``ignore_sigint``: the worker process also ignores SIGINT (for local workers: Ctrl-C in the terminal
    reaches the whole process group, and the driver, not each worker, stops the batch).
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class WarmUp(WorkerPlugin):
        name = "qscore-warm-up"

        def setup(self, worker):
            if ignore_sigint:
                with contextlib.suppress(ValueError):  # only possible in the main thread
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
            warm_up()

    return WarmUp()
