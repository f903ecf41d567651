-- Webhook controls: an endpoint that fails every delivery for a day is disabled
-- automatically, and says why.

-- When the current unbroken run of failed delivery attempts began; NULL after a success.
ALTER TABLE webhooks ADD COLUMN failing_since TEXT;
-- Set when the server disabled the endpoint itself; cleared when it is enabled again.
ALTER TABLE webhooks ADD COLUMN disabled_reason TEXT;
ALTER TABLE webhooks ADD COLUMN disabled_at TEXT;
