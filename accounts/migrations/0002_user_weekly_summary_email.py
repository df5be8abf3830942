from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

# The group that stored the opt-out before this field did. Spelled out here rather than
# imported: a migration must keep working whatever later code calls things.
OPT_OUT_GROUP = "Weekly caseload summary: opted out"


def opt_outs_from_group(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Members of the opt-out group get the field off; the group then goes."""
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    User.objects.filter(groups__name=OPT_OUT_GROUP).update(weekly_summary_email=False)
    Group.objects.filter(name=OPT_OUT_GROUP).delete()


def opt_outs_to_group(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Put everyone with the field off back into the group, for code that reads it."""
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    opted_out = list(User.objects.filter(weekly_summary_email=False))
    if opted_out:
        group, _ = Group.objects.get_or_create(name=OPT_OUT_GROUP)
        group.user_set.add(*opted_out)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="weekly_summary_email",
            field=models.BooleanField(
                default=True,
                help_text=(
                    "Send the weekly summary email on Monday mornings (for a clinician, "
                    "the caseload summary)."
                ),
                verbose_name="weekly summary email",
            ),
        ),
        migrations.RunPython(opt_outs_from_group, opt_outs_to_group),
    ]
