"""The API's shapes for programs, groups, enrolments and one exercise for several clients.

Serializers parse and present; every rule is in programs.services, so the API refuses
exactly what the pages refuse, with the same field messages.
"""

from rest_framework import serializers

from accounts.models import Role
from homework.models import ScheduleKind
from programs.models import Delivery, Enrolment, Group, Program


class ItemSerializer(serializers.Serializer):
    exercise = serializers.IntegerField(help_text="An exercise id of your library.")
    schedule_kind = serializers.ChoiceField(choices=ScheduleKind.choices)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        default=list,
        max_length=7,
        help_text="0 = Monday … 6 = Sunday; for “weekdays” only.",
    )
    times_per_week = serializers.IntegerField(
        min_value=1, max_value=7, required=False, allow_null=True, default=None
    )


class WeekSerializer(serializers.Serializer):
    number = serializers.IntegerField(read_only=True)
    theme = serializers.CharField(max_length=200, allow_blank=True)
    intro = serializers.CharField(allow_blank=True, required=False, default="", max_length=5000)
    rationale = serializers.CharField(allow_blank=True, required=False, default="", max_length=5000)
    instrument = serializers.CharField(
        allow_blank=True,
        required=False,
        default="",
        max_length=32,
        help_text="A questionnaire code such as SCS-SF, asked when the week opens.",
    )
    from_what_helps = serializers.BooleanField(
        required=False,
        default=False,
        help_text="When the week opens, give each client the practices that helped them most "
        "(their own “what helps”) on these items' schedules; these items when there is not "
        "enough data yet.",
    )
    items = ItemSerializer(many=True, allow_empty=True, max_length=20)


class ProgramSerializer(serializers.ModelSerializer):
    builtin = serializers.BooleanField(source="is_builtin", read_only=True)
    version = serializers.IntegerField(read_only=True, allow_null=True)
    weeks = WeekSerializer(many=True, max_length=26)
    delivery = serializers.ChoiceField(choices=Delivery.choices, default=Delivery.ON_DATE)
    practices_to_advance = serializers.IntegerField(
        min_value=1, max_value=49, required=False, allow_null=True, default=None
    )

    class Meta:
        model = Program
        fields = [
            "id",
            "title",
            "summary",
            "builtin",
            "delivery",
            "practices_to_advance",
            "version",
            "weeks",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "builtin", "version", "created_at", "updated_at"]
        extra_kwargs = {"summary": {"required": False, "default": ""}}

    def to_representation(self, program: Program) -> dict:
        version = getattr(program, "latest_version", None)
        weeks = version.weeks if version else []
        moment = serializers.DateTimeField()
        data = {
            "id": program.pk,
            "title": program.title,
            "summary": program.summary,
            "builtin": program.is_builtin,
            "delivery": program.delivery,
            "practices_to_advance": program.practices_to_advance,
            "version": version.number if version else None,
            "created_at": moment.to_representation(program.created_at),
            "updated_at": moment.to_representation(program.updated_at),
        }
        data["weeks"] = [
            {
                **{k: w[k] for k in ("number", "theme", "intro", "rationale", "instrument")},
                "from_what_helps": w.get("from_what_helps", False),
                "items": [
                    {
                        "exercise": i["exercise_id"],
                        "schedule_kind": i["schedule_kind"],
                        "weekdays": i["weekdays"],
                        "times_per_week": i["times_per_week"],
                    }
                    for i in w["items"]
                ],
            }
            for w in weeks
        ]
        return data


class GroupSerializer(serializers.ModelSerializer):
    members = serializers.ListField(
        child=serializers.IntegerField(),
        max_length=1000,
        help_text="Ids of clients on your caseload.",
    )

    class Meta:
        model = Group
        fields = ["id", "name", "members", "created_at"]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, group: Group) -> dict:
        return {
            "id": group.pk,
            "name": group.name,
            "members": sorted(m.pk for m in group.members.all()),
            "created_at": serializers.DateTimeField().to_representation(group.created_at),
        }


class EnrolmentSerializer(serializers.ModelSerializer):
    week_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "program",
            "client",
            "group",
            "start_date",
            "current_week",
            "week_count",
            "current_week_on",
            "next_week_on",
            "status",
            "blocked_week",
            "blocked_reason",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "blocked_week": {"help_text": "The week that could not open, if one could not."},
            "blocked_reason": {
                "help_text": "Why that week could not open (an archived exercise, a "
                "discharged client…); it opens once this is resolved. Blank otherwise."
            },
        }

    def to_representation(self, enrolment: Enrolment) -> dict:
        data = super().to_representation(enrolment)
        request = self.context.get("request")
        if request is not None and request.user.role == Role.CLIENT:
            # Written for the clinician ("restore it in the library"): not the client's.
            data["blocked_week"], data["blocked_reason"] = None, ""
        return data


class ClientsOrGroupSerializer(serializers.Serializer):
    clients = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, max_length=1000
    )
    group = serializers.IntegerField(required=False, allow_null=True, default=None)

    def validate(self, data: dict) -> dict:
        if not data["clients"] and data["group"] is None:
            raise serializers.ValidationError(
                {"clients": ["Choose a group or at least one client."]}
            )
        return data


class EnrolmentCreateSerializer(ClientsOrGroupSerializer):
    program = serializers.IntegerField()
    start_date = serializers.DateField()


class BulkAssignmentSerializer(ClientsOrGroupSerializer):
    exercise = serializers.IntegerField()
    schedule_kind = serializers.ChoiceField(choices=ScheduleKind.choices)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        default=list,
        max_length=7,
    )
    times_per_week = serializers.IntegerField(
        min_value=1, max_value=7, required=False, allow_null=True, default=None
    )
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class BulkAssignmentResultSerializer(serializers.Serializer):
    assignments = serializers.ListField(child=serializers.IntegerField())
