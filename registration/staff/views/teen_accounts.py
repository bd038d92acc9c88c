"""The patient's own account (issue 15): the policy, the patient's own email and phone, their choice."""

from django.shortcuts import get_object_or_404, render

from accounts.roles import staff_member_required
from patients.models import Patient
from registration.access_policy import access_policy


@staff_member_required
def teen_account(request, pk):
    patient = get_object_or_404(Patient, pk=pk)
    return render(request, "staff/teen_account.html", {"patient": patient, "policy": access_policy()})
