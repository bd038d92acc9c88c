"""Every add, change and delete made through the Django admin is audited, whichever app's admin made it.

`AuditedAdminSite` is the default admin site (`registration.apps.AuditedAdminConfig` in INSTALLED_APPS):
each `admin.site.register()`, in any app, gets its ModelAdmin with `AdminAuditMixin`, so `patients/` and
`accounts/` need not know about the audit trail. The admin's own history (LogEntry) is written through
`log_addition`, `log_change` and `log_deletions` on every path that changes a row (the change form,
list editing, actions, the password form); each writes an audit event there too. Every admin request
that may change something runs in one transaction, so a change and its event are saved together or not
at all: Django's change form already does so, but its actions and password form do not.
"""

from functools import wraps

from django.contrib import admin
from django.db import transaction

from portalreg.proxies import client_address
from registration.services.admin_edits import ADDED, CHANGED, DELETED, admin_edit_record

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class AdminAuditMixin:
    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        self._audit(request, ADDED, obj, message)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        self._audit(request, CHANGED, obj, message)
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)  # called before the rows are deleted
        for obj in queryset:
            self._audit(request, DELETED, obj, [])
        return entries

    def _audit(self, request, action, obj, message):
        admin_edit_record(
            action=action, obj=obj, change=message, by=request.user, client_address=client_address(request)
        )


class AuditedAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AdminAuditMixin):
            admin_class = type(
                admin_class.__name__, (AdminAuditMixin, admin_class), {"__module__": admin_class.__module__}
            )
        super().register(model_or_iterable, admin_class, **options)

    def admin_view(self, view, cacheable=False):
        @wraps(view)
        def in_one_transaction(request, *args, **kwargs):
            if request.method in SAFE_METHODS:
                return view(request, *args, **kwargs)
            with transaction.atomic():
                return view(request, *args, **kwargs)

        return super().admin_view(in_one_transaction, cacheable)
