"""Give a person their role: ``manage.py set_role alice operator`` (viewer, operator, administrator or none)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portfolio.roles import ROLES

NONE = "none"


class Command(BaseCommand):
    help = (
        "Give a user one role (its group): viewer, operator or administrator; 'none' takes their role away. "
        "The user becomes staff, so they can log in to the admin. With --create, a new user is made "
        "(set their password with manage.py changepassword)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", help=f"one of {', '.join((*ROLES, NONE))}")
        parser.add_argument("--create", action="store_true", help="Create the user when there is none.")

    @transaction.atomic
    def handle(self, *args, username, role, create=False, **options):
        if role not in (*ROLES, NONE):
            raise CommandError(f"Unknown role {role!r}: use one of {', '.join((*ROLES, NONE))}.")
        groups = {group.name: group for group in Group.objects.filter(name__in=ROLES)}
        missing = [name for name in ROLES if name not in groups]
        if missing:
            raise CommandError(f"The group(s) {', '.join(missing)} do not exist: run manage.py migrate first.")
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        created = user is None
        if created:
            if not create:
                raise CommandError(f"There is no user {username!r}: add --create to make one.")
            user = User(**{User.USERNAME_FIELD: username})
            user.set_unusable_password()
        if role != NONE:
            user.is_staff = True
        user.save()
        user.groups.remove(*groups.values())
        if role != NONE:
            user.groups.add(groups[role])
        held = f"the {role} role" if role != NONE else "no role"
        self.stdout.write(f"{'Created' if created else 'Updated'} {username}: {held}.")
        if created:
            self.stdout.write(f"Set their password with: manage.py changepassword {username}")
