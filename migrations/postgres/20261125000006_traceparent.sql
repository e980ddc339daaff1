-- The W3C traceparent a client sent, to join an exchange with the caller's traces. Additive:
-- rows written before keep NULL, and their hashes (which never included it) still verify.
ALTER TABLE exchanges ADD COLUMN traceparent TEXT;
CREATE INDEX exchanges_traceparent ON exchanges (traceparent) WHERE traceparent IS NOT NULL;
