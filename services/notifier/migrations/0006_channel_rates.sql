-- The next free sending slot of each rate-limited channel, shared by every notifier replica.
CREATE TABLE channel_rate (
    channel    text PRIMARY KEY,
    next_slot  timestamptz NOT NULL
);
