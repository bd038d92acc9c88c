from django.contrib import admin

from patients.models import Appointment, FamilyContact, Patient, PatientContact


class PatientContactInline(admin.TabularInline):
    model = PatientContact
    extra = 0
    autocomplete_fields = ["contact"]


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["mrn", "last_name", "first_name", "date_of_birth", "sex"]
    search_fields = ["mrn", "last_name", "first_name"]
    inlines = [PatientContactInline]
    show_full_result_count = False  # a COUNT(*) over 100,000 patients on every page is wasted work


@admin.register(FamilyContact)
class FamilyContactAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "email", "cell_phone", "preferred_language"]
    search_fields = ["last_name", "first_name", "email", "cell_phone"]
    show_full_result_count = False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["starts_at", "patient", "provider", "visit_type", "status"]
    list_select_related = ["patient"]
    list_filter = ["status", "visit_type"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["patient"]
    show_full_result_count = False
