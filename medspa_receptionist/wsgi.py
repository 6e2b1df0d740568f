"""
WSGI config for medspa_receptionist project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medspa_receptionist.settings")

application = get_wsgi_application()

# Everything loaded so far lives as long as the process: keep the garbage collector from walking it
# again and again (full collections of it took ~60 ms, a visible pause in a page; benchmarks/README.md).
gc.freeze()
