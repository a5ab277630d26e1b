-- The console's own audit log: what no command records. Sign-ins (signed in, refused,
-- throttled; local or through the identity provider), sign-outs, language choices, and
-- the requests refused (a role or portfolio that does not allow them, a form without its
-- anti-forgery token). Who: the subject signed in, or for a refused sign-in the login
-- typed (never a password); from which address; when.
CREATE TABLE audit_log (
    audit_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL,
    action   text NOT NULL,
    outcome  text NOT NULL,
    subject  text,
    login    text,
    address  text,
    detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at DESC);

-- Every action taken in the console, in one place: the log above; each command it sent
-- (sent_command: a customer's actions, call and call-back outcomes, proposals' decisions,
-- suspensions and campaigns), sent, executed by the scheduler, or refused by it (its dead
-- letter, read by the census); each decision on a plan a customer proposed (sent on
-- disputes.commands.v1, kept on plan_proposals).
CREATE VIEW audit_trail AS
SELECT l.at, l.action, l.outcome, l.subject, l.login, l.address, NULL::text AS customer_id,
       l.detail
FROM audit_log l
UNION ALL
SELECT s.requested_at, 'command.' || s.command,
       CASE WHEN s.executed_at IS NOT NULL THEN 'executed'
            WHEN r.command_id IS NOT NULL THEN 'refused'
            ELSE 'sent' END,
       s.actor_subject, NULL, NULL, nullif(s.customer_id, ''),
       jsonb_build_object('command_id', s.command_id, 'invoice_id', s.invoice_id,
                          'reason', r.reason) || s.facts
FROM sent_command s LEFT JOIN refused_commands r USING (command_id)
UNION ALL
SELECT p.sent_at, 'plan_proposal.' || p.sent_decision, p.state, p.sent_by, NULL, NULL,
       p.customer_id,
       jsonb_build_object('proposal_id', p.proposal_id, 'command_id', p.sent_command_id)
FROM plan_proposals p WHERE p.sent_decision IS NOT NULL;
