"""The scheduler service.

Dunning scenarios, segmentation and durable timers; reminder-due and escalation events out.
"""
