from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from plexica.tenancy.models import Membership, Organization
from plexica.tenancy.services import add_member, ensure_admin_login, ensure_user


class Command(BaseCommand):
    help = (
        "Add a user to an organization, creating the user if needed (with an unusable password unless "
        "--password is given). Idempotent; an existing member gets the given role. Owners and admins are "
        "made staff so they can log in to the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("org_slug", help="Slug of the organization.")
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            choices=Membership.Role.values,
            default=Membership.Role.MEMBER,
            help="Role in the organization (default: member). Owners and admins are made staff.",
        )
        parser.add_argument(
            "--team", metavar="TEAM_SLUG", help="Also add the member to this team (created if needed)."
        )
        parser.add_argument(
            "--password",
            help="Password of a NEW user. An existing user's password is never changed (use changepassword).",
        )
        parser.add_argument("--email", help="Email address (set on a new user, updated on an existing one).")
        parser.add_argument("--staff", action="store_true", help="Let the user log in to the admin.")

    def handle(self, *args, org_slug, username, role, team, password, email, staff, **options):
        organization = Organization.objects.filter(slug=org_slug).first()
        if organization is None:
            raise CommandError(f"No organization '{org_slug}'. Create it: manage.py createorg {org_slug}")
        if role not in Membership.Role.values:
            raise CommandError(f"Unknown role '{role}': use one of {', '.join(Membership.Role.values)}.")
        User = get_user_model()
        try:
            User._meta.get_field(User.USERNAME_FIELD).clean(username, None)
        except ValidationError as error:
            raise CommandError(f"Invalid username '{username}': {' '.join(error.messages)}") from error
        if email:
            try:
                User._meta.get_field("email").run_validators(email)
            except ValidationError as error:
                raise CommandError(f"Invalid email '{email}': {' '.join(error.messages)}") from error

        with transaction.atomic():  # a bad team slug leaves no half-created user behind
            user, user_created = ensure_user(username, password=password, email=email or "")
            if user_created:
                how = "with the given password" if password else "with an unusable password (cannot log in)"
                self.stdout.write(self.style.SUCCESS(f"Created user {username} {how}."))
            else:
                self.stdout.write(f"User {username} already exists.")
                if password:
                    self.stdout.write(self.style.WARNING(
                        f"Password of {username} left unchanged; use manage.py changepassword {username}."
                    ))
                if email and user.email != email:
                    user.email = email
                    user.save(update_fields=["email"])
                    self.stdout.write(f"Set the email of {username} to {email}.")

            existing = Membership.objects.filter(organization=organization, user=user)
            previous_role = existing.values_list("role", flat=True).first()
            in_team_before = bool(team) and existing.filter(teams__slug=team).exists()
            try:
                membership, _ = add_member(organization, user, role, team_slug=team)
            except ValidationError as error:
                raise CommandError(f"Invalid team slug '{team}': {' '.join(error.messages)}") from error

            if previous_role is None:
                self.stdout.write(self.style.SUCCESS(f"Added {username} to {org_slug} as {role}."))
            elif previous_role != role:
                change = f"{previous_role} -> {role}"
                message = f"Changed the role of {username} in {org_slug}: {change}."
                self.stdout.write(self.style.SUCCESS(message))
            else:
                self.stdout.write(f"{username} is already {role} of {org_slug}.")
            if team and in_team_before:
                self.stdout.write(f"{username} is already in team {team}.")
            elif team:
                self.stdout.write(self.style.SUCCESS(f"Added {username} to team {team} of {org_slug}."))

            if membership.is_org_admin or staff:
                reason = f"as {role} of {org_slug}" if membership.is_org_admin else "as asked"
                if ensure_admin_login(user):
                    message = f"Made {username} staff {reason}, so they can use the admin."
                    self.stdout.write(self.style.SUCCESS(message))
                else:
                    self.stdout.write(f"{username} is already staff (can use the admin).")
