import os

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from plexica.checks import require_secrets


class Command(RunserverCommand):
    help = (
        "runserver, plus the periodic tasks run in-process when there is no Celery broker (embedded mode), "
        "and with --demo-upstream PORT the demo's crm.contacts service on 127.0.0.1:PORT."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--demo-upstream", type=int, metavar="PORT", default=None,
            help="Also serve the demo contacts service (the README's baseUrl) on 127.0.0.1:PORT.",
        )

    def handle(self, *args, **options):
        require_secrets()
        super().handle(*args, **options)

    def inner_run(self, *args, **options):
        # With the autoreloader this runs in the serving child process only, once per (re)start.
        if settings.EMBEDDED_BEAT and settings.CELERY_TASK_ALWAYS_EAGER:
            from plexica.celery import EmbeddedBeat
            from plexica.work.queue import start_embedded_worker

            start_embedded_worker()
            beat = EmbeddedBeat(settings.CELERY_BEAT_SCHEDULE).start()
            self.stdout.write(f"Periodic tasks run in-process: {', '.join(beat.entries)} (pid {os.getpid()})")
        if options.get("demo_upstream") is not None:
            self.start_demo_upstream(options["demo_upstream"])
        super().inner_run(*args, **options)

    def start_demo_upstream(self, port):
        """Start the demo upstream, or say why not and serve on without it (only /call needs it)."""
        from plexica.demo_upstream import HOST, start_demo_upstream

        try:
            server = start_demo_upstream(port)
        except OSError as exc:
            self.stderr.write(self.style.WARNING(
                f"Demo upstream not started: cannot listen on {HOST}:{port} ({exc.strerror or exc}); "
                "is something else using that port? Gateway calls to crm.contacts answer 502 until a "
                "service listens there (make run DEMO_UPSTREAM_PORT=... picks another port)."
            ))
            return None
        self.stdout.write(
            f"Demo upstream (crm.contacts' baseUrl): http://{HOST}:{server.server_port} "
            "serves GET /contacts and GET /contacts/:id"
        )
        return server
