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
