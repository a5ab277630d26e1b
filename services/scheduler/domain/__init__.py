"""Pure scheduling rules: scenarios, assignment, calendars, step progress, the invoice state and
its transitions, the tick's contact rule and campaigns. No I/O: shells read and write.
"""
