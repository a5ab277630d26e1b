"""The scheduler service: dunning scenarios, segmentation and durable timers; reminder-due and escalation events out."""
