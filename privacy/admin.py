from django.contrib import admin

from .models import DisposalLog, Page, RetentionRule


def _is_administrator(request) -> bool:
    return request.user.is_active and request.user.is_superuser


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    """The administrators set how long each kind of record is kept; the kinds are fixed."""

    list_display = ["kind", "days", "is_active", "updated_at"]
    fields = ["kind", "days", "basis", "is_active", "updated_at"]
    readonly_fields = ["kind", "updated_at"]

    def has_module_permission(self, request):
        return _is_administrator(request)

    def has_view_permission(self, request, obj=None):
        return _is_administrator(request)

    def has_change_permission(self, request, obj=None):
        return _is_administrator(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DisposalLog)
class DisposalLogAdmin(admin.ModelAdmin):
    """What each run of the retention schedule disposed of: read-only, for administrators."""

    list_display = ["started_at", "kind", "count", "cutoff", "trigger"]
    list_filter = ["kind"]
    readonly_fields = ["kind", "count", "cutoff", "started_at", "finished_at", "trigger"]

    def has_module_permission(self, request):
        return _is_administrator(request)

    def has_view_permission(self, request, obj=None):
        return _is_administrator(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    """The privacy notice and the accessibility statement: administrators and the OPCC
    editors (by their group's model permissions) keep the wording."""

    list_display = ["title", "slug", "updated_at"]
    fields = ["slug", "title", "body", "updated_at"]
    readonly_fields = ["slug", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
