"""The CoSAI MCP threat catalogue (reference: CoSAI "MCP Security", 34 threats): id → short name.

Detection rules cite threats by id (`"#24"`); reports, the CLI and the TUI show the names from here.
"""

from __future__ import annotations

from typing import Final

COSAI_THREATS: Final[dict[str, str]] = {
    "#1": "Identity Spoofing", "#2": "Tool Poisoning", "#3": "Full Schema Poisoning",
    "#4": "Resource Content Poisoning", "#5": "Typosquatting/Confusion", "#6": "Shadow MCP Servers",
    "#7": "Overreliance on the LLM", "#8": "Privilege Escalation / Confused Deputy",
    "#9": "Insecure Human-in-the-Loop", "#10": "Improper Multitenancy", "#11": "Prompt Injection",
    "#12": "Man-in-the-Middle", "#13": "Consent Fatigue", "#14": "Resource Exhaustion & Denial of Wallet",
    "#15": "Invisible Agent Activity", "#16": "Credential/Token Theft",
    "#17": "Replay Attacks/Session or Handle Hijacking", "#18": "OAuth/Legacy Auth Weaknesses",
    "#19": "Session/Token/Handle Leakage", "#20": "Excessive Permissions", "#21": "Command Injection",
    "#22": "File System Exposure/Path Traversal", "#23": "Insufficient Integrity Checks",
    "#24": "Data Exfiltration & Corruption", "#25": "Supply Chain Compromise", "#26": "Unrestricted Network Access",
    "#27": "Protocol Security Gaps", "#28": "Insecure Descriptor Handling", "#29": "CSRF Protection Missing",
    "#30": "CORS/Origin Policy Bypass", "#31": "Malicious Command Execution",
    "#32": "Dependency/Update Attack (rug pull)", "#33": "Payload Limit/DoS", "#34": "Lack of Observability",
}


def threat_name(threat_id: str) -> str:
    """The name of a CoSAI threat id, or '' for an id not in the catalogue."""
    return COSAI_THREATS.get(threat_id, "")


def describe(threat_ids: tuple[str, ...] | list[str]) -> str:
    """`#2 Tool Poisoning; #32 Dependency/Update Attack (rug pull)` for a finding's threats."""
    return "; ".join(f"{t} {threat_name(t)}" for t in threat_ids)
