-- Where each call's recording was stored (relative to HILO_DATA_DIR), kept after it was
-- published: forgetting the call's contact deletes the file (hilo/erasure.py).
ALTER TABLE ingest_calls ADD COLUMN IF NOT EXISTS audio_path text;
