"""The demo's staff sign-ins: `frontdesk` (Front desk) and `admin` (Practice admin, superuser)."""

from dataclasses import dataclass

from django.contrib.auth.models import Group

from accounts.models import ADMIN_GROUP, FRONT_DESK_GROUP, User


@dataclass(frozen=True)
class StaffSpec:
    username: str
    first_name: str
    last_name: str
    group: str
    is_admin: bool  # may open the Django admin, and see everything in it


FRONT_DESK = StaffSpec("frontdesk", "Dana", "Whitfield", FRONT_DESK_GROUP, is_admin=False)
ADMIN = StaffSpec("admin", "Sam", "Okoro", ADMIN_GROUP, is_admin=True)


# What happened to a staff user's password (messages, not passwords).
NEW = "user created"
PASSWORD_SET = "password set"  # noqa: S105
PASSWORD_SAME = "password already this one"  # noqa: S105
PASSWORD_KEPT = "existing password unchanged"  # noqa: S105


@dataclass(frozen=True)
class StaffUser:
    user: User
    password_note: str  # what happened to the password, for the summary

    @property
    def changed(self) -> bool:
        return self.password_note in (NEW, PASSWORD_SET)


def staff_ensure(spec: StaffSpec, password: str, *, password_given: bool) -> StaffUser:
    """Create the user with `password`, or bring an existing one back to the spec.

    An existing user's password changes only when one was given on the command line.
    """
    user = User.objects.filter(username=spec.username).first()
    if user is None:
        user = User(username=spec.username, email=f"{spec.username}@maplestreet.example")
        user.set_password(password)
        note = NEW
    elif not password_given:
        note = PASSWORD_KEPT
    elif user.check_password(password):
        note = PASSWORD_SAME
    else:
        user.set_password(password)
        note = PASSWORD_SET
    if _flags_apply(user, spec) or note in (NEW, PASSWORD_SET):
        user.save()
    # The data migration makes the groups; get_or_create also survives a test database flushed empty.
    user.groups.add(Group.objects.get_or_create(name=spec.group)[0])
    return StaffUser(user, note)


def _flags_apply(user: User, spec: StaffSpec) -> bool:
    wanted = {
        "first_name": spec.first_name,
        "last_name": spec.last_name,
        "is_active": True,
        "is_staff": spec.is_admin,  # the Django admin is for practice admins only
        "is_superuser": spec.is_admin,
    }
    changed = {name: value for name, value in wanted.items() if getattr(user, name) != value}
    for name, value in changed.items():
        setattr(user, name, value)
    return bool(changed)
