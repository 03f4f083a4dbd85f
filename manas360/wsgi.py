import os

from django.core.wsgi import get_wsgi_application

from manas360.request_limits import RequestLimits

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "manas360.settings")

# Requests over the size limits answer the JSON envelope before Django runs (manas360/request_limits.py).
application = RequestLimits(get_wsgi_application())
