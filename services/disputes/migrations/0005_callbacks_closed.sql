-- Who closed a call-back request and when (callback.close, sent by the console with the
-- call's log_call).
ALTER TABLE callback_request ADD COLUMN closed_at timestamptz;
ALTER TABLE callback_request ADD COLUMN closed_by text;
