"""Registration rows are shown here for viewing only: every change goes through registration.services."""

from django.contrib import admin

from registration.models import (
    AuditEvent,
    ParentAccountEmail,
    Pin,
    PortalAccess,
    PortalAccount,
    SelfRegistrationRequest,
    WelcomeMessage,
)


class ViewOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PortalAccount)
class PortalAccountAdmin(ViewOnlyAdmin):
    list_display = ["user", "cell_phone", "preferred_language", "created_at", "disabled_at", "merged_into"]
    list_select_related = ["user", "merged_into__user"]
    search_fields = ["user__email", "user__last_name"]


@admin.register(Pin)
class PinAdmin(ViewOnlyAdmin):
    list_display = [
        "id",
        "patient",
        "contact",
        "path",
        "issued_at",
        "expires_at",
        "redeemed_at",
        "revoked_at",
    ]
    list_select_related = ["patient", "contact"]
    list_filter = ["path", "end_reason"]
    exclude = ["secret_hash"]


@admin.register(PortalAccess)
class PortalAccessAdmin(ViewOnlyAdmin):
    list_display = ["account", "patient", "contact", "path", "granted_at"]
    list_select_related = ["account__user", "patient", "contact"]
    list_filter = ["path"]


@admin.register(SelfRegistrationRequest)
class SelfRegistrationRequestAdmin(ViewOnlyAdmin):
    list_display = ["submitted_at", "parent_email", "child_first_name", "child_last_name", "status"]
    list_filter = ["status"]
    search_fields = ["parent_email", "child_last_name"]


@admin.register(WelcomeMessage)
class WelcomeMessageAdmin(ViewOnlyAdmin):
    list_display = ["queued_at", "channel", "address", "status", "attempts", "sent_at"]
    list_filter = ["channel", "status"]


@admin.register(ParentAccountEmail)
class ParentAccountEmailAdmin(ViewOnlyAdmin):
    list_display = ["queued_at", "kind", "account", "status", "attempts", "sent_at"]
    list_select_related = ["account__user"]
    list_filter = ["kind", "status"]


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin):
    list_display = ["at", "action", "actor", "path", "patient", "account", "client_address"]
    list_select_related = ["actor", "patient", "account__user"]
    list_filter = ["action", "path"]
    date_hierarchy = "at"
