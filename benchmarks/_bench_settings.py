"""Settings for benchmarks/webhooks.py: the real settings, plus a trivial view to measure against.

Helper module (benchmarks/run skips names starting with "_"); nothing else imports it.
"""

from medspa_receptionist.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks._bench_urls"
