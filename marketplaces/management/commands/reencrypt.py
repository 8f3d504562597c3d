from django.core.management.base import BaseCommand, CommandError

from marketplaces.config_objects.reencryption import DEFAULT_BATCH_SIZE, reencrypt_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column under the newest PLEXICA_ENCRYPTION_KEYS key (run after "
        "prepending a new key, before dropping the old one). Idempotent: values already under the newest "
        "key are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                            help=f"Rows per transaction (default {DEFAULT_BATCH_SIZE}).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Count what would be rewritten; change nothing.")

    def handle(self, *args, batch_size, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        reports = reencrypt_all(batch_size=batch_size, dry_run=dry_run)
        verb = "would rewrite" if dry_run else "rewrote"
        for report in reports:
            line = (f"{report.label}: scanned {report.scanned}, {verb} {report.rewritten}, "
                    f"already current {report.current}")
            if report.changed_meanwhile:
                line += f", changed meanwhile {report.changed_meanwhile}"
            if report.undecryptable:
                line += f", UNDECRYPTABLE {report.undecryptable}"
            self.stdout.write(line)
        undecryptable = sum(report.undecryptable for report in reports)
        if undecryptable:
            # Not an error exit: everything else was rewritten; but the old key must not be dropped yet.
            self.stderr.write(self.style.WARNING(
                f"{undecryptable} value(s) open with none of the configured keys: find the key they were "
                "written with and add it back before dropping any key."))
        else:
            total = sum(report.rewritten for report in reports)
            self.stdout.write(self.style.SUCCESS(
                f"Dry run: {total} value(s) would be rewritten." if dry_run
                else f"Done: rewrote {total} value(s); every encrypted value is under the newest key."))
