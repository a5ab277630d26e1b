-- The addresses a delivery left out because they opted out (an SMS STOP, a bounce's
-- unsubscribe): the others still receive it. Empty when nobody was left out; a delivery
-- whose every recipient opted out is suppressed (reason ``opted_out``) instead.
ALTER TABLE deliveries ADD COLUMN opted_out_recipients text[] NOT NULL DEFAULT '{}';
