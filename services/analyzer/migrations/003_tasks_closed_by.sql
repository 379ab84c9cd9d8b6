-- The person who closed a task (done/cancelled through the operator API): a later analysis
-- leaves such a task alone.
ALTER TABLE analyzer_tasks ADD COLUMN IF NOT EXISTS closed_by text;
