import os

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from plexica.checks import require_secrets


class Command(RunserverCommand):
    help = "runserver, plus the periodic tasks run in-process when there is no Celery broker (embedded mode)."

    def handle(self, *args, **options):
        require_secrets()
        super().handle(*args, **options)

    def inner_run(self, *args, **options):
        # With the autoreloader this runs in the serving child process only, once per (re)start.
        if settings.EMBEDDED_BEAT and settings.CELERY_TASK_ALWAYS_EAGER:
            from plexica.celery import EmbeddedBeat, start_embedded_worker

            start_embedded_worker()
            beat = EmbeddedBeat(settings.CELERY_BEAT_SCHEDULE).start()
            self.stdout.write(f"Periodic tasks run in-process: {', '.join(beat.entries)} (pid {os.getpid()})")
        super().inner_run(*args, **options)
