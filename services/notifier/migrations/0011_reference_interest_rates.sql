-- The reference interest rates of late-payment law (ECB main refinancing rate, German base
-- rate, Bank of England rate), from reference.interest-rates.v1: each in force from
-- valid_from until the next one of its kind. Statements compute interest from them.
CREATE TABLE reference_interest_rates (
    kind        text NOT NULL,
    valid_from  date NOT NULL,
    rate        numeric(9, 4) NOT NULL,
    PRIMARY KEY (kind, valid_from)
);
