import booking.db
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0006_dead_letters"),
    ]

    operations = [
        # PostgreSQL only: SQLite does not enforce the length, and its table rebuild cannot build
        # the NULLS LAST index this table carries there.
        booking.db.PostgresOnlyAlterField(
            model_name="conversation",
            name="phone",
            field=models.CharField(
                help_text="The thread's address: an E.164 phone, or an email for email threads.", max_length=254
            ),
        ),
    ]
