-- A tombstone is evidence that Warden pruned a row past its retention, so it must not be
-- something whoever can write these tables can make: each one now carries the team and the
-- retention it was pruned under, and `seal`, an HMAC-SHA256 under a key Warden holds outside
-- the database (`WARDEN_AUDIT_TOMBSTONE_KEY` or the file at `audit.tombstone_key_file`) of its chain
-- position, hashes, team, times and retention. `warden audit verify` rejects a tombstone whose
-- seal does not check or whose row had not reached its retention when it was pruned. Tombstones
-- written before this column existed have no seal and fail verification.
ALTER TABLE pruned ADD COLUMN team TEXT;
ALTER TABLE pruned ADD COLUMN retention_days INTEGER;
ALTER TABLE pruned ADD COLUMN seal TEXT;
