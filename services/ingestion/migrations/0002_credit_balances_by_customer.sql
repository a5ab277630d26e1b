-- Each batch reads the credit balances of the customers it touches by customer id alone;
-- the primary key starts with the company code, so that read was a sequential scan that
-- compared every row with every customer of the batch: on a million-event run it was the
-- costliest statement of a batch (23 µs of PostgreSQL CPU per ERP event) and grew with
-- the number of customers.
CREATE INDEX credit_balances_by_customer ON credit_balances (customer_id);
