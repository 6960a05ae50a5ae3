from celery import shared_task

from dorset_bcp.celery import RETRY

from . import services
from .models import RetentionRule

# The kinds this job disposes of; unconfirmed guest reports and sent emails keep their own
# nightly jobs (engagement.tasks), which apply the same schedule.
SCHEDULED_HERE: list[str] = [RetentionRule.Kind.CLOSED_CONCERNS, RetentionRule.Kind.EXPORT_FILES]


@shared_task(ignore_result=True, **RETRY)
def build_data_export(export_id: int) -> bool:
    return services.export_build(export_id=export_id)


@shared_task(ignore_result=True, **RETRY)
def build_pending_data_exports() -> int:
    return services.export_build_pending()


@shared_task(ignore_result=True, **RETRY)
def apply_retention_schedule() -> dict[str, int]:
    return services.retention_run(kinds=SCHEDULED_HERE)
