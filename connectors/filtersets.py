from django.db.models import Q

from connectors.models import ConnectorAccount, ConnectorInstance, ConnectorTarget, SyncEvent
from plexica.api.query import CharFilter, ChoiceFilter, StrictFilterSet, WholeNumberFilter


class ConnectorAccountFilterSet(StrictFilterSet):
    status = ChoiceFilter(choices=ConnectorAccount.Status.choices)
    installationId = WholeNumberFilter(field_name="installation_id")

    class Meta:
        model = ConnectorAccount
        fields = []


class ConnectorInstanceFilterSet(StrictFilterSet):
    status = ChoiceFilter(choices=ConnectorInstance.Status.choices)
    accountId = CharFilter(field_name="account_id", label="Only instances of this account (cac_...)")
    q = CharFilter(method="search", label="Search in name and description")

    class Meta:
        model = ConnectorInstance
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class ConnectorTargetFilterSet(StrictFilterSet):
    status = ChoiceFilter(choices=ConnectorTarget.Status.choices)

    class Meta:
        model = ConnectorTarget
        fields = []


class SyncEventFilterSet(StrictFilterSet):
    target = CharFilter(field_name="target_id", label="Only events of this target (ctg_...)")
    instance = CharFilter(field_name="target__instance_id",
                          label="Only events of this instance's targets (cin_...)")
    status = ChoiceFilter(choices=SyncEvent.Status.choices)
    eventType = ChoiceFilter(field_name="event_type", choices=SyncEvent.Type.choices)
    trigger = ChoiceFilter(choices=SyncEvent.Trigger.choices)

    class Meta:
        model = SyncEvent
        fields = []
