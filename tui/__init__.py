"""The investigator's terminal bench (Textual): sessions, chains, timelines, findings, SQL."""
