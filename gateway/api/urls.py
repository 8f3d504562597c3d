from django.urls import path

from gateway.api.views import CallView

app_name = "gateway-api"

urlpatterns = [path("call", CallView.as_view(), name="call")]
