"""Retraining: when a charter's trigger fires, train a challenger on live data and put it in shadow.

- :mod:`.retrain`: the triggers, the run and its record;
- :mod:`.training`: the boundary around the user's training code.
"""
