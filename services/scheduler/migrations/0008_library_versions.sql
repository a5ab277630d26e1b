-- A versioned scenario library: an invoice's progress is the identity of the step it heads
-- for and the scenario version that identity was read in, never a list index.

-- Every accepted version of every scenario, as loaded: a scenario's version is a number,
-- one more at each accepted change of its content (digest). A removed scenario gets a row
-- with removed = true and no content; added back, it continues its numbering.
CREATE TABLE library_version (
    scenario_id  text NOT NULL,
    version      integer NOT NULL CHECK (version >= 1),
    digest       text,
    content      jsonb,
    removed      boolean NOT NULL DEFAULT false,
    loaded_at    timestamptz NOT NULL,
    loaded_by    text NOT NULL,
    PRIMARY KEY (scenario_id, version),
    CHECK (removed = (content IS NULL))
);

-- Each accepted library as a whole: which version of each scenario is in force, the
-- assignment rules and the templates. The running scheduler follows the latest revision.
CREATE TABLE library_revision (
    revision     integer PRIMARY KEY,
    digest       text NOT NULL,
    versions     jsonb NOT NULL,  -- {scenario id: version}
    assignment   jsonb NOT NULL,
    templates    jsonb NOT NULL,
    loaded_at    timestamptz NOT NULL,
    loaded_by    text NOT NULL
);

-- The step the invoice heads for, by identity (NULL: only the exit left, or no scenario),
-- and the version of its scenario that identity was read in.
ALTER TABLE dunning_invoice ADD COLUMN next_step text;
ALTER TABLE dunning_invoice ADD COLUMN scenario_version integer;
-- The former index of the next step. The scheduler's first accepted library (the folder it
-- was running with) turns it into next_step and scenario_version, then clears it; rows
-- written since carry no position.
ALTER TABLE dunning_invoice RENAME COLUMN position TO legacy_position;
ALTER TABLE dunning_invoice ALTER COLUMN legacy_position DROP NOT NULL;
ALTER TABLE dunning_invoice ALTER COLUMN legacy_position DROP DEFAULT;
-- An escalating step sent and not yet delivered nor deemed delivered (its step's name): the
-- invoice takes no further step before; delivery_returned_at: its letter came back (the
-- level holds, a task went to the account owner).
ALTER TABLE dunning_invoice ADD COLUMN awaiting_delivery text;
ALTER TABLE dunning_invoice ADD COLUMN delivery_returned_at timestamptz;
CREATE INDEX dunning_invoice_scenario ON dunning_invoice (scenario_id)
    WHERE status = 'active';
