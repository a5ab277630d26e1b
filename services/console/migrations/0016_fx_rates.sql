-- The latest exchange rate of each currency pair (reference.fx-rates.v1), to rank My day
-- across currencies: units of the quote currency for one unit of the base currency. A rate
-- for an earlier day than the one kept is ignored; one for the same day corrects it.
CREATE TABLE fx_rates (
    base_currency  char(3) NOT NULL,
    quote_currency char(3) NOT NULL,
    valid_on       date NOT NULL,
    rate           numeric(24, 12) NOT NULL CHECK (rate > 0),
    PRIMARY KEY (base_currency, quote_currency)
);

-- How one unit of a currency converts into another with the latest rates: the direct rate,
-- else the inverse of the reverse one, else through one currency both have a rate with
-- (rates published against the euro convert US dollars into pounds); the direct way first,
-- then the newest. A currency into itself is not listed (1). A few dozen pairs: the
-- worklist reads it once per query, as a hash table.
CREATE VIEW fx_conversions AS
WITH one_step AS (
    SELECT base_currency::text AS from_currency, quote_currency::text AS to_currency,
           rate, valid_on, 0 AS preference
    FROM fx_rates
    UNION ALL
    SELECT quote_currency::text, base_currency::text, 1 / rate, valid_on, 1
    FROM fx_rates
), two_steps AS (
    SELECT a.from_currency, b.to_currency, a.rate * b.rate AS rate,
           least(a.valid_on, b.valid_on) AS valid_on, 2 + a.preference + b.preference
    FROM one_step a JOIN one_step b
      ON b.from_currency = a.to_currency AND b.to_currency <> a.from_currency
)
SELECT DISTINCT ON (from_currency, to_currency) from_currency, to_currency, rate, valid_on
FROM (SELECT * FROM one_step UNION ALL SELECT * FROM two_steps) AS r
ORDER BY from_currency, to_currency, preference, valid_on DESC;

-- My day reads each source per currency in the order of its money at risk, converted (one
-- look-up per currency with a rate, stopping at the limit): beside the indexes of 0008 (the
-- money at risk alone: the currencies without a rate), one on (currency, money at risk).
CREATE INDEX proposals_waiting_currency_at_risk ON proposals (currency, at_risk DESC, deadline)
    WHERE decision IS NULL;
CREATE INDEX promises_broken_currency_at_risk ON promises (currency, amount DESC, promised_date)
    WHERE state = 'broken';
CREATE INDEX plans_missed_currency_at_risk
    ON plans (missed_currency, missed_amount DESC, last_missed_on)
    WHERE state = 'agreed' AND missed > 0;
CREATE INDEX disputes_open_currency_at_risk
    ON disputes (at_risk_currency, at_risk DESC NULLS LAST, due_date)
    WHERE state = 'open';
CREATE INDEX deliveries_trouble_currency_at_risk
    ON deliveries (at_risk_currency, at_risk DESC NULLS LAST, at)
    WHERE outcome IN ('failed', 'bounced');
CREATE INDEX unmatched_cash_currency_at_risk ON unmatched_cash (currency, amount DESC, value_date)
    WHERE cleared_at IS NULL;
CREATE INDEX reminders_calls_currency_at_risk
    ON reminders (at_risk_currency, at_risk DESC NULLS LAST, scheduled_for)
    WHERE channel = 'phone_call' AND closed_at IS NULL;
