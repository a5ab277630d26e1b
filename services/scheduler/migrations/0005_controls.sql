-- Suspensions of sending, with their history: one company (company_code) or every company
-- (NULL); who suspended, when and why, and who resumed and when. At most one suspension of a
-- scope holds at a time. They replace the single global flag of 0001.
CREATE TABLE sending_suspension (
    suspension_id  uuid PRIMARY KEY,
    company_code   text,
    suspended_by   text NOT NULL,
    reason         text NOT NULL,
    suspended_at   timestamptz NOT NULL,
    resumed_by     text,
    resumed_at     timestamptz,
    CHECK ((resumed_by IS NULL) = (resumed_at IS NULL))
);
CREATE UNIQUE INDEX sending_suspension_holding ON sending_suspension (coalesce(company_code, '*'))
    WHERE resumed_at IS NULL;

INSERT INTO sending_suspension (suspension_id, company_code, suspended_by, reason, suspended_at)
SELECT md5('global_suspension')::uuid, NULL, 'unknown',
       'suspended before suspensions were recorded', coalesce(changed_at, now())
FROM global_suspension WHERE suspended;
DROP TABLE global_suspension;
-- What the old flag said, for its readers outside the service (the autoscaler's query of due
-- work in k8s/base/services/scheduler.yaml): whether every company is suspended.
CREATE VIEW global_suspension AS
SELECT EXISTS (
    SELECT 1 FROM sending_suspension WHERE resumed_at IS NULL AND company_code IS NULL
) AS suspended;

-- When the invoice's formal notice [mise en demeure] was delivered or deemed delivered: it
-- leaves the amicable phase for litigation or an agency only a delay after this.
ALTER TABLE dunning_invoice ADD COLUMN formal_notice_at timestamptz;

-- Calls not answered, per first call reminder (root): how many calls were tried.
CREATE TABLE call_attempt (
    root_reminder_id  uuid PRIMARY KEY,
    attempts          integer NOT NULL,
    last_outcome      text NOT NULL,
    updated_at        timestamptz NOT NULL
);
