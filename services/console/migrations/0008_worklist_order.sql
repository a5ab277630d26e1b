-- My day reads each source in its final order (money at risk, then since) and stops at the
-- limit: one index per source in that order, over the rows My day lists.
CREATE INDEX proposals_waiting_at_risk ON proposals (at_risk DESC, deadline)
    WHERE decision IS NULL;
CREATE INDEX promises_broken_at_risk ON promises (amount DESC, promised_date)
    WHERE state = 'broken';
CREATE INDEX plans_missed_at_risk ON plans (missed_amount DESC, last_missed_on)
    WHERE state = 'agreed' AND missed > 0;
CREATE INDEX disputes_open_at_risk ON disputes (at_risk DESC NULLS LAST, due_date)
    WHERE state = 'open';
CREATE INDEX deliveries_trouble_at_risk ON deliveries (at_risk DESC NULLS LAST, at)
    WHERE outcome IN ('failed', 'bounced');
CREATE INDEX unmatched_cash_at_risk ON unmatched_cash (amount DESC, value_date)
    WHERE cleared_at IS NULL;
CREATE INDEX reminders_calls_at_risk ON reminders (at_risk DESC NULLS LAST, scheduled_for)
    WHERE channel = 'phone_call' AND closed_at IS NULL;
