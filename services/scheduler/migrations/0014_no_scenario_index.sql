-- The active invoices' index by scenario goes. Every tick's progress update writes a new
-- row version of each invoice it moves (its timer is indexed, so the update is never HOT),
-- and with it an entry in each of the table's indexes; in this one, all of a scenario's
-- invoices share one key, so on a book whose free room is spread across the table (any
-- book after months of ticks and vacuums) each entry goes into the middle of a long run of
-- equal keys: a fifth to a third of the update's cost. Its only readers are the library's
-- re-planning (the invoices of the scenarios a new version changes) and the first accepted
-- library's legacy positions, both rare, and a re-planning already reads the whole active
-- book for the orphans of removed scenarios; without the index it reads it once more.
DROP INDEX IF EXISTS dunning_invoice_scenario;
