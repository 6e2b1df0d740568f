"""Factories for every model the tests build, in one place."""

from datetime import time, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from practices.models import (
    BusinessHours,
    ConsentEvent,
    Location,
    Membership,
    Patient,
    PhoneNumber,
    Practice,
    Provider,
    ProviderShift,
    Resource,
    Service,
    StaffMember,
)


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")
    brand_name = factory.LazyAttribute(lambda o: f"{o.name} Aesthetics")
    time_zone = "America/New_York"
    min_notice_minutes = 0


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    practice = factory.SubFactory(PracticeFactory)
    name = factory.Sequence(lambda n: f"Location {n}")
    slug = factory.Sequence(lambda n: f"location-{n}")
    address = "1 Main St, New York, NY 10001"
    time_zone = "America/New_York"
    phone = "+12125550143"


class BusinessHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessHours

    location = factory.SubFactory(LocationFactory)
    weekday = 0
    opens_at = time(9)
    closes_at = time(17)


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    practice = factory.SubFactory(PracticeFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    category = Service.Category.SKIN
    duration_minutes = 60
    buffer_after_minutes = 0
    price_min = Decimal("100")
    price_max = Decimal("200")


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    practice = factory.SubFactory(PracticeFactory)
    first_name = factory.Sequence(lambda n: f"Provider{n}")
    last_name = "Smith"
    credential = Provider.Credential.RN


class ProviderShiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderShift

    provider = factory.SubFactory(ProviderFactory)
    location = factory.SubFactory(LocationFactory)
    weekday = 0
    starts_at = time(9)
    ends_at = time(17)


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    practice = factory.SubFactory(PracticeFactory)
    location = factory.SubFactory(LocationFactory, practice=factory.SelfAttribute("..practice"))
    name = factory.Sequence(lambda n: f"Room {n}")
    kind = Resource.Kind.ROOM
    capacity = 1


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    practice = factory.SubFactory(PracticeFactory)
    first_name = factory.Sequence(lambda n: f"Pat{n}")
    last_name = "Lee"
    phone = factory.Sequence(lambda n: f"+1212555{1000 + n:04d}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    practice = factory.SubFactory(PracticeFactory)
    patient = factory.SubFactory(PatientFactory, practice=factory.SelfAttribute("..practice"))
    plan = "Glow Club"


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    practice = factory.SubFactory(PracticeFactory)
    location = factory.SubFactory(LocationFactory, practice=factory.SelfAttribute("..practice"))
    number = factory.Sequence(lambda n: f"+1646555{2000 + n:04d}")
    forwards_to = "+12125550143"


class ConsentEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentEvent

    practice = factory.SubFactory(PracticeFactory)
    phone = "+12125550171"
    kind = ConsentEvent.Kind.OPT_OUT
    source = ConsentEvent.Source.SMS_KEYWORD
    told = "You're unsubscribed."


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("a-long-test-password")


class StaffMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    practice = factory.SubFactory(PracticeFactory)
    role = StaffMember.Role.FRONT_DESK

    @factory.post_generation
    def sync_access(self, create, extracted, **kwargs):
        if create:
            from practices.roles import staff_member_sync_access

            staff_member_sync_access(self)


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A raw row, for tests that need a visit in place without the booking engine's checks."""

    class Meta:
        model = "booking.Appointment"

    practice = factory.SubFactory(PracticeFactory)
    location = factory.SubFactory(LocationFactory, practice=factory.SelfAttribute("..practice"))
    patient = factory.SubFactory(PatientFactory, practice=factory.SelfAttribute("..practice"))
    service = factory.SubFactory(ServiceFactory, practice=factory.SelfAttribute("..practice"))
    provider = factory.SubFactory(ProviderFactory, practice=factory.SelfAttribute("..practice"))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(minutes=o.service.duration_minutes))
    blocks_until = factory.LazyAttribute(lambda o: o.ends_at + timedelta(minutes=o.service.buffer_after_minutes))
    source = "staff"
