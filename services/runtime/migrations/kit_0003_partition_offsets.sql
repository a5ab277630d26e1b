-- Consumed positions kept with the state (BatchProcessor.dedupe_by_offsets): the next
-- offset to apply of each topic partition, written in the same transaction as the batch's
-- state change. A record below it was applied (or dead-lettered) already and is skipped;
-- services that dedupe this way write no inbox row per event. Unused by the others.
CREATE TABLE consumed_offsets (
    topic        text NOT NULL,
    partition    integer NOT NULL,
    next_offset  bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
