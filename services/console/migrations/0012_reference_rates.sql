-- The reference interest rates of late-payment law (reference.interest-rates.v1), for the
-- statutory interest the customer page states per invoice and currency.
CREATE TABLE reference_interest_rates (
    kind       text NOT NULL,
    valid_from date NOT NULL,
    rate       numeric(9, 4) NOT NULL,
    PRIMARY KEY (kind, valid_from)
);
