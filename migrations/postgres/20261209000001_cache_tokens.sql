-- The upstream's prompt-cache token counts per exchange (usage.cache_read_input_tokens and
-- usage.cache_creation_input_tokens), so a cache regression shows in the audit trail. Additive:
-- rows written before keep NULL, and their hashes (which never included these fields) verify.
ALTER TABLE exchanges ADD COLUMN cache_read_tokens BIGINT;
ALTER TABLE exchanges ADD COLUMN cache_write_tokens BIGINT;
