"""Run jobs in threads released together, for the PostgreSQL race tests."""

import threading

from django.db import connection


def run_together(*jobs):
    """Start every job at the same moment (a barrier) and return their results in order."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        finally:
            connection.close()  # each thread opened its own connection

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
