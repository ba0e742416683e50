"""What a tool is, for detections: untrusted source, sensitive source, destructive, outbound.

The tool definition in force (its MCP annotations: `openWorldHint`, `destructiveHint`, `readOnlyHint`)
wins where present; names are the fallback, because many servers do not annotate. Each pattern is
an SQL regular expression (RE2) so rules can classify inside DuckDB, over all history.
"""

from __future__ import annotations

from typing import Final

#: Tools that bring outside, attacker-influenceable text into the agent's context.
UNTRUSTED_SOURCE_RE: Final = (
    r"(?i)(fetch|browse|scrape|crawl|web|search|url|page|http|ticket|issue|comment|email|mail_read|inbox|"
    r"message|read_resource|get_document|wiki|rss|feed)"
)
#: Tools that read sensitive data: databases, secrets, files, customer records.
SENSITIVE_SOURCE_RE: Final = (
    r"(?i)(query|sql|select|secret|credential|password|key|token|vault|read_file|get_file|customer|user_record|"
    r"export|dump|db|database)"
)
#: Tools that change or destroy state, or execute.
DESTRUCTIVE_RE: Final = (
    r"(?i)(delete|drop|remove|destroy|truncate|wipe|exec|shell|run_command|command|kill|transfer|payment|"
    r"write_file|update|resolve|close|merge|push|deploy|grant|revoke|reset)"
)
#: Tools that send data out of the organisation.
OUTBOUND_RE: Final = r"(?i)(send|post|webhook|upload|email|mail|notify|publish|share|slack|http_request|tweet|sms)"

#: Instruction-like or hidden text in tool descriptions and schemas (tool poisoning).
POISON_RE: Final = (
    r"(?i)(<important>|</important>|<system>|ignore (all |any )?(previous|prior) (instructions|prompts)|"
    r"do not (tell|inform|mention)|don't (tell|mention)|before (using|answering|calling)|"
    r"~/\.ssh|id_rsa|\.env\b|/etc/passwd|pass (its|the) content|exfiltrat|"
    r"[\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{2066}-\x{2069}\x{FEFF}\x{E0000}-\x{E007F}])"
)

#: Path traversal, command, code and SQL injection shapes in arguments: any shell operator followed by a command
#: word (not a fixed list of tools), shell expansion tricks, interpreter escapes, encoded traversal.
ARG_INJECTION_RE: Final = (
    r"(\.\./|\.\.\\|(?i:%2e%2e|\.\.%2f|%252e)|/etc/passwd|/etc/shadow|"
    r"(;|&&|\|\||\|)\s*(/[\w.\-/]*/)?[a-z][\w.\-]*(\s+|\$\{IFS\})(-{1,2}[a-z]|/|~/|https?:|\d+\.\d+\.\d+|[<>])|"
    r"(;|&&|\|)\s*(sh|bash|zsh|id|whoami|reboot|shutdown)\s*(\"|$)|"
    r"\$\([^)]*\)|`[^`]+`|\$\{IFS\}|(?i:\b(bash|sh|zsh)\s+-[ic]\b)|(?i:/dev/tcp/)|"
    r"(?i:__import__\s*\(|\bos\.(system|popen|exec\w*)\s*\(|\bsubprocess\.|\b(eval|exec)\s*\(|"
    r"\bchild_process\b|\bRuntime\.getRuntime)|"
    r"(?i:'\s*or\s+'?1'?\s*=\s*'?1)|(?i:union\s+(all\s+)?select)|(?i:;\s*drop\s+table))"
)


def sql_regex(pattern: str) -> str:
    """A pattern as an SQL string literal."""
    return "'" + pattern.replace("'", "''") + "'"


def annotation_sql(column: str, hint: str) -> str:
    """SQL: is `hint` true in the definition JSON in `column`?"""
    return f"coalesce(try_cast(json_extract({column}, '$.annotations.{hint}') AS BOOLEAN), false)"
