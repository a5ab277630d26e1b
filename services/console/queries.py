"""Every SQL statement of the console, named and parameterised, in one place.

The first half keeps the read model (the projection's statements), the second half reads
it for the pages. Each statement runs with the service's schema first in ``search_path``.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- the projection -------------------------------------------------------------------

UPSERT_CUSTOMER = """
INSERT INTO customers (customer_id, company_code, version, name, country, language,
                       customer_type, market, risk_rating, payer_profile, collector_code,
                       contacts, tags)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (customer_id) DO UPDATE SET
    company_code = EXCLUDED.company_code, version = EXCLUDED.version, name = EXCLUDED.name,
    country = EXCLUDED.country, language = EXCLUDED.language,
    customer_type = EXCLUDED.customer_type, market = EXCLUDED.market,
    risk_rating = EXCLUDED.risk_rating, payer_profile = EXCLUDED.payer_profile,
    collector_code = EXCLUDED.collector_code, contacts = EXCLUDED.contacts,
    tags = EXCLUDED.tags
WHERE customers.version <= EXCLUDED.version
"""

# The money at risk of My day's items: the open amount of their invoices in the currency
# holding the most. Refreshed for one item when it is recorded or changes ($1 its id), and
# for the items holding an invoice whose open amount changed ($1 the invoice).
_AT_RISK_OF = """(SELECT i.currency, sum(i.open_amount) FROM invoices i
    WHERE i.status = 'open' AND i.invoice_id = ANY({alias}.invoice_ids)
    GROUP BY i.currency ORDER BY 2 DESC LIMIT 1)"""

DISPUTE_AT_RISK = f"""
UPDATE disputes d SET (at_risk_currency, at_risk) = {_AT_RISK_OF.format(alias="d")}
WHERE d.dispute_id = $1
"""
DELIVERY_AT_RISK = f"""
UPDATE deliveries v SET (at_risk_currency, at_risk) = {_AT_RISK_OF.format(alias="v")}
WHERE v.delivery_id = $1
"""
REMINDER_AT_RISK = f"""
UPDATE reminders t SET (at_risk_currency, at_risk) = {_AT_RISK_OF.format(alias="t")}
WHERE t.reminder_id = $1 AND t.channel = 'phone_call'
"""
INVOICE_AT_RISK = [
    f"""UPDATE disputes d SET (at_risk_currency, at_risk) = {_AT_RISK_OF.format(alias="d")}
WHERE d.state = 'open' AND d.invoice_ids @> ARRAY[$1::text]""",
    f"""UPDATE deliveries v SET (at_risk_currency, at_risk) = {_AT_RISK_OF.format(alias="v")}
WHERE v.outcome IN ('failed', 'bounced') AND v.invoice_ids @> ARRAY[$1::text]""",
    f"""UPDATE reminders t SET (at_risk_currency, at_risk) = {_AT_RISK_OF.format(alias="t")}
WHERE t.channel = 'phone_call' AND t.closed_at IS NULL AND t.invoice_ids @> ARRAY[$1::text]""",
]

RECORD_SEGMENT = """
INSERT INTO customer_segments (company_code, collector_code, market) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING
"""

OPEN_INVOICE = """
INSERT INTO invoices (invoice_id, customer_id, company_code, invoice_number, issue_date,
                      due_date, currency, amount, open_amount, status, late_interest_rate)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10)
ON CONFLICT (invoice_id) DO UPDATE SET
    due_date = EXCLUDED.due_date, amount = EXCLUDED.amount,
    open_amount = EXCLUDED.open_amount, status = 'open',
    late_interest_rate = EXCLUDED.late_interest_rate
"""

CHANGE_OPEN_AMOUNT = """
UPDATE invoices SET open_amount = $2, due_date = $3, amount = $4, status = 'open'
WHERE invoice_id = $1
"""

CLOSE_INVOICE = """
UPDATE invoices SET open_amount = 0, status = $2, closed_on = $3 WHERE invoice_id = $1
"""

DUNNING_STATE = """
UPDATE invoices SET scenario_id = $2, step_name = $3, level = $4, paused = $5,
                    pause_reason = $6, next_action_at = $7, paused_until = $8,
                    next_step_name = $9, next_level = $10, next_channel = $11
WHERE invoice_id = $1
"""

RECORD_REMINDER = """
INSERT INTO reminders (reminder_id, customer_id, company_code, channel, level, step_name,
                       scheduled_for, invoice_ids, scenario_id, template)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (reminder_id) DO NOTHING
"""

# A phone reminder the notifier turned into a call task (delivery.sent by provider
# call_task, its tracking id the task's id): the id the outcome form closes.
CALL_TASK_CREATED = "UPDATE reminders SET call_task_id = $2 WHERE reminder_id = $1"

CLOSE_CALL_TASK = "UPDATE reminders SET call_outcome = $2, closed_at = $3 WHERE reminder_id = $1"

# A call logged with the log_call command answering a call reminder: the call is made.
CALL_LOGGED = """
UPDATE reminders SET call_outcome = $2, closed_at = $3
WHERE reminder_id = $1 AND closed_at IS NULL
"""

RECORD_DELIVERY = """
INSERT INTO deliveries (delivery_id, reminder_id, customer_id, channel, outcome, reason,
                        invoice_ids, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (delivery_id) DO UPDATE SET
    outcome = EXCLUDED.outcome, reason = EXCLUDED.reason, at = EXCLUDED.at
WHERE deliveries.at <= EXCLUDED.at
"""

OPEN_DISPUTE = """
INSERT INTO disputes (dispute_id, customer_id, invoice_ids, whole_account, category,
                      owner_role, owner, due_date, state, opened_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9)
ON CONFLICT (dispute_id) DO NOTHING
"""

RESOLVE_DISPUTE = "UPDATE disputes SET state = 'resolved' WHERE dispute_id = $1"

REOPEN_DISPUTE = """
UPDATE disputes SET state = 'open', owner_role = $2, owner = $3, due_date = $4,
                    invoice_ids = $5
WHERE dispute_id = $1
"""

MAKE_PROMISE = """
INSERT INTO promises (promise_id, customer_id, invoice_ids, promised_date, currency, amount,
                      state, made_at, recorded_by)
VALUES ($1, $2, $3, $4, $5, $6, 'made', $7, $8)
ON CONFLICT (promise_id) DO NOTHING
"""

CLOSE_PROMISE = "UPDATE promises SET state = $2, closed_at = $3 WHERE promise_id = $1"

AGREE_PLAN = """
INSERT INTO plans (plan_id, customer_id, invoice_ids, state, agreed_on, agreed_by,
                   instalments)
VALUES ($1, $2, $3, 'agreed', $4, $5, $6)
ON CONFLICT (plan_id) DO NOTHING
"""

MISS_INSTALMENT = """
UPDATE plans SET missed = missed + 1, last_missed_on = $2, missed_currency = $3,
                 missed_amount = $4
WHERE plan_id = $1
"""

RECORD_UNMATCHED_CASH = """
INSERT INTO unmatched_cash (kind, document_id, customer_id, company_code, currency, amount,
                            value_date, awaiting, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (kind, document_id) DO UPDATE SET
    amount = EXCLUDED.amount, awaiting = EXCLUDED.awaiting, outcome = NULL, cleared_at = NULL
"""

CLEAR_UNMATCHED_CASH = """
UPDATE unmatched_cash SET outcome = $3, cleared_at = $4 WHERE kind = $1 AND document_id = $2
"""

# Once per topic and batch: the newest event applied.
TOPIC_FRESHNESS = """
INSERT INTO topic_freshness (topic, last_occurred_at, last_applied_at, events)
VALUES ($1, $2, $3, $4)
ON CONFLICT (topic) DO UPDATE SET
    last_occurred_at = greatest(topic_freshness.last_occurred_at, EXCLUDED.last_occurred_at),
    last_applied_at = EXCLUDED.last_applied_at,
    events = topic_freshness.events + EXCLUDED.events
"""

CLOSE_PLAN = "UPDATE plans SET state = $2 WHERE plan_id = $1"

ADD_TIMELINE_ENTRY = """
INSERT INTO timeline (event_id, customer_id, at, kind, facts) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (event_id) DO NOTHING
"""

# A call logged through this console: the entry also gets what the console kept with the
# command it sent (the note, the contact called, the invoices' numbers), which the
# scheduler's audit event leaves out ($6: the command id).
ADD_LOGGED_CALL_ENTRY = """
INSERT INTO timeline (event_id, customer_id, at, kind, facts)
SELECT $1, $2, $3, $4, $5::jsonb || COALESCE(
    (SELECT jsonb_strip_nulls(jsonb_build_object(
         'note', s.facts -> 'note', 'called', s.facts -> 'called',
         'numbers', s.facts -> 'numbers'))
     FROM sent_command s WHERE s.command_id = $6), '{}'::jsonb)
ON CONFLICT (event_id) DO NOTHING
"""

# --- a run of ledger events, set-based (services/console/ledger_run.py) ---------------
# Each statement applies a layer's worth of one of the per-event statements above (one row
# per invoice at most), its arguments one array per column, in that statement's order.

OPEN_INVOICES = """
INSERT INTO invoices (invoice_id, customer_id, company_code, invoice_number, issue_date,
                      due_date, currency, amount, open_amount, status, late_interest_rate)
SELECT u.invoice_id, u.customer_id, u.company_code, u.invoice_number, u.issue_date,
       u.due_date, u.currency, u.amount, u.open_amount, 'open', u.late_interest_rate
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], $6::date[],
            $7::text[], $8::numeric[], $9::numeric[], $10::numeric[])
     AS u(invoice_id, customer_id, company_code, invoice_number, issue_date, due_date,
          currency, amount, open_amount, late_interest_rate)
ON CONFLICT (invoice_id) DO UPDATE SET
    due_date = EXCLUDED.due_date, amount = EXCLUDED.amount,
    open_amount = EXCLUDED.open_amount, status = 'open',
    late_interest_rate = EXCLUDED.late_interest_rate
"""

CHANGE_OPEN_AMOUNTS = """
UPDATE invoices i SET open_amount = u.open_amount, due_date = u.due_date, amount = u.amount,
                      status = 'open'
FROM unnest($1::text[], $2::numeric[], $3::date[], $4::numeric[])
     AS u(invoice_id, open_amount, due_date, amount)
WHERE i.invoice_id = u.invoice_id
"""

CLOSE_INVOICES = """
UPDATE invoices i SET open_amount = 0, status = u.status, closed_on = u.closed_on
FROM unnest($1::text[], $2::text[], $3::date[]) AS u(invoice_id, status, closed_on)
WHERE i.invoice_id = u.invoice_id
"""

# INVOICE_AT_RISK once for a run's invoices ($1): the items holding any of them.
INVOICES_AT_RISK = [
    f"""UPDATE disputes d SET (at_risk_currency, at_risk) = {_AT_RISK_OF.format(alias="d")}
WHERE d.state = 'open' AND d.invoice_ids && $1::text[]""",
    f"""UPDATE deliveries v SET (at_risk_currency, at_risk) = {_AT_RISK_OF.format(alias="v")}
WHERE v.outcome IN ('failed', 'bounced') AND v.invoice_ids && $1::text[]""",
    f"""UPDATE reminders t SET (at_risk_currency, at_risk) = {_AT_RISK_OF.format(alias="t")}
WHERE t.channel = 'phone_call' AND t.closed_at IS NULL AND t.invoice_ids && $1::text[]""",
]

# A run's timeline entries ($5: each entry's facts as JSON text).
ADD_TIMELINE_ENTRIES = """
INSERT INTO timeline (event_id, customer_id, at, kind, facts)
SELECT u.event_id, u.customer_id, u.at, u.kind, u.facts::jsonb
FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[])
     AS u(event_id, customer_id, at, kind, facts)
ON CONFLICT (event_id) DO NOTHING
"""

# --- the pages --------------------------------------------------------------------------

# The portfolio filter every listing shares: $1 unrestricted, $2 company codes,
# $3 collector codes, $4 segments (markets).
_IN_PORTFOLIO = """(
    $1::boolean OR c.company_code = ANY($2::text[]) OR c.collector_code = ANY($3::text[])
    OR c.market = ANY($4::text[]))"""

CUSTOMER = "SELECT * FROM customers WHERE customer_id = $1"

OPEN_ITEMS = """
SELECT i.invoice_id, i.invoice_number, i.issue_date, i.due_date, i.currency, i.amount,
       i.open_amount, i.scenario_id, i.step_name, i.level, i.paused, i.pause_reason,
       i.next_action_at, i.paused_until, i.next_step_name, i.next_level, i.next_channel,
       i.late_interest_rate,
       EXISTS (SELECT 1 FROM disputes d WHERE d.customer_id = i.customer_id
               AND d.state = 'open' AND (d.whole_account OR i.invoice_id = ANY(d.invoice_ids)))
           AS disputed,
       EXISTS (SELECT 1 FROM plans p WHERE p.customer_id = i.customer_id
               AND p.state = 'agreed' AND i.invoice_id = ANY(p.invoice_ids)) AS in_plan,
       EXISTS (SELECT 1 FROM promises m WHERE m.customer_id = i.customer_id
               AND m.state = 'made' AND i.invoice_id = ANY(m.invoice_ids)) AS promised
FROM invoices i
WHERE i.customer_id = $1 AND i.status = 'open'
ORDER BY i.currency, i.due_date, i.invoice_number
"""

TIMELINE = """
SELECT event_id, at, kind, facts FROM timeline
WHERE customer_id = $1 ORDER BY at DESC, event_id LIMIT $2
"""

# The worklist's sources. Each row: kind, customer, currency, money at risk (the open
# amount of the invoices concerned, kept by the projection), since when, a detail and a
# reference (a call's reminder). $5 today, $6 now, $7 a company code, $8 a collector code,
# $9 a dunning level (each null for all), $10 the names the reader goes by (disputes they
# own), $11 the limit.
_FILTERS = f"""{_IN_PORTFOLIO}
  AND ($7::text IS NULL OR c.company_code = $7) AND ($8::text IS NULL OR c.collector_code = $8)"""


def _at_level(ids: str) -> str:
    return f"""($9::text IS NULL OR EXISTS (SELECT 1 FROM invoices l
     WHERE l.invoice_id = ANY({ids}) AND l.level = $9))"""


@dataclass(frozen=True)
class _Source:
    """One source of My day: its rows waiting (``table``, the partial indexes' predicate
    ``waiting``, then ``where``), the money at risk (``amount`` in ``currency``) and the
    order of its index on (currency, money at risk) after the currency (migration 0016)."""

    kind: str
    urgency: int
    table: str
    currency: str
    amount: str
    since: str
    detail: str
    reference: str
    waiting: str
    where: str
    order: str
    # whether an item may have no money at risk (no currency): listed after the others
    nullable: bool = False

    @property
    def alias(self) -> str:
        return self.table.split()[1]

    def columns(self) -> str:
        return f"""'{self.kind}' AS kind, {self.urgency} AS urgency,
       {self.alias}.customer_id, coalesce({self.currency}, '')::text AS currency,
       coalesce({self.amount}, 0) AS at_risk, {self.since} AS since, {self.detail} AS detail,
       {self.reference} AS reference"""

    def rows(self, everyone: bool) -> tuple[str, str]:
        """The source's rows and the conditions on them. For a reader who sees everyone,
        unfiltered, no customer is read here (the kept items' names are read once, after
        the limit): the portfolio's conditions become a guard that holds for that reader
        only, so that the query can never list more than the portfolio."""
        if not everyone:
            return f"{self.table} JOIN customers c USING (customer_id)", self.where
        guard = """($1::boolean AND $7::text IS NULL AND $8::text IS NULL
      AND $2::text[] IS NOT NULL AND $3::text[] IS NOT NULL AND $4::text[] IS NOT NULL)"""
        return self.table, self.where.replace(_FILTERS, guard)

    def read(self, everyone: bool) -> str:
        """The source's first items by money at risk in the ranking currency: its currencies
        found by skipping through the index (one descent each), then for each its first
        items in the index's order, converted (no rate: its own amount, flagged); items
        without money at risk (no currency) last. Each look-up stops at the limit."""
        rows, where = self.rows(everyone)
        return f"""(SELECT s.*, s.at_risk * coalesce(x.rate, 1) AS ranking,
       x.rate IS NULL AS unconverted
 FROM (WITH RECURSIVE found(currency) AS (
          SELECT min({self.currency}) FROM {self.table} WHERE {self.waiting}
          UNION ALL
          SELECT (SELECT min({self.currency}) FROM {self.table}
                  WHERE {self.waiting} AND {self.currency} > f.currency)
          FROM found f WHERE f.currency IS NOT NULL)
       SELECT currency FROM found WHERE currency IS NOT NULL) AS k
 LEFT JOIN rates x ON x.currency = k.currency
 CROSS JOIN LATERAL (
    SELECT {self.columns()}
    FROM {rows}
    WHERE {self.currency} = k.currency AND {self.waiting} AND {where}
    ORDER BY {self.order} LIMIT $11) AS s
 ORDER BY ranking DESC, since LIMIT $11)""" + (
            f"""
UNION ALL
(SELECT {self.columns()}, 0::numeric AS ranking, false AS unconverted
 FROM {rows}
 WHERE {self.currency} IS NULL AND {self.waiting} AND {where}
 ORDER BY {self.order} LIMIT $11)"""
            if self.nullable
            else ""
        )


_SOURCES = (
    _Source(
        "proposal",
        0,
        "proposals p",
        "p.currency",
        "p.at_risk",
        "p.deadline::date",
        "p.step_name",
        "p.proposal_id::text",
        "p.decision IS NULL",
        f"{_FILTERS} AND ($9::text IS NULL OR p.level = $9)",
        "p.at_risk DESC, p.deadline",
    ),
    _Source(
        "broken_promise",
        1,
        "promises m",
        "m.currency",
        "m.amount",
        "m.promised_date",
        "NULL",
        "NULL",
        "m.state = 'broken'",
        f"""{_FILTERS} AND {_at_level("m.invoice_ids")}
      AND EXISTS (SELECT 1 FROM invoices i WHERE i.status = 'open'
                  AND i.invoice_id = ANY(m.invoice_ids))""",
        "m.amount DESC, m.promised_date",
    ),
    _Source(
        "missed_instalment",
        2,
        "plans p",
        "p.missed_currency",
        "p.missed_amount",
        "p.last_missed_on",
        "p.missed::text",
        "NULL",
        "p.state = 'agreed' AND p.missed > 0",
        f"{_FILTERS} AND {_at_level('p.invoice_ids')}",
        "p.missed_amount DESC, p.last_missed_on",
    ),
    _Source(
        "overdue_dispute",
        3,
        "disputes d",
        "d.at_risk_currency",
        "d.at_risk",
        "d.due_date",
        "d.category",
        "NULL",
        "d.state = 'open'",
        f"""d.due_date < $5 AND {_FILTERS}
      AND ($1::boolean OR d.owner IS NULL OR d.owner = ANY($10::text[]))
      AND {_at_level("d.invoice_ids")}""",
        "d.at_risk DESC NULLS LAST, d.due_date",
        nullable=True,
    ),
    _Source(
        "delivery_trouble",
        4,
        "deliveries v",
        "v.at_risk_currency",
        "v.at_risk",
        "v.at::date",
        "'delivery.' || v.outcome",
        "NULL",
        "v.outcome IN ('failed', 'bounced')",
        f"{_FILTERS} AND {_at_level('v.invoice_ids')}",
        "v.at_risk DESC NULLS LAST, v.at",
        nullable=True,
    ),
    _Source(
        "unmatched_cash",
        5,
        "unmatched_cash u",
        "u.currency",
        "u.amount",
        "u.value_date",
        "u.kind",
        "NULL",
        "u.cleared_at IS NULL",
        f"{_FILTERS} AND $9::text IS NULL",
        "u.amount DESC, u.value_date",
    ),
    _Source(
        "call_due",
        6,
        "reminders t",
        "t.at_risk_currency",
        "t.at_risk",
        "t.scheduled_for::date",
        "t.level",
        "t.reminder_id::text",
        "t.channel = 'phone_call' AND t.closed_at IS NULL",
        f"t.scheduled_for <= $6 AND {_FILTERS} AND ($9::text IS NULL OR t.level = $9)",
        "t.at_risk DESC NULLS LAST, t.scheduled_for",
        nullable=True,
    ),
)


# My day ranks by the money at risk converted into the ranking currency ($12) with the
# latest rates (``rates``: a few rows). Each source is read in its final order and cut at
# the limit on its own (``_Source.read``: one index look-up per currency it holds), so the
# union sorts a few times the limit per source instead of every item of every customer;
# ties keep the final order (money at risk, then since). The kept items then get their
# amount in their company's reporting currency ($13 company codes, $14 their currencies;
# else $12).
def _worklist(everyone: bool) -> str:
    return f"""
WITH rates AS MATERIALIZED (
    SELECT from_currency::char(3) AS currency, rate FROM fx_conversions
    WHERE to_currency = $12::text
    UNION ALL SELECT $12::char(3), 1::numeric
), items AS (
{(chr(10) + "UNION ALL" + chr(10)).join(source.read(everyone) for source in _SOURCES)}
)
SELECT w.*, c.name, c.company_code, d.reporting_currency,
       CASE WHEN w.currency = d.reporting_currency THEN w.at_risk
            ELSE round(w.at_risk * y.rate, 2) END AS converted
FROM (SELECT * FROM items ORDER BY ranking DESC, urgency, since LIMIT $11) AS w
JOIN customers c USING (customer_id)
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT r.currency FROM unnest($13::text[], $14::text[])
                       AS r(company_code, currency) WHERE r.company_code = c.company_code),
                    $12::text) AS reporting_currency
) AS d
LEFT JOIN fx_conversions y
  ON y.from_currency = w.currency AND y.to_currency = d.reporting_currency
ORDER BY w.ranking DESC, w.urgency, w.since
"""


WORKLIST = _worklist(everyone=False)
# the same for a reader who sees every customer, without filter on company or collector
WORKLIST_EVERYONE = _worklist(everyone=True)

COMPANIES = f"""
SELECT DISTINCT c.company_code FROM customer_segments c WHERE {_IN_PORTFOLIO} ORDER BY 1
"""

COLLECTORS = f"""
SELECT DISTINCT c.collector_code FROM customer_segments c
WHERE c.collector_code <> '' AND {_IN_PORTFOLIO} ORDER BY 1
"""

# Search: customers by name (trigram similarity) or number, and by invoice number.
# SIMILAR_NAMES first, under a similarity threshold the reader sets ($1 the text, $2 the
# limit); then SEARCH_CUSTOMERS, given those customers and scores ($5, $6), $7 the text as
# a LIKE pattern (wildcards escaped), $8 the text, $9 the limit. Each arm is its own query
# so that each can use its trigram index (one OR across them made the planner scan the
# whole table).
SIMILAR_NAMES = """
SELECT customer_id, public.similarity(name, $1) AS score FROM customers
WHERE name OPERATOR(public.%) $1 ORDER BY 2 DESC, customer_id LIMIT $2
"""

SEARCH_CUSTOMERS = f"""
WITH found AS (
    SELECT * FROM unnest($5::text[], $6::real[]) AS s(customer_id, score)
    UNION ALL
    (SELECT customer_id, 1.0 FROM customers WHERE name ILIKE $7 LIMIT $9)
    UNION ALL
    (SELECT customer_id, 1.5 FROM customers WHERE customer_id ILIKE $7 LIMIT $9)
)
SELECT c.customer_id, c.name, c.company_code, NULL AS invoice_number, max(f.score) AS score
FROM found f JOIN customers c USING (customer_id)
WHERE {_IN_PORTFOLIO}
GROUP BY c.customer_id
UNION ALL
(SELECT c.customer_id, c.name, c.company_code, i.invoice_number,
        public.similarity(i.invoice_number, $8) + 0.5
 FROM invoices i JOIN customers c USING (customer_id)
 WHERE {_IN_PORTFOLIO} AND i.invoice_number ILIKE $7
 LIMIT $9)
ORDER BY score DESC, name LIMIT $9
"""

# Collectors' commands sent from the console: recorded in the transaction that puts them in
# the outbox (a retried form inserts nothing and sends nothing again), then marked
# executed when the scheduler's dunning.command.executed arrives.
RECORD_SENT_COMMAND = """
INSERT INTO sent_command
    (command_id, customer_id, command, invoice_id, facts, actor_subject, requested_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (command_id) DO NOTHING
RETURNING command_id
"""

SENT_COMMAND_EXISTS = "SELECT 1 FROM sent_command WHERE command_id = $1 AND customer_id = $2"

COMMAND_EXECUTED = """
UPDATE sent_command SET executed_at = $2 WHERE command_id = $1 AND executed_at IS NULL
"""

WAITING_COMMANDS = """
SELECT command_id, command, invoice_id, facts, actor_subject, requested_at
FROM sent_command s WHERE customer_id = $1 AND executed_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM refused_commands r WHERE r.command_id = s.command_id)
ORDER BY requested_at DESC LIMIT $2
"""

# --- a call to make: its reminder, customer and invoices --------------------------------

CALL = """
SELECT t.reminder_id, t.customer_id, t.company_code, t.level, t.step_name, t.scenario_id,
       t.template, t.scheduled_for, t.invoice_ids, t.call_task_id, t.call_outcome, t.closed_at
FROM reminders t WHERE t.reminder_id = $1 AND t.channel = 'phone_call'
"""

CALL_INVOICES = """
SELECT invoice_id, invoice_number, due_date, currency, open_amount, status
FROM invoices WHERE invoice_id = ANY($1::text[]) ORDER BY due_date, invoice_number
"""

# --- disputes: $5 owner (the named person, else the owning role), $6 category, $7 opened at
# least that many days ago, $8 now, $9 the limit ----------------------------------------

_DISPUTE_FILTERS = f"""d.state = 'open' AND {_IN_PORTFOLIO}
  AND ($5::text IS NULL OR coalesce(d.owner, d.owner_role) = $5)
  AND ($6::text IS NULL OR d.category = $6)
  AND ($7::integer IS NULL OR d.opened_at <= $8::timestamptz - make_interval(days => $7))"""

DISPUTES = f"""
SELECT d.dispute_id, c.customer_id, c.name, c.company_code, d.category, d.owner_role,
       d.owner, d.due_date, d.opened_at, coalesce(d.at_risk_currency, '') AS currency,
       coalesce(d.at_risk, 0) AS at_risk
FROM disputes d JOIN customers c USING (customer_id)
WHERE {_DISPUTE_FILTERS}
ORDER BY d.opened_at, d.dispute_id LIMIT $9
"""

DISPUTE_SUMMARY = f"""
SELECT coalesce(d.owner, d.owner_role) AS owner, d.category,
       count(*) FILTER (WHERE $8::timestamptz - d.opened_at <= interval '30 days') AS up_to_30,
       count(*) FILTER (WHERE $8::timestamptz - d.opened_at > interval '30 days'
                        AND $8::timestamptz - d.opened_at <= interval '60 days') AS up_to_60,
       count(*) FILTER (WHERE $8::timestamptz - d.opened_at > interval '60 days') AS over_60,
       count(*) FILTER (WHERE d.due_date < $8::date) AS overdue
FROM disputes d JOIN customers c USING (customer_id)
WHERE {_DISPUTE_FILTERS} AND $9::integer > 0
GROUP BY 1, 2 ORDER BY 1, 2
"""

DISPUTE_OWNERS = f"""
SELECT DISTINCT coalesce(d.owner, d.owner_role) AS owner
FROM disputes d JOIN customers c USING (customer_id)
WHERE d.state = 'open' AND {_IN_PORTFOLIO} ORDER BY 1
"""

# --- promises (due within a week of $5, today, or broken), $6 the limit; plans, $5 the limit

PROMISES = f"""
SELECT m.promise_id, c.customer_id, c.name, c.company_code, m.state, m.promised_date,
       m.currency, m.amount, m.recorded_by, m.closed_at
FROM promises m JOIN customers c USING (customer_id)
WHERE {_IN_PORTFOLIO} AND (
    (m.state = 'made' AND m.promised_date <= $5::date + 7)
    OR (m.state = 'broken' AND EXISTS (SELECT 1 FROM invoices i WHERE i.status = 'open'
                                       AND i.invoice_id = ANY(m.invoice_ids))))
ORDER BY m.state DESC, m.promised_date LIMIT $6
"""

PLANS = f"""
SELECT p.plan_id, c.customer_id, c.name, c.company_code, p.state, p.agreed_on, p.agreed_by,
       p.instalments, p.missed, p.last_missed_on, p.missed_currency, p.missed_amount
FROM plans p JOIN customers c USING (customer_id)
WHERE {_IN_PORTFOLIO} AND (p.state = 'agreed'
    OR (p.state = 'broken' AND EXISTS (SELECT 1 FROM invoices i WHERE i.status = 'open'
                                       AND i.invoice_id = ANY(p.invoice_ids))))
ORDER BY p.missed DESC, p.agreed_on LIMIT $5
"""

# --- the team: read from the aggregates the triggers of migration 0007 keep -------------

# The portfolio filter on an aggregate's customer segment ($1 to $4 as above).
_SEGMENT_IN_PORTFOLIO = """(
    $1::boolean OR a.seg_company = ANY($2::text[]) OR a.seg_collector = ANY($3::text[])
    OR a.seg_market = ANY($4::text[]))"""

# Open amounts per company and currency by days past due at $5 (today).
AGED_BALANCE = f"""
SELECT a.company_code, a.currency, sum(a.open_amount) AS total,
       sum(a.open_amount) FILTER (WHERE a.due_date >= $5::date) AS not_due,
       sum(a.open_amount) FILTER (WHERE a.due_date < $5::date AND a.due_date >= $5::date - 30)
           AS d1_30,
       sum(a.open_amount) FILTER (WHERE a.due_date < $5::date - 30
                                  AND a.due_date >= $5::date - 60) AS d31_60,
       sum(a.open_amount) FILTER (WHERE a.due_date < $5::date - 60
                                  AND a.due_date >= $5::date - 90) AS d61_90,
       sum(a.open_amount) FILTER (WHERE a.due_date < $5::date - 90) AS over_90
FROM team_open_invoices a
WHERE {_SEGMENT_IN_PORTFOLIO}
GROUP BY 1, 2 HAVING sum(a.invoices) > 0 ORDER BY 1, 2
"""


def dso_inputs(points: int) -> str:
    """Per company and currency, at ``points`` dates ($5 .. $(4+points), oldest first): what
    was receivable that day (invoices issued by then and not closed by then, at their full
    amount: what is receivable in all, less what was invoiced after the day, plus what
    closed after it) and what was invoiced in the 90 days before."""
    first = "$5::date"
    columns = [
        f"b.receivable - coalesce(f.after_{n}, 0) AS receivable_{n}, f.invoiced_{n}"
        for n in range(points)
    ]
    sums = []
    for n in range(points):
        d = f"${5 + n}::date"
        sums.append(
            f"""sum(a.issued - a.closed) FILTER (WHERE a.day > {d}) AS after_{n},
           sum(a.issued) FILTER (WHERE a.day <= {d} AND a.day > {d} - 90) AS invoiced_{n}"""
        )
    return f"""
WITH balance AS (
    SELECT a.company_code, a.currency, sum(a.issued - a.closed) AS receivable
    FROM team_receivable a WHERE {_SEGMENT_IN_PORTFOLIO}
    GROUP BY 1, 2
), flows AS (
    SELECT a.company_code, a.currency,
           {", ".join(sums)}
    FROM team_daily_flows a
    WHERE a.day > {first} - 90 AND {_SEGMENT_IN_PORTFOLIO}
    GROUP BY 1, 2
)
SELECT b.company_code, b.currency, {", ".join(columns)}
FROM balance b LEFT JOIN flows f USING (company_code, currency)
ORDER BY 1, 2
"""


# Effectiveness of each scenario step: of the invoices a step reminded from day $5 to day
# $7, how many were settled within $6 days of it.
STEP_EFFECTIVENESS = f"""
SELECT scenario_id, step_name, level, channel, sum(reminders)::bigint AS reminders,
       sum(invoices)::bigint AS invoices, sum(paid)::bigint AS paid
FROM (
    SELECT a.scenario_id, a.step_name, a.level, a.channel, a.reminders, a.invoices,
           0 AS paid
    FROM team_steps a
    WHERE a.day >= $5::date AND a.day <= $7::date AND {_SEGMENT_IN_PORTFOLIO}
    UNION ALL
    SELECT a.scenario_id, a.step_name, a.level, a.channel, 0, 0, a.invoices
    FROM team_steps_paid a
    WHERE a.day >= $5::date AND a.day <= $7::date AND a.paid_after <= $6::integer
      AND {_SEGMENT_IN_PORTFOLIO}
) steps
GROUP BY 1, 2, 3, 4 HAVING sum(reminders) > 0 ORDER BY 1, 2
"""

# Each collector's workload and results. Customers per collector code; per collector code
# and currency, open invoices and amounts, and invoices settled from day $5; calls due by
# $6 and promises kept or broken since $5, per collector code.
COLLECTOR_CUSTOMERS = f"""
SELECT c.collector_code, sum(c.customers)::bigint AS customers FROM customer_segments c
WHERE c.collector_code <> '' AND {_IN_PORTFOLIO}
GROUP BY 1 HAVING sum(c.customers) > 0 ORDER BY 1
"""

COLLECTOR_INVOICES = f"""
SELECT seg_collector AS collector_code, currency, sum(open_invoices)::bigint AS open_invoices,
       sum(open_amount) AS open_amount, sum(settled)::bigint AS settled
FROM (
    SELECT a.seg_collector, a.currency, a.invoices AS open_invoices, a.open_amount,
           0 AS settled
    FROM team_open_invoices a WHERE a.seg_collector <> '' AND {_SEGMENT_IN_PORTFOLIO}
    UNION ALL
    SELECT a.seg_collector, a.currency, 0, 0, a.settled
    FROM team_daily_flows a
    WHERE a.day >= $5::date AND a.settled <> 0 AND a.seg_collector <> ''
      AND {_SEGMENT_IN_PORTFOLIO}
) invoices
GROUP BY 1, 2 ORDER BY 1, 2
"""

COLLECTOR_ACTIVITY = f"""
SELECT collector_code, sum(calls_due) AS calls_due, sum(kept) AS promises_kept,
       sum(broken) AS promises_broken
FROM (
    SELECT c.collector_code, count(*) AS calls_due, 0 AS kept, 0 AS broken
    FROM reminders t JOIN customers c USING (customer_id)
    WHERE t.channel = 'phone_call' AND t.closed_at IS NULL AND t.scheduled_for <= $6
      AND c.collector_code IS NOT NULL AND {_IN_PORTFOLIO}
    GROUP BY 1
    UNION ALL
    SELECT c.collector_code, 0, count(*) FILTER (WHERE m.state = 'kept'),
           count(*) FILTER (WHERE m.state = 'broken')
    FROM promises m JOIN customers c USING (customer_id)
    WHERE m.state IN ('kept', 'broken') AND m.closed_at >= $5
      AND c.collector_code IS NOT NULL AND {_IN_PORTFOLIO}
    GROUP BY 1
) activity
GROUP BY 1 ORDER BY 1
"""

# --- operations ------------------------------------------------------------------------

DEAD_LETTER_COUNTS = """
SELECT topic, reason, records, last_at FROM dead_letter_counts ORDER BY topic, reason
"""

REFUSED_COMMANDS = """
SELECT command_id, customer_id, command, actor_subject, reason, detail, refused_at
FROM refused_commands ORDER BY refused_at DESC LIMIT $1
"""

FRESHNESS = """
SELECT topic, last_occurred_at, last_applied_at, events FROM topic_freshness ORDER BY topic
"""

DEAD_LETTER_POSITIONS = "SELECT topic, partition, next_offset FROM dead_letter_positions"

SAVE_DEAD_LETTER_POSITION = """
INSERT INTO dead_letter_positions (topic, partition, next_offset) VALUES ($1, $2, $3)
ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset
"""

COUNT_DEAD_LETTERS = """
INSERT INTO dead_letter_counts (topic, reason, records, last_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (topic, reason) DO UPDATE SET
    records = dead_letter_counts.records + EXCLUDED.records,
    last_at = greatest(dead_letter_counts.last_at, EXCLUDED.last_at)
"""

RECORD_REFUSAL = """
INSERT INTO refused_commands (command_id, customer_id, command, actor_subject, reason,
                              detail, refused_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (command_id) DO NOTHING
"""

REFUSED_FOR_CUSTOMER = """
SELECT command_id, command, actor_subject, reason, detail, refused_at
FROM refused_commands WHERE customer_id = $1 ORDER BY refused_at DESC LIMIT $2
"""

# --- proposals: steps waiting for a collector's confirmation -----------------------------

# A raised proposal, or a new version after an edit: the newer version wins, and its
# rendering is forgotten until the notifier renders it again.
RAISE_PROPOSAL = """
INSERT INTO proposals (proposal_id, version, customer_id, company_code, reminder_id, channel,
    level, step_name, template, recipient_role, confirm_role, deadline, on_timeout,
    paragraphs, invoice_ids, invoice_numbers, currency, at_risk, edited_by, raised_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
    $20)
ON CONFLICT (proposal_id) DO UPDATE SET
    version = EXCLUDED.version, reminder_id = EXCLUDED.reminder_id,
    channel = EXCLUDED.channel, recipient_role = EXCLUDED.recipient_role,
    confirm_role = EXCLUDED.confirm_role, deadline = EXCLUDED.deadline,
    on_timeout = EXCLUDED.on_timeout, paragraphs = EXCLUDED.paragraphs,
    invoice_ids = EXCLUDED.invoice_ids, invoice_numbers = EXCLUDED.invoice_numbers,
    currency = EXCLUDED.currency, at_risk = EXCLUDED.at_risk, edited_by = EXCLUDED.edited_by,
    raised_at = EXCLUDED.raised_at, rendered = NULL, digest = NULL, media_type = NULL,
    preview_path = NULL, render_reason = NULL, rendered_at = NULL
WHERE proposals.version < EXCLUDED.version
"""

# The notifier's rendering of one version (an older version's is ignored).
PROPOSAL_RENDERED = """
UPDATE proposals SET rendered = $3, digest = $4, media_type = $5, preview_path = $6,
    render_reason = $7, rendered_at = $8
WHERE proposal_id = $1 AND version = $2
"""

PROPOSAL_DECIDED = """
UPDATE proposals SET decision = $2, decided_by = $3, decided_at = $4, decision_reason = $5,
    postponed_until = $6
WHERE proposal_id = $1 AND decision IS NULL
"""

_PROPOSAL_COLUMNS = """
p.proposal_id, p.version, p.customer_id, c.name, p.company_code, p.reminder_id, p.channel,
p.level, p.step_name, p.template, p.recipient_role, p.confirm_role, p.deadline, p.on_timeout,
p.paragraphs, p.invoice_numbers, p.currency, p.at_risk, p.edited_by, p.raised_at, p.rendered,
p.digest, p.media_type, p.preview_path, p.render_reason, p.decision, p.decided_by,
p.decided_at, p.decision_reason, p.postponed_until"""

PROPOSAL = f"""
SELECT {_PROPOSAL_COLUMNS}
FROM proposals p JOIN customers c USING (customer_id) WHERE p.proposal_id = $1
"""

CUSTOMER_PROPOSALS = f"""
SELECT {_PROPOSAL_COLUMNS}
FROM proposals p JOIN customers c USING (customer_id)
WHERE p.customer_id = $1 ORDER BY p.raised_at DESC LIMIT $2
"""

PROPOSALS_BY_ID = f"""
SELECT {_PROPOSAL_COLUMNS}
FROM proposals p JOIN customers c USING (customer_id)
WHERE p.proposal_id = ANY($1::uuid[]) ORDER BY p.at_risk DESC, p.deadline
"""

# The decisions on proposals the scheduler refused to this reader (My day): another
# collector decided first (already_decided), the proposal was edited since (stale_proposal).
REFUSED_DECISIONS_OF = """
SELECT r.command_id, r.command, r.actor_subject, r.reason, r.detail, r.refused_at,
       r.customer_id, c.name
FROM refused_commands r LEFT JOIN customers c USING (customer_id)
WHERE r.actor_subject = $1 AND r.command = ANY($2::text[]) AND r.refused_at >= $3
ORDER BY r.refused_at DESC LIMIT $4
"""

# The names of some customers (a campaign's recipients on the Operations page).
CUSTOMER_NAMES = "SELECT customer_id, name FROM customers WHERE customer_id = ANY($1::text[])"

# Sending suspended and resumed (services.console.suspensions).
SENDING_SUSPENDED = """
INSERT INTO sending_suspensions (suspension_id, company_code, suspended_by, reason, suspended_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (suspension_id) DO NOTHING
"""

SENDING_RESUMED = """
UPDATE sending_suspensions SET resumed_by = $2, resumed_at = $3 WHERE suspension_id = $1
"""

SUSPENSIONS_IN_FORCE = """
SELECT * FROM sending_suspensions WHERE resumed_at IS NULL ORDER BY suspended_at, suspension_id
"""

# --- payment plans proposed by customers --------------------------------------------------

RECORD_PLAN_PROPOSAL = """
INSERT INTO plan_proposals (proposal_id, customer_id, invoice_ids, instalments, currency, total,
                            proposed_on, answer_by, answer_day)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (proposal_id) DO NOTHING
"""

PLAN_PROPOSAL_DECIDED = """
UPDATE plan_proposals SET state = $2, decided_by = $3, reason = $4
WHERE proposal_id = $1 AND state = 'pending'
"""

PLAN_PROPOSAL = """
SELECT p.*, c.name, c.company_code FROM plan_proposals p JOIN customers c USING (customer_id)
WHERE p.proposal_id = $1
"""

PENDING_PLAN_PROPOSALS = f"""
SELECT p.*, c.name, c.company_code,
       (SELECT array_agg(i.invoice_number ORDER BY i.invoice_number) FROM invoices i
        WHERE i.invoice_id = ANY(p.invoice_ids)) AS invoice_numbers
FROM plan_proposals p JOIN customers c USING (customer_id)
WHERE {_IN_PORTFOLIO} AND p.state = 'pending'
ORDER BY p.answer_by, p.proposal_id
LIMIT $5
"""

SEND_PLAN_DECISION = """
UPDATE plan_proposals SET sent_decision = $2, sent_by = $3, sent_command_id = $4, sent_at = $5
WHERE proposal_id = $1 AND state = 'pending' AND sent_command_id IS DISTINCT FROM $4
RETURNING proposal_id
"""

# --- call-backs customers asked for -------------------------------------------------------

RECORD_CALLBACK = """
INSERT INTO callback_tasks (request_id, customer_id, phone, on_day, slot, invoice_ids,
                            requested_by, requested_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (request_id) DO NOTHING
"""

OPEN_CALLBACKS = f"""
SELECT t.*, c.name, c.company_code FROM callback_tasks t JOIN customers c USING (customer_id)
WHERE {_IN_PORTFOLIO} AND t.closed_at IS NULL
ORDER BY t.on_day, t.slot DESC, t.requested_at
LIMIT $5
"""

CALLBACK_TASK = "SELECT * FROM callback_tasks WHERE request_id = $1"

CLOSE_CALLBACK = """
UPDATE callback_tasks SET closed_at = $2, closed_by = $3, command_id = $4
WHERE request_id = $1 AND closed_at IS NULL
RETURNING request_id
"""

CALLBACK_INVOICES = """
SELECT invoice_id, invoice_number, due_date, currency, open_amount, status FROM invoices
WHERE invoice_id = ANY($1::text[]) OR ($2::boolean AND customer_id = $3 AND status = 'open')
ORDER BY due_date, invoice_number
"""

# The customer's last hold or release executed (the header's hold in force).
LAST_HOLD_COMMAND = """
SELECT kind, facts FROM timeline
WHERE customer_id = $1 AND kind IN ('command.hold', 'command.release')
ORDER BY at DESC, event_id LIMIT 1
"""

# One delivery, with its customer (whose portfolio the page checks before asking the
# notifier for its exact copy and proofs).
DELIVERY = """
SELECT delivery_id, reminder_id, customer_id, channel, outcome, reason, invoice_ids, at
FROM deliveries WHERE delivery_id = $1
"""

# A reference rate published (a later one for the same kind and day is a correction).
RECORD_REFERENCE_RATE = """
INSERT INTO reference_interest_rates (kind, valid_from, rate) VALUES ($1, $2, $3)
ON CONFLICT (kind, valid_from) DO UPDATE SET rate = EXCLUDED.rate
"""

REFERENCE_RATES = "SELECT kind, valid_from, rate FROM reference_interest_rates"

# An exchange rate published: the latest day of each pair is kept (the same day corrects it).
RECORD_FX_RATE = """
INSERT INTO fx_rates (base_currency, quote_currency, valid_on, rate) VALUES ($1, $2, $3, $4)
ON CONFLICT (base_currency, quote_currency) DO UPDATE
SET valid_on = EXCLUDED.valid_on, rate = EXCLUDED.rate
WHERE fx_rates.valid_on <= EXCLUDED.valid_on
"""

# How the customer's open amounts went down, from its timeline: each change of an open
# amount (payment, credit note...) with the day it was announced (its facts keep the value
# date when the ledger gave one).
OPEN_AMOUNT_HISTORY = """
SELECT at, facts FROM timeline
WHERE customer_id = $1 AND kind LIKE 'invoice.%' AND facts ? 'before' AND facts ? 'open'
ORDER BY at
"""

# whether an invoice a customer page's action names is that customer's
INVOICE_OF_CUSTOMER = "SELECT 1 FROM invoices WHERE invoice_id = $1 AND customer_id = $2"

# The console's audit log (sign-ins, sign-outs, language choices, refusals), and the whole
# trail (that log, the commands sent, the plan decisions), newest first.
RECORD_AUDIT = """
INSERT INTO audit_log (at, action, outcome, subject, login, address, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

AUDIT_TRAIL = """
SELECT at, action, outcome, subject, login, address, customer_id, detail
FROM audit_trail ORDER BY at DESC LIMIT $1
"""
