-- Operators' actions besides collectors' commands, for the audit trail without personal data:
-- sending suspended and resumed (dunning.sending.suspended / resumed), campaigns sent
-- (dunning.campaign.launched). Who: the role (operators act from the command line as
-- administrators), not the name, which stays on the topic and in the scheduler's tables;
-- no free text (a suspension's reason). What changed: the state before and after.
CREATE TABLE operator_action (
    event_id       uuid PRIMARY KEY,
    action         text NOT NULL,          -- sending_suspended, sending_resumed, campaign_launched
    company_codes  text[] NOT NULL,        -- empty: every company
    actor_role     text NOT NULL,
    at             timestamptz NOT NULL,
    state_before   text NOT NULL,          -- sending, suspended, or for a campaign: not_sent
    state_after    text NOT NULL,          -- suspended, sending, or for a campaign: sent
    suspension_id  uuid,                   -- a suspension, and the resumption that ends it
    campaign_id    text,
    template       text,
    level          text,
    channel        text,
    customers      integer,                -- a campaign: customers reached
    invoices       integer                 -- a campaign: invoices reached
);
CREATE INDEX operator_action_at ON operator_action (at);

-- A logged call's outcome (log_call), among the commands' non-personal arguments.
ALTER TABLE audit_event ADD COLUMN call_outcome text;

-- The audit trail in one place: collectors' commands (audit_event) and operators' actions.
CREATE VIEW audit_trail AS
SELECT command_id AS action_id, 'command' AS source, command AS action,
       ARRAY[company_code] AS company_codes, customer_id, actor_role,
       executed_at AS at, NULL::text AS state_before, NULL::text AS state_after,
       invoices
FROM audit_event
UNION ALL
SELECT event_id, 'operator', action, company_codes, NULL, actor_role,
       at, state_before, state_after, invoices
FROM operator_action;
