"""The owner's dashboard: server-rendered pages over the same service functions as the API.

:mod:`.sessions` turns an API token into a signed-in browser session (and checks CSRF tokens),
:mod:`.pages` composes what each page shows from charter's services, :mod:`.routes` renders the
Jinja2 templates shipped in ``templates/`` and serves ``static/``. Nothing is fetched from the
network: the pages work offline.
"""
