from django.urls import path

from registration.staff.views import (
    access_changes,
    admin_pages,
    dashboard,
    ehr_import,
    feed,
    patients,
    pin_slips,
    register_all,
    restrictions,
    self_registration,
    sign_in,
    teen_accounts,
    welcome_messages,
)

app_name = "staff"

urlpatterns = [
    path("sign-in/", sign_in.StaffSignInView.as_view(), name="sign-in"),
    path("sign-out/", sign_in.StaffSignOutView.as_view(), name="sign-out"),
    path("", dashboard.dashboard, name="dashboard"),
    path("statistics/", dashboard.statistics, name="statistics"),
    path("access-changes/", access_changes.access_changes, name="access-changes"),
    path("register-all/", register_all.register_all, name="register-all"),
    path("register-all/<int:pk>/", register_all.register_all_run, name="register-all-run"),
    path("register-all/<int:pk>/progress/", register_all.register_all_progress, name="register-all-progress"),
    path("patients/", patients.patient_search, name="patient-search"),
    path("patients/<int:pk>/", patients.patient_chart, name="patient-chart"),
    path(
        "patients/<int:patient_pk>/contacts/<int:contact_pk>/pin/",
        pin_slips.pin_generate,
        name="pin-generate",
    ),
    path("patients/<int:pk>/own-account/", teen_accounts.teen_account, name="teen-account"),
    path(
        "patients/<int:pk>/own-account/parents/",
        teen_accounts.parent_level_in_person,
        name="teen-parent-level",
    ),
    path("patients/<int:patient_pk>/register/", welcome_messages.welcome_send, name="welcome-send"),
    path(
        "patients/<int:patient_pk>/contacts/<int:contact_pk>/restrict/",
        restrictions.restriction_new,
        name="restriction-new",
    ),
    path("restrictions/<int:pk>/lift/", restrictions.restriction_lift_view, name="restriction-lift"),
    path("restrictions/<int:pk>/document/", restrictions.restriction_document, name="restriction-document"),
    path("accesses/<int:pk>/basis/", restrictions.access_basis, name="access-basis"),
    path("appointments/<int:pk>/", patients.appointment_window, name="appointment"),
    path("messages/<int:pk>/", welcome_messages.welcome_message, name="welcome-message"),
    path("messages/<int:pk>/resend/", welcome_messages.welcome_resend, name="welcome-resend"),
    path("requests/", dashboard.self_registrations, name="self-registrations"),
    path("requests/<int:pk>/", self_registration.reconcile, name="reconcile"),
    path("requests/<int:pk>/authenticate/", self_registration.authenticate, name="authenticate"),
    path("requests/<int:pk>/decline/", self_registration.decline, name="decline"),
    path("requests/<int:pk>/reopen/", self_registration.reopen, name="reopen"),
    path(
        "requests/<int:pk>/add-to-account/",
        self_registration.add_to_existing_account,
        name="add-to-existing-account",
    ),
    path("duplicates/", admin_pages.duplicate_accounts, name="duplicates"),
    path("duplicates/disable/", admin_pages.disable_duplicate, name="disable-duplicate"),
    path("duplicates/accounts/<int:pk>/enable/", admin_pages.reenable_account, name="reenable-account"),
    path("audit/", admin_pages.audit_trail, name="audit"),
    path("import/", ehr_import.ehr_import, name="import"),
    path("import/help/", ehr_import.import_help, name="import-help"),
    path("import/<int:pk>/", ehr_import.import_run, name="import-run"),
    path("import/<int:pk>/progress/", ehr_import.import_run_progress, name="import-progress"),
    path("import/<int:pk>/confirm/", ehr_import.import_run_confirm, name="import-confirm"),
]

# The EHR's live feed (issue 16): its state, and each message's text, for admins.
urlpatterns += [
    path("feed/", feed.feed, name="feed"),
    path("feed/messages/<int:pk>/", feed.feed_message, name="feed-message"),
]
