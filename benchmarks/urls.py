"""The portal's URLs plus one bare view: the yardstick the report form's throughput is read
against (benchmarks/pages.py). Only the benchmark uses this URLconf."""

from django.http import HttpResponse
from django.urls import path

from dorset_bcp.urls import urlpatterns as portal_urlpatterns


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare), *portal_urlpatterns]
