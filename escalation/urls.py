from django.urls import path, register_converter

from . import views

app_name = "escalation"


class ItemKindConverter:
    """/partnership/concerns/12/ and /partnership/themes/3/ → kind "concern" or "theme"."""

    regex = "concerns|themes"

    def to_python(self, value):
        return value[:-1]

    def to_url(self, value):
        return f"{value}s"


register_converter(ItemKindConverter, "item_kind")

urlpatterns = [
    path("", views.queue, name="queue"),
    path("insight/", views.insight_page, name="insight"),
    path("insight/<slug:name>.csv", views.insight_csv, name="insight_csv"),
    path("<item_kind:kind>/<int:pk>/", views.item_detail, name="item"),
    path("<item_kind:kind>/<int:pk>/decide/", views.item_decide, name="decide"),
    path("<item_kind:kind>/<int:pk>/escalate/", views.item_escalate, name="escalate"),
    path("<item_kind:kind>/<int:pk>/return/", views.item_return, name="return"),
    path("<item_kind:kind>/<int:pk>/resolve/", views.item_resolve, name="resolve"),
    path(
        "<item_kind:kind>/<int:pk>/actions/<int:action_pk>/done/",
        views.action_done,
        name="action_done",
    ),
]
