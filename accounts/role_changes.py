"""End a user's sessions when what a session holds about them changes: their role groups, or whether
they are staff, superuser or active.

A session keeps the user's role groups from sign-in (`accounts.roles.SESSION_ROLES`) and, by those and
`is_staff`, its timeouts (`accounts.sessions.KIND`), so that no request reads the groups. Whoever gains
or loses a role signs in again, and from then on has the new one; nobody keeps a role they lost.

These are signal receivers so that every way of changing a user is covered, the Django admin included.
Changes that send no signal (`QuerySet.update()`, bulk writes to the groups table) are not: end the
sessions with `accounts.sessions.user_sessions_end` there.
"""

from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, pre_delete, pre_save
from django.dispatch import receiver

from accounts.models import User
from accounts.sessions import users_sessions_end

# What a session relies on besides its role groups; the rest of the user is read on every request.
ACCESS_FIELDS = ("is_staff", "is_superuser", "is_active")


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts.groups_changed")
def groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A user's groups changed (`user.groups`), or a group's users (`group.user_set`)."""
    if not reverse and action in ("post_add", "post_remove", "post_clear"):
        if pk_set or action == "post_clear":
            users_sessions_end([instance.pk])
    elif reverse and action in ("post_add", "post_remove") and pk_set:
        users_sessions_end(pk_set)
    elif reverse and action == "pre_clear":
        users_sessions_end(instance.user_set.values("pk"))


@receiver(pre_delete, sender=Group, dispatch_uid="accounts.group_deleted")
def group_deleted(sender, instance, **kwargs):
    """Deleting a group removes its users from it without an m2m signal."""
    users_sessions_end(instance.user_set.values("pk"))


@receiver(pre_save, sender=Group, dispatch_uid="accounts.group_renamed")
def group_renamed(sender, instance, update_fields=None, **kwargs):
    """A renamed group may become a role, or stop being one."""
    if instance._state.adding or (update_fields is not None and "name" not in update_fields):
        return
    if Group.objects.filter(pk=instance.pk).exclude(name=instance.name).exists():
        users_sessions_end(instance.user_set.values("pk"))


@receiver(pre_save, sender=User, dispatch_uid="accounts.user_access_changed")
def user_access_changed(sender, instance, update_fields=None, raw=False, **kwargs):
    """A user made staff or superuser, or no longer, or disabled."""
    if raw or instance._state.adding:
        return
    if update_fields is not None and not set(update_fields) & set(ACCESS_FIELDS):
        return  # e.g. the last sign-in's time, written at each sign-in
    stored = User.objects.filter(pk=instance.pk).values(*ACCESS_FIELDS).first()
    if stored and any(stored[field] != getattr(instance, field) for field in ACCESS_FIELDS):
        users_sessions_end([instance.pk])
