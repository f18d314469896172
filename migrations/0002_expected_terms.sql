-- Terms the office expects in a dictation (e.g. the patient's medication and
-- problem lists from the order), comma-separated. They lead Whisper's prompt
-- for that dictation: given the right terms, the recogniser writes them.
ALTER TABLE dictations ADD COLUMN expected_terms TEXT NOT NULL DEFAULT '';
