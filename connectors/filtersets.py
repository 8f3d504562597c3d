import django_filters
from django.db.models import Q

from connectors.models import ConnectorAccount, ConnectorInstance, ConnectorTarget, SyncEvent


class ConnectorAccountFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ConnectorAccount.Status.choices)
    installationId = django_filters.NumberFilter(field_name="installation_id")

    class Meta:
        model = ConnectorAccount
        fields = []


class ConnectorInstanceFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ConnectorInstance.Status.choices)
    accountId = django_filters.CharFilter(field_name="account_id",
                                          label="Only instances of this account (cac_...)")
    q = django_filters.CharFilter(method="search", label="Search in name and description")

    class Meta:
        model = ConnectorInstance
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class ConnectorTargetFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ConnectorTarget.Status.choices)

    class Meta:
        model = ConnectorTarget
        fields = []


class SyncEventFilterSet(django_filters.FilterSet):
    target = django_filters.CharFilter(field_name="target_id", label="Only events of this target (ctg_...)")
    instance = django_filters.CharFilter(field_name="target__instance_id",
                                         label="Only events of this instance's targets (cin_...)")
    status = django_filters.ChoiceFilter(choices=SyncEvent.Status.choices)
    eventType = django_filters.ChoiceFilter(field_name="event_type", choices=SyncEvent.Type.choices)
    trigger = django_filters.ChoiceFilter(choices=SyncEvent.Trigger.choices)

    class Meta:
        model = SyncEvent
        fields = []
