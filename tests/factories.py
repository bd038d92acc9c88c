"""factory_boy factories for the records the EHR owns and for staff users.

Registration state (PINs, accesses, requests) is made through the service layer in tests, never here.
"""

import datetime as dt

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import ADMIN_GROUP, FRONT_DESK_GROUP, User
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration.models import SelfRegistrationRequest
from registration.services.accounts import NewAccount, portal_account_verify_email
from registration.services.self_registration import ChildDetails, self_registration_submit


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_between", start_date="-17y", end_date="-1m")
    sex = Patient.Sex.FEMALE


class FamilyContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FamilyContact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"parent{n}@example.org")
    cell_phone = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")


class PatientContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientContact

    patient = factory.SubFactory(PatientFactory)
    contact = factory.SubFactory(FamilyContactFactory)
    relationship = PatientContact.Relationship.MOTHER


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=2))
    provider = "Dr. Rivera"
    visit_type = "Well child"


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.Sequence(lambda n: f"staff{n}@practice.example")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        # get_or_create: a transactional test's flush also empties the groups the migration made.
        if create:
            self.groups.add(Group.objects.get_or_create(name=extracted or FRONT_DESK_GROUP)[0])


def admin_user() -> User:
    return StaffFactory(role=ADMIN_GROUP)


class NewAccountFactory(factory.Factory):
    """What a parent types to make a portal account: a value the services save, not a row."""

    class Meta:
        model = NewAccount

    email = factory.Sequence(lambda n: f"family{n}@example.net")
    password = "a long enough pass phrase"
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class ChildDetailsFactory(factory.Factory):
    """A child as a parent names them on the self-registration form."""

    class Meta:
        model = ChildDetails

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_between", start_date="-12y", end_date="-1m")


def confirmed_self_registration(**kwargs) -> list:
    """`self_registration_submit`, then the parent confirms the email, as a parent must before
    staff can authenticate (issue 12). The requests come back read again, with their confirmed account."""
    requests = self_registration_submit(**kwargs)
    portal_account_verify_email(account=requests[0].account)
    pks = [request.pk for request in requests]
    return list(
        SelfRegistrationRequest.objects.select_related("account__user").filter(pk__in=pks).order_by("pk")
    )
