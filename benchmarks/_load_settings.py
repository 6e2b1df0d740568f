"""Settings for benchmarks/load.py: benchmarks/_bench_settings.py, plus optional overrides of the
django-q cluster that the load benchmark can compare (helper module: benchmarks/run skips it).

BENCH_Q_SAVE_LIMIT, when set, replaces Q_CLUSTER["save_limit"] (django-q2: 0 keeps every successful
task, -1 none, N the newest N, pruned on every save).
"""

import os

from benchmarks._bench_settings import *  # noqa: F403
from benchmarks._bench_settings import Q_CLUSTER

if os.environ.get("BENCH_Q_SAVE_LIMIT", "") != "":
    Q_CLUSTER = {**Q_CLUSTER, "save_limit": int(os.environ["BENCH_Q_SAVE_LIMIT"])}
