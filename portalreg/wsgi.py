"""The WSGI application gunicorn serves (production settings unless DJANGO_SETTINGS_MODULE says otherwise)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portalreg.settings.production")

application = get_wsgi_application()

# Everything loaded so far lives as long as the worker: moved out of the garbage collector's sight, it
# is no longer walked by every full collection (this halved a prototype dashboard's 95th percentile).
gc.collect()
gc.freeze()
