"""Alerts: raised by rules, de-duplicated, delivered to the charter's routes, acked and resolved.

- :mod:`.raising`: raise, de-duplicate, acknowledge, resolve, list; test-fire a charter's routes;
- :mod:`.windows`: the alerts a monitoring run raises from its windows;
- :mod:`.delivery`: delivering one alert to one route (webhook, email, log), with retries;
- :mod:`.delivery_log`: the stored record of every delivery attempt.
"""
